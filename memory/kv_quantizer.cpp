#include "memory/kv_quantizer.h"

#include <algorithm>
#include <cassert>
#include <string>
#include <tuple>
#include <vector>

namespace vigil::memory {
namespace {

constexpr double kFp16Limit = 60000.0;  // below fp16's 65504, leaving room for the rounding up

bool valid_bits(int bits) {
  return bits == 2 || bits == 4 || bits == 8;
}

struct Groups {
  torch::Tensor codes;   // uint8, x's shape
  torch::Tensor scales;  // storage dtype, x's shape with the last axis -> ceil(n / group)
  torch::Tensor zeros;
  torch::Tensor usable;  // bool []: finite, and within fp16 range when stored so
};

// Asymmetric min/max quantization of fp32 x along its last axis in groups of `group`
// elements. The stored zero is the group's minimum rounded down and the stored scale its
// range over the levels rounded up (in the storage dtype), so every element's code decodes to
// within scale/2 of it even after the scales are stored in fp16.
Groups quantize_last_axis(const torch::Tensor& x, int bits, int64_t group, ScaleDtype scale_dtype) {
  const int64_t n = x.size(-1);
  const int64_t groups = (n + group - 1) / group;
  const int64_t padded = groups * group;
  torch::Tensor full = x;
  if (padded != n) {
    // The remainder group is padded with its last element: its min and max stay the same.
    std::vector<int64_t> pad_shape = x.sizes().vec();
    pad_shape.back() = padded - n;
    full = torch::cat({x, x.narrow(-1, n - 1, 1).expand(pad_shape)}, -1);
  }
  std::vector<int64_t> grouped_shape = full.sizes().vec();
  grouped_shape.back() = groups;
  grouped_shape.push_back(group);
  const torch::Tensor grouped = full.reshape(grouped_shape);
  const torch::Tensor low = grouped.amin(-1);
  const torch::Tensor high = grouped.amax(-1);
  const double levels = static_cast<double>((1 << bits) - 1);

  torch::Tensor zeros;
  torch::Tensor scales;
  if (scale_dtype == ScaleDtype::kFloat16) {
    // The nearest fp16 value where it is on the safe side (the zero at or below the minimum,
    // the scale at or above range / levels); else a step past it first: round-to-nearest
    // moves a value by at most 2^-11 of it (2^-25 absolute near zero), so stepping 2^-10
    // (2^-24) beyond it makes the rounding land on the safe side.
    constexpr double kStep = 1.0 / 1024, kTiny = 5.9604644775390625e-08;  // 2^-10, 2^-24
    const torch::Tensor nearest_zero = low.to(torch::kFloat16);
    zeros = torch::where(nearest_zero.to(torch::kFloat32) <= low, nearest_zero,
                         (low - low.abs() * kStep - kTiny).to(torch::kFloat16));
    const torch::Tensor range = ((high - zeros.to(torch::kFloat32)) / levels).clamp_min(kTiny);
    const torch::Tensor nearest_scale = range.to(torch::kFloat16);
    scales = torch::where(nearest_scale.to(torch::kFloat32) >= range, nearest_scale,
                          (range * (1.0 + 2 * kStep) + kTiny).to(torch::kFloat16));
  } else {
    zeros = low;
    scales = ((high - low) / levels).clamp_min(1e-30);
  }
  // Checked by the caller with one device sync for keys and values together.
  torch::Tensor usable = torch::isfinite(scales).all().logical_and(torch::isfinite(zeros).all());
  if (scale_dtype == ScaleDtype::kFloat16)
    usable = usable.logical_and(torch::maximum(low.abs().max(), high.abs().max()) <= kFp16Limit);
  const torch::Tensor zeros32 = zeros.to(torch::kFloat32).unsqueeze(-1);
  const torch::Tensor scales32 = scales.to(torch::kFloat32).unsqueeze(-1);
  torch::Tensor codes = ((grouped - zeros32) / scales32).round_().clamp_(0.0, levels);
  codes = codes.reshape(full.sizes()).narrow(-1, 0, n).to(torch::kUInt8);
  return {codes, scales, zeros, usable};
}

// Code j of each byte sits at bits [j * bits, (j + 1) * bits): bytes are sums of shifted
// strided slices, all in uint8 (each term < 2^8, the terms' bits disjoint).
torch::Tensor pack_codes(const torch::Tensor& codes, int bits) {
  torch::Tensor flat = codes.contiguous().reshape({-1});
  if (bits == 8) return flat;
  const int per_byte = 8 / bits;
  const int64_t n = flat.numel();
  const int64_t bytes = (n + per_byte - 1) / per_byte;
  if (bytes * per_byte != n)
    flat = torch::cat({flat, torch::zeros({bytes * per_byte - n}, flat.options())});
  const torch::Tensor columns = flat.reshape({bytes, per_byte});
  torch::Tensor packed = columns.select(1, 0).clone();
  for (int j = 1; j < per_byte; ++j) packed.add_(columns.select(1, j) * (1 << (j * bits)));
  return packed;
}

// pack_codes along the last axis of codes [..., n] (n a multiple of 8 / bits): [..., n * bits /
// 8], each row packed as pack_codes packs it, so any rows of it, made contiguous, are the
// packing of the same rows of codes.
torch::Tensor pack_rows(const torch::Tensor& codes, int bits) {
  if (bits == 8) return codes.contiguous();
  const int per_byte = 8 / bits;
  std::vector<int64_t> shape = codes.sizes().vec();
  shape.back() /= per_byte;
  shape.push_back(per_byte);
  const torch::Tensor columns = codes.contiguous().view(shape);
  torch::Tensor packed = columns.select(-1, 0).clone();
  for (int j = 1; j < per_byte; ++j) packed.add_(columns.select(-1, j) * (1 << (j * bits)));
  return packed;
}

// uint8 [numel] codes from packed bytes.
torch::Tensor unpack_codes(const torch::Tensor& packed, int bits, int64_t numel) {
  if (bits == 8) return packed.narrow(0, 0, numel);
  const int per_byte = 8 / bits;
  std::vector<torch::Tensor> columns;
  columns.reserve(per_byte);
  for (int j = 0; j < per_byte; ++j)
    columns.push_back(torch::div(packed, 1 << (j * bits), /*rounding_mode=*/"floor")
                          .bitwise_and_((1 << bits) - 1));
  return torch::stack(columns, 1).reshape({-1}).narrow(0, 0, numel);
}

// x [..., n] as fp32 from codes [..., n] and per-group scales/zeros [..., ceil(n / group)].
torch::Tensor dequantize_last_axis(const torch::Tensor& codes, const torch::Tensor& scales,
                                   const torch::Tensor& zeros, int64_t group) {
  const int64_t n = codes.size(-1);
  const int64_t groups = scales.size(-1);
  const int64_t padded = groups * group;
  torch::Tensor x = codes.to(torch::kFloat32);
  if (padded != n) {
    std::vector<int64_t> pad_shape = x.sizes().vec();
    pad_shape.back() = padded - n;
    x = torch::cat({x, torch::zeros(pad_shape, x.options())}, -1);
  }
  std::vector<int64_t> grouped_shape = x.sizes().vec();
  grouped_shape.back() = groups;
  grouped_shape.push_back(group);
  x = x.reshape(grouped_shape) * scales.to(torch::kFloat32).unsqueeze(-1) +
      zeros.to(torch::kFloat32).unsqueeze(-1);
  return x.flatten(-2).narrow(-1, 0, n);
}

torch::Tensor stack_layers(const std::vector<torch::Tensor>& layers, const char* what) {
  if (layers.empty()) throw QuantizationError(std::string("quantize_block: no ") + what);
  const torch::Tensor& first = layers.front();
  if (first.dim() != 3 || first.size(1) < 1 || first.size(2) < 1 ||
      !torch::isFloatingType(first.scalar_type()))
    throw QuantizationError(std::string("quantize_block: ") + what +
                            " must be floating [kv_heads, T >= 1, head_dim]");
  for (size_t layer = 1; layer < layers.size(); ++layer)
    if (layers[layer].sizes() != first.sizes() ||
        layers[layer].scalar_type() != first.scalar_type() ||
        layers[layer].device() != first.device())
      throw QuantizationError(std::string("quantize_block: ") + what + " of layer " +
                              std::to_string(layer) +
                              " differ in shape, dtype or device from layer 0's");
  return torch::stack(layers, 0).to(torch::kFloat32);
}

// A quantized block's everything but its codes, scales and zero points: block's metadata and
// the [layers, kv_heads, T, head_dim] shape of its stacked keys.
QuantizedBlock quantized_header(const KvBlock& block, torch::IntArrayRef shape,
                                const QuantizationSettings& settings) {
  QuantizedBlock out;
  out.index = block.index;
  out.start_seconds = block.start_seconds;
  out.end_seconds = block.end_seconds;
  out.frame_tokens = block.frame_tokens;
  out.token_offsets = block.token_offsets;
  out.summary_keys = block.summary_keys;
  out.layers = shape[0];
  out.kv_heads = shape[1];
  out.tokens = shape[2];
  out.head_dim = shape[3];
  out.source_dtype = block.keys.front().scalar_type();
  out.settings = settings;
  return out;
}

}  // namespace

void validate(const QuantizationSettings& settings) {
  if (!valid_bits(settings.key_bits))
    throw QuantizationError("QuantizationSettings.key_bits must be 2, 4 or 8, not " +
                            std::to_string(settings.key_bits));
  if (!valid_bits(settings.value_bits))
    throw QuantizationError("QuantizationSettings.value_bits must be 2, 4 or 8, not " +
                            std::to_string(settings.value_bits));
  if (settings.group_size < 1)
    throw QuantizationError("QuantizationSettings.group_size must be >= 1, not " +
                            std::to_string(settings.group_size));
}

int64_t QuantizedBlock::kv_bytes() const {
  int64_t bytes = 0;
  for (const QuantizedTensor* q : {&keys, &values}) {
    for (const torch::Tensor* t : {&q->packed, &q->scales, &q->zeros})
      if (t->defined()) bytes += t->numel() * static_cast<int64_t>(t->element_size());
  }
  return bytes;
}

QuantizedBlock QuantizedBlock::to(torch::Device device, bool non_blocking) const {
  QuantizedBlock copy = *this;
  auto move = [&](torch::Tensor& t) {
    if (t.defined()) t = t.to(device, non_blocking);
  };
  move(copy.token_offsets);
  move(copy.summary_keys);
  for (QuantizedTensor* q : {&copy.keys, &copy.values}) {
    move(q->packed);
    move(q->scales);
    move(q->zeros);
  }
  return copy;
}

QuantizedBlock quantize_block(const KvBlock& block, const QuantizationSettings& settings) {
  validate(settings);
  const torch::Tensor keys = stack_layers(block.keys, "keys");        // [L, H, T, D] fp32
  const torch::Tensor values = stack_layers(block.values, "values");  // [L, H, T, D] fp32
  if (keys.sizes() != values.sizes())
    throw QuantizationError("quantize_block: keys and values differ in shape");
  if (block.token_offsets.defined() && block.token_offsets.numel() != keys.size(2))
    throw QuantizationError("quantize_block: token_offsets has " +
                            std::to_string(block.token_offsets.numel()) + " entries for " +
                            std::to_string(keys.size(2)) + " tokens");

  QuantizedBlock out = quantized_header(block, keys.sizes(), settings);

  // Keys per channel: groups run along T, so T goes last for the grouping and back after.
  Groups k = quantize_last_axis(keys.transpose(2, 3), settings.key_bits, settings.group_size,
                                settings.scale_dtype);
  out.keys.bits = settings.key_bits;
  out.keys.packed = pack_codes(k.codes.transpose(2, 3), settings.key_bits);
  out.keys.scales = k.scales.transpose(2, 3).contiguous();
  out.keys.zeros = k.zeros.transpose(2, 3).contiguous();
  // Values per token: groups run along head_dim, already last.
  Groups v =
      quantize_last_axis(values, settings.value_bits, settings.group_size, settings.scale_dtype);
  out.values.bits = settings.value_bits;
  out.values.packed = pack_codes(v.codes, settings.value_bits);
  out.values.scales = v.scales.contiguous();
  out.values.zeros = v.zeros.contiguous();
  if (!k.usable.logical_and(v.usable).item<bool>())
    throw QuantizationError("quantize_block: block " + std::to_string(block.index) +
                            " holds non-finite keys or values, or values beyond the range of "
                            "fp16 scales (|x| > 60000: use ScaleDtype::kFloat32)");
  return out;
}

std::vector<QuantizedBlock> quantize_blocks(const std::vector<KvBlock>& blocks,
                                            const QuantizationSettings& settings) {
  validate(settings);
  if (blocks.size() == 1) return {quantize_block(blocks.front(), settings)};
  std::vector<QuantizedBlock> out;
  if (blocks.empty()) return out;
  // All blocks' tokens side by side: [L, H, sum T, D] fp32, block b from offsets[b].
  std::vector<torch::Tensor> keys, values;
  std::vector<int64_t> offsets, tokens;
  int64_t total = 0, longest = 0;
  for (const KvBlock& block : blocks) {
    keys.push_back(stack_layers(block.keys, "keys"));
    values.push_back(stack_layers(block.values, "values"));
    const torch::Tensor& first = keys.front();
    if (keys.back().size(0) != first.size(0) || keys.back().size(1) != first.size(1) ||
        keys.back().size(3) != first.size(3) || keys.back().device() != first.device() ||
        block.keys.front().scalar_type() != blocks.front().keys.front().scalar_type())
      throw QuantizationError("quantize_blocks: block " + std::to_string(block.index) +
                              " differs from block " + std::to_string(blocks.front().index) +
                              " in layers, heads, head_dim, dtype or device");
    if (values.back().sizes() != keys.back().sizes())
      throw QuantizationError("quantize_blocks: keys and values of block " +
                              std::to_string(block.index) + " differ in shape");
    const int64_t t = keys.back().size(2);
    if (block.token_offsets.defined() && block.token_offsets.numel() != t)
      throw QuantizationError("quantize_blocks: block " + std::to_string(block.index) + " has " +
                              std::to_string(block.token_offsets.numel()) + " token offsets for " +
                              std::to_string(t) + " tokens");
    offsets.push_back(total);
    tokens.push_back(t);
    total += t;
    longest = std::max(longest, t);
  }
  const torch::Tensor all_keys = torch::cat(keys, 2);
  const torch::Tensor all_values = torch::cat(values, 2);
  const int64_t group = settings.group_size;
  const int64_t head_dim = all_keys.size(3);

  // Keys per channel, in groups along each block's own tokens: every block laid out over the
  // longest one's groups, its last token repeated after its end (as quantize_block pads its
  // remainder group), so one grouping serves all; groups past a block's end are dropped.
  const int64_t padded = (longest + group - 1) / group * group;
  std::vector<int64_t> gather;
  gather.reserve(blocks.size() * static_cast<size_t>(padded));
  for (size_t b = 0; b < blocks.size(); ++b)
    for (int64_t t = 0; t < padded; ++t) gather.push_back(offsets[b] + std::min(t, tokens[b] - 1));
  const torch::Tensor index = torch::tensor(gather, torch::kInt64).to(all_keys.device());
  std::vector<int64_t> laid_shape = {all_keys.size(0), all_keys.size(1),
                                     static_cast<int64_t>(blocks.size()), padded, head_dim};
  const torch::Tensor laid = all_keys.index_select(2, index).view(laid_shape);  // [L,H,B,P,D]
  Groups k = quantize_last_axis(laid.permute({2, 0, 1, 4, 3}), settings.key_bits, group,
                                settings.scale_dtype);      // codes [B,L,H,D,P], scales [B,L,H,D,G]
  const torch::Tensor key_codes = k.codes.transpose(3, 4);  // [B, L, H, P, D]
  const torch::Tensor key_scales = k.scales.transpose(3, 4);
  const torch::Tensor key_zeros = k.zeros.transpose(3, 4);
  // Values per token, in groups along head_dim: every token on its own already.
  Groups v = quantize_last_axis(all_values, settings.value_bits, group, settings.scale_dtype);
  const int key_per_byte = 8 / settings.key_bits, value_per_byte = 8 / settings.value_bits;
  const bool rows_pack = head_dim % key_per_byte == 0 && head_dim % value_per_byte == 0;
  const torch::Tensor key_rows = rows_pack ? pack_rows(key_codes, settings.key_bits) : key_codes;
  const torch::Tensor value_rows = rows_pack ? pack_rows(v.codes, settings.value_bits) : v.codes;
  if (!k.usable.logical_and(v.usable).item<bool>())
    throw QuantizationError("quantize_blocks: blocks " + std::to_string(blocks.front().index) +
                            ".." + std::to_string(blocks.back().index) +
                            " hold non-finite keys or values, or values beyond the range of "
                            "fp16 scales (|x| > 60000: use ScaleDtype::kFloat32)");

  for (size_t b = 0; b < blocks.size(); ++b) {
    const KvBlock& block = blocks[b];
    const auto i = static_cast<int64_t>(b);
    QuantizedBlock q = quantized_header(block, keys[b].sizes(), settings);
    const int64_t key_groups = (tokens[b] + group - 1) / group;
    const auto packed = [&](const torch::Tensor& rows, int bits) {
      return rows_pack ? rows.contiguous().view({-1}) : pack_codes(rows, bits);
    };
    q.keys.bits = settings.key_bits;
    q.keys.packed = packed(key_rows[i].narrow(2, 0, tokens[b]), settings.key_bits);
    q.keys.scales = key_scales[i].narrow(2, 0, key_groups).contiguous();
    q.keys.zeros = key_zeros[i].narrow(2, 0, key_groups).contiguous();
    q.values.bits = settings.value_bits;
    q.values.packed = packed(value_rows.narrow(2, offsets[b], tokens[b]), settings.value_bits);
    q.values.scales = v.scales.narrow(2, offsets[b], tokens[b]).contiguous();
    q.values.zeros = v.zeros.narrow(2, offsets[b], tokens[b]).contiguous();
    out.push_back(std::move(q));
  }
  return out;
}

QuantizedBlock slice_layer(const QuantizedBlock& block, int64_t layer) {
  const int64_t per_layer = block.kv_heads * block.tokens * block.head_dim;
  const auto slice = [&](const QuantizedTensor& t) {
    if (per_layer * t.bits % 8 != 0) {
      throw QuantizationError("slice_layer: a layer of " + std::to_string(per_layer) + " " +
                              std::to_string(t.bits) + "-bit codes is not whole bytes");
    }
    const int64_t bytes = per_layer * t.bits / 8;
    QuantizedTensor one = t;
    one.packed = t.packed.narrow(0, layer * bytes, bytes);
    one.scales = t.scales.narrow(0, layer, 1);
    one.zeros = t.zeros.narrow(0, layer, 1);
    return one;
  };
  QuantizedBlock one = block;
  one.layers = 1;
  one.keys = slice(block.keys);
  one.values = slice(block.values);
  if (block.summary_keys.defined()) one.summary_keys = block.summary_keys.narrow(0, layer, 1);
  return one;
}

KvBlock dequantize_block(const QuantizedBlock& block, torch::Device device,
                         torch::ScalarType dtype) {
  const int64_t group = block.settings.group_size;
  const std::vector<int64_t> shape = {block.layers, block.kv_heads, block.tokens, block.head_dim};
  const int64_t numel = block.layers * block.kv_heads * block.tokens * block.head_dim;
  assert(block.keys.packed.numel() == packed_bytes(numel, block.keys.bits));
  assert(block.values.packed.numel() == packed_bytes(numel, block.values.bits));

  const torch::Tensor key_codes =
      unpack_codes(block.keys.packed.to(device), block.keys.bits, numel).reshape(shape);
  const torch::Tensor keys =
      dequantize_last_axis(key_codes.transpose(2, 3), block.keys.scales.to(device).transpose(2, 3),
                           block.keys.zeros.to(device).transpose(2, 3), group)
          .transpose(2, 3)
          .to(dtype)
          .contiguous();
  const torch::Tensor value_codes =
      unpack_codes(block.values.packed.to(device), block.values.bits, numel).reshape(shape);
  const torch::Tensor values = dequantize_last_axis(value_codes, block.values.scales.to(device),
                                                    block.values.zeros.to(device), group)
                                   .to(dtype)
                                   .contiguous();

  KvBlock out;
  out.index = block.index;
  out.start_seconds = block.start_seconds;
  out.end_seconds = block.end_seconds;
  out.frame_tokens = block.frame_tokens;
  if (block.token_offsets.defined()) out.token_offsets = block.token_offsets.to(device);
  if (block.summary_keys.defined()) out.summary_keys = block.summary_keys.to(device);
  out.keys = keys.unbind(0);
  out.values = values.unbind(0);
  return out;
}

}  // namespace vigil::memory

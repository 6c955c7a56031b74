#include "memory/layered_record.h"

#include <cstring>
#include <string>

#include "memory/crc32c.h"

namespace vigil::memory {
namespace {

constexpr char kMagic[4] = {'V', 'K', 'V', 'L'};
constexpr uint64_t kFixedBytes = 12;  // magic, version, reserved, layers
constexpr uint64_t kPartBytes = 20;   // offset, size, crc
constexpr uint32_t kMaxLayers = 4096;

template <typename T>
void put(std::vector<uint8_t>& out, size_t at, T value) {
  std::memcpy(out.data() + at, &value, sizeof value);
}

template <typename T>
T get(const uint8_t* data, size_t at) {
  T value;
  std::memcpy(&value, data + at, sizeof value);
  return value;
}

// The record from each layer's encoding.
std::vector<uint8_t> assemble(const std::vector<std::vector<uint8_t>>& layers) {
  uint64_t size = layered_table_bytes(static_cast<int64_t>(layers.size()));
  for (const std::vector<uint8_t>& layer : layers) size += layer.size();
  std::vector<uint8_t> out(size);
  std::memcpy(out.data(), kMagic, 4);
  put<uint16_t>(out, 4, kLayeredRecordVersion);
  put<uint16_t>(out, 6, 0);
  put<uint32_t>(out, 8, static_cast<uint32_t>(layers.size()));
  uint64_t offset = layered_table_bytes(static_cast<int64_t>(layers.size()));
  for (size_t i = 0; i < layers.size(); ++i) {
    const size_t entry = kFixedBytes + i * kPartBytes;
    put<uint64_t>(out, entry, offset);
    put<uint64_t>(out, entry + 8, layers[i].size());
    put<uint32_t>(out, entry + 16, crc32c(layers[i].data(), layers[i].size()));
    std::memcpy(out.data() + offset, layers[i].data(), layers[i].size());
    offset += layers[i].size();
  }
  return out;
}

torch::Tensor join(const std::vector<torch::Tensor>& parts) {
  return parts.size() == 1 ? parts.front() : torch::cat(parts, 0);
}

// One-layer quantized blocks as one block of all those layers.
QuantizedBlock join_layers(const std::vector<QuantizedBlock>& layers) {
  QuantizedBlock block = layers.front();
  block.layers = static_cast<int64_t>(layers.size());
  const auto join_member = [&](QuantizedTensor QuantizedBlock::*member) {
    std::vector<torch::Tensor> packed, scales, zeros;
    for (const QuantizedBlock& layer : layers) {
      packed.push_back((layer.*member).packed);
      scales.push_back((layer.*member).scales);
      zeros.push_back((layer.*member).zeros);
    }
    (block.*member).packed = join(packed);
    (block.*member).scales = join(scales);
    (block.*member).zeros = join(zeros);
  };
  join_member(&QuantizedBlock::keys);
  join_member(&QuantizedBlock::values);
  std::vector<torch::Tensor> summaries;
  for (const QuantizedBlock& layer : layers) summaries.push_back(layer.summary_keys);
  block.summary_keys = summaries.front().defined() ? join(summaries) : torch::Tensor();
  return block;
}

// Every layer of the record must describe the same block (one index, one shape).
void check_same_block(int64_t index, int64_t first_index, size_t layer) {
  if (index != first_index) {
    throw BlockFormatError("decode_layered: layer " + std::to_string(layer) + " holds block " +
                           std::to_string(index) + ", layer 0 block " +
                           std::to_string(first_index));
  }
}

}  // namespace

uint64_t layered_table_bytes(int64_t layers) {
  return kFixedBytes + static_cast<uint64_t>(layers) * kPartBytes;
}

std::vector<uint8_t> encode_layered(const KvBlock& block, const CodecSettings& settings) {
  std::vector<std::vector<uint8_t>> layers;
  for (int64_t l = 0; l < block.layers(); ++l) {
    KvBlock one;
    one.index = block.index;
    one.start_seconds = block.start_seconds;
    one.end_seconds = block.end_seconds;
    one.frame_tokens = block.frame_tokens;
    if (l == 0) one.token_offsets = block.token_offsets;  // once per record
    one.keys = {block.keys[static_cast<size_t>(l)]};
    one.values = {block.values[static_cast<size_t>(l)]};
    if (block.summary_keys.defined()) one.summary_keys = block.summary_keys.narrow(0, l, 1);
    layers.push_back(encode_block(one, settings));
  }
  return assemble(layers);
}

std::vector<uint8_t> encode_layered(const QuantizedBlock& block, const CodecSettings& settings) {
  std::vector<std::vector<uint8_t>> layers;
  try {
    for (int64_t l = 0; l < block.layers; ++l) {
      QuantizedBlock one = slice_layer(block, l);
      if (l > 0) one.token_offsets = torch::Tensor();  // once per record
      layers.push_back(encode_block(one, settings));
    }
  } catch (const QuantizationError& e) {
    throw BlockFormatError(std::string("encode_layered: ") + e.what());
  }
  return assemble(layers);
}

std::vector<LayerPart> decode_layer_table(const uint8_t* data, size_t size, uint64_t record_size) {
  if (size < kFixedBytes || std::memcmp(data, kMagic, 4) != 0) {
    throw BlockFormatError("layered record: no VKVL header at offset 0");
  }
  const uint16_t version = get<uint16_t>(data, 4);
  if (version != kLayeredRecordVersion) {
    throw BlockFormatError("layered record: version " + std::to_string(version) +
                           ", this build reads " + std::to_string(kLayeredRecordVersion));
  }
  const uint32_t layers = get<uint32_t>(data, 8);
  if (layers < 1 || layers > kMaxLayers) {
    throw BlockFormatError("layered record: " + std::to_string(layers) + " layers at offset 8");
  }
  const uint64_t table = layered_table_bytes(layers);
  if (size < table || record_size < table) {
    throw BlockFormatError("layered record: the table of " + std::to_string(layers) +
                           " layers needs " + std::to_string(table) + " bytes, " +
                           std::to_string(std::min<uint64_t>(size, record_size)) + " given");
  }
  std::vector<LayerPart> parts(layers);
  for (uint32_t i = 0; i < layers; ++i) {
    const size_t entry = kFixedBytes + i * kPartBytes;
    LayerPart& part = parts[i];
    part.offset = get<uint64_t>(data, entry);
    part.size = get<uint64_t>(data, entry + 8);
    part.crc = get<uint32_t>(data, entry + 16);
    if (part.offset < table || part.offset > record_size || part.size > record_size - part.offset) {
      throw BlockFormatError("layered record: layer " + std::to_string(i) + " at [" +
                             std::to_string(part.offset) + ", +" + std::to_string(part.size) +
                             ") lies outside the record of " + std::to_string(record_size) +
                             " bytes");
    }
  }
  return parts;
}

void check_layer(const LayerPart& part, const uint8_t* data, size_t size) {
  if (size != part.size || crc32c(data, size) != part.crc) {
    throw BlockFormatError("layered record: a layer of " + std::to_string(size) +
                           " bytes does not match its table entry (" + std::to_string(part.size) +
                           " bytes, its checksum)");
  }
}

LayeredBlock decode_layered(const uint8_t* data, size_t size) {
  const std::vector<LayerPart> parts = decode_layer_table(data, size, size);
  LayeredBlock out;
  std::vector<QuantizedBlock> quantized;
  for (size_t i = 0; i < parts.size(); ++i) {
    const uint8_t* bytes = data + parts[i].offset;
    const size_t length = static_cast<size_t>(parts[i].size);
    check_layer(parts[i], bytes, length);
    const EncodedKind kind = encoded_kind(bytes, length);
    if (i == 0) out.kind = kind;
    if (kind != out.kind) {
      throw BlockFormatError("decode_layered: layer " + std::to_string(i) +
                             " is not of layer 0's kind");
    }
    if (kind == EncodedKind::kQuantized) {
      QuantizedBlock layer = decode_quantized_block(bytes, length);
      if (layer.layers != 1) throw BlockFormatError("decode_layered: a part of several layers");
      if (i > 0) {
        check_same_block(layer.index, quantized.front().index, i);
        if (layer.kv_heads != quantized.front().kv_heads ||
            layer.tokens != quantized.front().tokens ||
            layer.head_dim != quantized.front().head_dim) {
          throw BlockFormatError("decode_layered: layer " + std::to_string(i) +
                                 " has another shape than layer 0");
        }
      }
      quantized.push_back(std::move(layer));
    } else {
      KvBlock layer = decode_exact_block(bytes, length);
      if (layer.layers() != 1) throw BlockFormatError("decode_layered: a part of several layers");
      if (i == 0) {
        out.exact = std::move(layer);
        continue;
      }
      check_same_block(layer.index, out.exact.index, i);
      out.exact.keys.push_back(layer.keys.front());
      out.exact.values.push_back(layer.values.front());
      if (out.exact.summary_keys.defined() && layer.summary_keys.defined()) {
        out.exact.summary_keys = torch::cat({out.exact.summary_keys, layer.summary_keys}, 0);
      }
    }
  }
  if (out.kind == EncodedKind::kQuantized) out.quantized = join_layers(quantized);
  return out;
}

}  // namespace vigil::memory

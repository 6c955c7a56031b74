// KIVI-style quantization of a KvBlock for the cold tiers (pinned RAM, disk): asymmetric
// min/max codes, keys per channel (each channel's groups of `group_size` tokens along T share
// a scale and a zero point), values per token (each token's groups of `group_size` channels
// along head_dim share them), 2, 4 or 8 bits, codes bit-packed into bytes. Only torch
// operations, batched over all layers at once, so the same code runs on CPU and CUDA tensors.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "memory/kv_block.h"

namespace vigil::memory {

// Bad settings or a block that cannot be quantized (mixed shapes, values out of fp16 range).
class QuantizationError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class ScaleDtype : uint8_t { kFloat16 = 0, kFloat32 = 1 };

struct QuantizationSettings {
  int key_bits = 4;     // 2, 4 or 8
  int value_bits = 4;   // 2, 4 or 8
  int group_size = 32;  // tokens per key group, channels per value group (>= 1)
  ScaleDtype scale_dtype = ScaleDtype::kFloat16;  // how scales and zero points are stored
};

// Throws QuantizationError naming the field when a setting is out of range.
void validate(const QuantizationSettings& settings);

// One quantized tensor of logical shape [layers, kv_heads, T, head_dim]. A group that the
// axis' length does not fill (T or head_dim not a multiple of group_size, T = 1) is a
// remainder group: it is padded with copies of its last element, which leaves its min and max,
// so its real elements keep the same error bound.
struct QuantizedTensor {
  // uint8 [ceil(numel * bits / 8)]: the codes of the logical tensor in row-major order, packed
  // little-end first (code i sits at bits [(i % (8/bits)) * bits, ...) of byte i / (8/bits)).
  torch::Tensor packed;
  // scale_dtype; keys: [layers, kv_heads, ceil(T / group), head_dim],
  //              values: [layers, kv_heads, T, ceil(head_dim / group)].
  // Element x of a group decodes as zero + code * scale; |x - decoded| <= scale / 2.
  torch::Tensor scales;
  torch::Tensor zeros;  // same shape and dtype as scales: the group's (rounded-down) minimum
  int bits = 4;
};

// A KvBlock whose keys and values are quantized; everything else is kept exactly.
// Tensors live on the device the source block was on (move with to()).
struct QuantizedBlock {
  int64_t index = 0;
  double start_seconds = 0.0;
  double end_seconds = 0.0;
  int64_t frame_tokens = 0;
  torch::Tensor token_offsets;  // int64 [T], as in KvBlock
  torch::Tensor summary_keys;   // fp32 [layers, kv_heads, head_dim], as in KvBlock
  int64_t layers = 0, kv_heads = 0, tokens = 0, head_dim = 0;
  torch::ScalarType source_dtype = torch::kFloat32;  // the dtype keys/values had
  QuantizationSettings settings;
  QuantizedTensor keys;    // grouped along T (per channel)
  QuantizedTensor values;  // grouped along head_dim (per token)

  // Bytes of packed codes, scales and zero points (what the cold tiers' budgets count).
  int64_t kv_bytes() const;
  // A copy with every tensor on `device` (non_blocking where the source is pinned).
  QuantizedBlock to(torch::Device device, bool non_blocking = false) const;
};

// Quantizes block's keys and values. Every layer must share one shape [kv_heads, T, head_dim]
// with T >= 1 and one floating dtype (fp32, bf16, fp16). Runs on the tensors' device; the
// block is not modified. Throws QuantizationError for bad settings, mixed shapes, or values
// whose range does not fit fp16 scales (|x| > 60000 with ScaleDtype::kFloat16).
QuantizedBlock quantize_block(const KvBlock& block, const QuantizationSettings& settings);

// The block back, keys and values as `dtype` on `device` (each layer a [kv_heads, T, head_dim]
// view of one contiguous [layers, ...] tensor); metadata and summary keys moved to `device`
// (summary keys stay fp32). Every element is within scale/2 of the original (plus the rounding
// of `dtype` when it is not fp32).
KvBlock dequantize_block(const QuantizedBlock& block, torch::Device device,
                         torch::ScalarType dtype);

// quantize_block of each block, bit for bit, with the blocks quantized together: a few dozen
// device operations and one check for all of them instead of for each (the blocks an ingestion
// step commits). Every block shares layers, kv_heads, head_dim, dtype and device; T may differ.
// A block that cannot be quantized fails the call (QuantizationError naming the blocks).
std::vector<QuantizedBlock> quantize_blocks(const std::vector<KvBlock>& blocks,
                                            const QuantizationSettings& settings);

// Layer `layer` of block as a one-layer block: views of its tensors, no copy. Each layer's codes
// must be whole bytes (kv_heads * T * head_dim * bits divisible by 8, true of every real
// shape); otherwise QuantizationError.
QuantizedBlock slice_layer(const QuantizedBlock& block, int64_t layer);

// Packed bytes of `numel` codes at `bits` per code.
inline int64_t packed_bytes(int64_t numel, int bits) {
  return (numel * bits + 7) / 8;
}

}  // namespace vigil::memory

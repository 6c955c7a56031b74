#include "memory/kv_block.h"

#include <cassert>

namespace vigil::memory {

int64_t KvBlock::kv_bytes() const {
  int64_t bytes = 0;
  for (const torch::Tensor& k : keys) bytes += k.numel() * static_cast<int64_t>(k.element_size());
  for (const torch::Tensor& v : values) bytes += v.numel() * static_cast<int64_t>(v.element_size());
  return bytes;
}

void compute_summary_keys(KvBlock& block) {
  assert(!block.keys.empty() && block.tokens() >= 1);
  // All layers in one reduction: three operations per block, not two per layer.
  block.summary_keys = torch::stack(block.keys, 0).to(torch::kFloat32).mean(2);
}

}  // namespace vigil::memory

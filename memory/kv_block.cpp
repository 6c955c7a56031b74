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
  std::vector<torch::Tensor> per_layer;
  per_layer.reserve(block.keys.size());
  for (const torch::Tensor& k : block.keys) {
    per_layer.push_back(k.to(torch::kFloat32).mean(1));  // [kv_heads, head_dim]
  }
  block.summary_keys = torch::stack(per_layer, 0);
}

}  // namespace vigil::memory

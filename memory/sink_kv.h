// The attention sinks of a stream: the system prompt's keys and values (ReKV's init tokens,
// StreamingLLM's sinks). Every context of the stream starts with them at positions 0..S-1;
// they stay on the model's device and are never quantized or moved down the tiers.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "llm/kv_cache.h"

namespace vigil::memory {

struct SinkKv {
  std::vector<torch::Tensor> keys;    // per layer: [kv_heads, S, head_dim], before RoPE
  std::vector<torch::Tensor> values;  // per layer: [kv_heads, S, head_dim]

  int64_t tokens() const { return keys.empty() ? 0 : keys.front().size(1); }
  int64_t layers() const { return static_cast<int64_t>(keys.size()); }
  int64_t kv_bytes() const;
  // The sink tokens' positions: int64 [S] = 0..S-1 on `device`.
  torch::Tensor positions(torch::Device device) const;

  // Copies every layer of `cache` (the system prompt forwarded at positions 0..S-1, e.g. a
  // llm::ContiguousKvCache). Asserts that the cache holds positions 0..S-1 in order.
  static SinkKv capture(const llm::KvCache& cache, int64_t layers);
};

}  // namespace vigil::memory

// One frame's KV cache: the keys and values the LLM computed for the frame's kept video
// tokens, in every layer. The unit that memory/ stores, moves between tiers, retrieves and
// re-packs. Keys are stored before RoPE (see llm/kv_cache.h), so a block carries no absolute
// positions: the positions it gets are assigned when a context is assembled.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace vigil::memory {

// The model's attention shape (llm::Qwen2Config's num_layers, num_heads, num_kv_heads,
// head_dim).
struct AttentionShape {
  int64_t layers = 0;
  int64_t attention_heads = 0;  // query heads
  int64_t kv_heads = 0;         // key/value heads (grouped-query attention)
  int64_t head_dim = 0;
  // Query heads per key head.
  int64_t query_group() const { return kv_heads > 0 ? attention_heads / kv_heads : 0; }
};

struct KvBlock {
  int64_t index = 0;           // the frame's index in its stream (0, 1, ...); unique per stream
  double start_seconds = 0.0;  // the stream time the frame shows from ...
  double end_seconds = 0.0;    // ... up to (exclusive): the next sampled frame's time
  int64_t frame_tokens = 0;    // tokens the frame had before Differential Token Drop (e.g. 196)
  // int64 [T], ascending: each kept token's place in its frame, 0 .. frame_tokens-1. Kept
  // tokens keep their original places, so a context may lay the frame out with its gaps.
  torch::Tensor token_offsets;
  std::vector<torch::Tensor> keys;    // per layer: [kv_heads, T, head_dim], before RoPE
  std::vector<torch::Tensor> values;  // per layer: [kv_heads, T, head_dim]
  // fp32 [layers, kv_heads, head_dim]: per layer, each key head's mean over the T tokens.
  // Retrieval scores it as if repeated over the head's group of query heads (BlockIndex),
  // without storing the repeats (7x fewer bytes for Qwen2-7B).
  torch::Tensor summary_keys;

  int64_t tokens() const { return token_offsets.defined() ? token_offsets.size(0) : 0; }
  int64_t layers() const { return static_cast<int64_t>(keys.size()); }
  // Bytes of keys and values in every layer (what the tiers' budgets count).
  int64_t kv_bytes() const;
};

// Fills block.summary_keys from block.keys: per layer and key head, the mean over tokens.
// Needs T >= 1.
void compute_summary_keys(KvBlock& block);

}  // namespace vigil::memory

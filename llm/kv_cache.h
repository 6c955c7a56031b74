// Where a decoder layer's keys and values live. Keys are stored before RoPE, with the
// position each token had, and rotated at use: so memory/ can move, drop and re-pack blocks
// and give them new positions without recomputing them.
#pragma once

#include <torch/torch.h>

#include <vector>

namespace vigil::llm {

// What one layer may attend to: keys (pre-RoPE) and values [kv_heads, T, head_dim], and the
// position of each of the T tokens (int64 [T], on the same device).
struct KvView {
  torch::Tensor keys;
  torch::Tensor values;
  torch::Tensor positions;
};

// A KV cache for one sequence. Not thread-safe: one generation uses it at a time.
class KvCache {
 public:
  virtual ~KvCache() = default;
  // Adds new tokens to layer `layer`: keys (pre-RoPE) and values [kv_heads, n, head_dim],
  // positions int64 [n].
  virtual void append(int layer, const torch::Tensor& keys, const torch::Tensor& values,
                      const torch::Tensor& positions) = 0;
  // Called by the model in layer `layer` before append() and view(), with the new tokens'
  // queries before RoPE [attention_heads, n, head_dim]: a cache that assembles its context
  // from the queries (memory/'s retrieval, ReKV) selects what view(layer) returns here.
  // The default ignores them.
  virtual void observe_queries(int layer, const torch::Tensor& queries) {
    (void)layer;
    (void)queries;
  }
  // Everything layer `layer` attends to, new tokens included (empty tensors when nothing).
  virtual KvView view(int layer) const = 0;
  // Tokens held by layer 0.
  virtual int64_t length() const = 0;
  // Keeps the first `length` tokens of every layer (rolls back a rejected continuation).
  virtual void truncate(int64_t length) = 0;
};

// Keys, values and positions in growing contiguous buffers (capacity doubles).
class ContiguousKvCache final : public KvCache {
 public:
  explicit ContiguousKvCache(int num_layers);
  void append(int layer, const torch::Tensor& keys, const torch::Tensor& values,
              const torch::Tensor& positions) override;
  KvView view(int layer) const override;
  int64_t length() const override;
  void truncate(int64_t length) override;

 private:
  struct Layer {
    torch::Tensor keys, values, positions;  // capacity-sized buffers
    int64_t length = 0;
  };
  std::vector<Layer> layers_;
};

}  // namespace vigil::llm

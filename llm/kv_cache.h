// Where a decoder layer's keys and values live. Keys are stored before RoPE, with the
// position each token had, and rotated at use: so memory/ can move, drop and re-pack blocks
// and give them new positions without recomputing them.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <optional>
#include <vector>

#include "llm/qwen2_config.h"

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
  // A position P known on the host such that view()'s positions increase strictly along the
  // view in every layer and all lie below P; nullopt when the cache cannot tell without
  // reading the device (the default). New tokens at positions from P on, in increasing order,
  // then see exactly the tokens before them: their attention is causal from the bottom right
  // and needs no mask (Qwen2Model::forward).
  virtual std::optional<int64_t> ordered_end() const { return std::nullopt; }
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

// The KV cache of a batch of sequences decoded together, one token per sequence and step
// (Qwen2Model::decode_step). Every buffer has a fixed capacity, so its tensors never change
// shape or address and a step can be captured once in a CUDA graph and replayed. Unlike
// KvCache, whose keys stay before RoPE so that memory/ can move blocks to new positions, a
// row's tokens never move here: keys are kept rotated (computed once, when written), so a
// step does not rotate the whole context again in every layer. Row b holds lengths[b] tokens
// in its first slots; the step writes its new token into slot lengths[b] at position
// next_positions[b], then advances both on the device for the active rows (all, unless
// set_active says otherwise: a row without a sequence computes, but keeps nothing).
class BatchKvCache {
 public:
  struct Layer {
    torch::Tensor rotated_keys;  // [batch, kv_heads, capacity, head_dim], RoPE applied
    torch::Tensor values;        // [batch, kv_heads, capacity, head_dim]
  };

  BatchKvCache(const Qwen2Config& config, int64_t batch, int64_t capacity, torch::Device device,
               torch::ScalarType dtype);

  // Copies a sequence's context (e.g. a prompt prefilled into a ContiguousKvCache) into row
  // `row`, its pre-RoPE keys rotated by `rotate` (Qwen2Model::rotate); its next token goes
  // one position after the context's last. The context's tokens fill the row's first slots
  // whatever their positions (a memory/ context may leave gaps between positions). Throws
  // std::invalid_argument when it does not fit.
  void assign(int64_t row, const KvCache& source,
              const std::function<torch::Tensor(const torch::Tensor& keys,
                                                const torch::Tensor& positions)>& rotate);

  int64_t batch() const { return batch_; }
  int64_t capacity() const { return capacity_; }
  // Tokens in the longest row, as counted on the host (assign + advance_host).
  int64_t max_length() const;
  // Records on the host that one step ran (the device counters advance inside the step).
  void advance_host();
  // Whether row `row` keeps its step's token (one small device write when it changes).
  void set_active(int64_t row, bool active);

  std::vector<Layer> layers;
  torch::Tensor lengths;         // int64 [batch]: tokens held per row
  torch::Tensor next_positions;  // int64 [batch]: the position of each row's next token
  torch::Tensor active;          // int64 [batch]: 1 for a row whose counters a step advances

 private:
  int64_t batch_;
  int64_t capacity_;
  std::vector<int64_t> host_lengths_;
  std::vector<bool> host_active_;
};

}  // namespace vigil::llm

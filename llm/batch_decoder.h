// Decodes a batch of sequences together, one token per sequence and step, over a fixed-capacity
// BatchKvCache. On CUDA the step is captured once in a CUDA graph and replayed, so a token
// costs one launch instead of a few hundred kernel launches from the host.
#pragma once

#include <torch/torch.h>

#include <memory>

#include "llm/cuda_graph.h"
#include "llm/kv_cache.h"
#include "llm/qwen2_model.h"

namespace vigil::llm {

class BatchDecoder {
 public:
  // Room for `capacity` tokens per row (context and generated). use_cuda_graph asks for
  // capture on CUDA models; it is ignored elsewhere.
  BatchDecoder(const Qwen2Model& model, int64_t batch, int64_t capacity, bool use_cuda_graph);

  // Row `row`'s context: a sequence already run through the model (e.g. a prompt prefilled
  // into a ContiguousKvCache).
  void assign(int64_t row, const KvCache& context);

  // Logits [batch, vocab] (fp32, on the model's device) for one new token per row (ids int64
  // [batch]), each placed at its row's next position. Throws std::length_error when a row is
  // full. The returned tensor is overwritten by the next step.
  torch::Tensor step(const torch::Tensor& ids);

  // Whether row `row` keeps its steps' tokens (BatchKvCache::set_active); a row without a
  // sequence in it should not, or it fills up.
  void set_active(int64_t row, bool active) { cache_.set_active(row, active); }

  bool uses_cuda_graph() const { return graph_ != nullptr; }
  const BatchKvCache& cache() const { return cache_; }

 private:
  const Qwen2Model& model_;
  BatchKvCache cache_;
  bool want_graph_;
  torch::Tensor ids_;     // the step's input, a fixed buffer [batch]
  torch::Tensor logits_;  // the step's output, a fixed buffer [batch, vocab]
  std::unique_ptr<CudaGraph> graph_;
};

}  // namespace vigil::llm

#include "llm/batch_decoder.h"

#include <stdexcept>
#include <string>

namespace vigil::llm {

BatchDecoder::BatchDecoder(const Qwen2Model& model, int64_t batch, int64_t capacity,
                           bool use_cuda_graph)
    : model_(model),
      cache_(model.config(), batch, capacity, model.device(), model.dtype()),
      want_graph_(use_cuda_graph && model.device().is_cuda() && CudaGraph::available()),
      ids_(torch::zeros({batch},
                        torch::TensorOptions().dtype(torch::kInt64).device(model.device()))) {}

void BatchDecoder::assign(int64_t row, const KvCache& context) {
  cache_.assign(row, context, [&](const torch::Tensor& keys, const torch::Tensor& positions) {
    return model_.rotate(keys, positions);
  });
}

torch::Tensor BatchDecoder::step(const torch::Tensor& ids) {
  if (ids.dim() != 1 || ids.size(0) != cache_.batch()) {
    throw std::invalid_argument("BatchDecoder: expected " + std::to_string(cache_.batch()) +
                                " ids, got " + std::to_string(ids.numel()));
  }
  if (cache_.max_length() >= cache_.capacity()) {
    throw std::length_error("BatchDecoder: a row is full (" + std::to_string(cache_.capacity()) +
                            " tokens)");
  }
  ids_.copy_(ids, /*non_blocking=*/true);
  if (!want_graph_) {
    logits_ = model_.decode_step(ids_, cache_);
  } else {
    if (graph_ == nullptr) {
      // The warm-up runs advance the rows' counters: capture restores them first.
      const torch::Tensor lengths = cache_.lengths.clone();
      const torch::Tensor next_positions = cache_.next_positions.clone();
      graph_ = std::make_unique<CudaGraph>([&] { logits_ = model_.decode_step(ids_, cache_); },
                                           [&] {
                                             cache_.lengths.copy_(lengths);
                                             cache_.next_positions.copy_(next_positions);
                                           });
    }
    graph_->replay();
  }
  cache_.advance_host();
  return logits_;
}

}  // namespace vigil::llm

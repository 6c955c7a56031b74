// LLaVA's multimodal projector: vision features to the language model's width through a
// two-layer MLP, linear_2(act(linear_1(x))), act the exact (erf) GELU for LLaVA-OneVision.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "llm/checkpoint.h"

namespace vigil::vision {

// Immutable after load; forward is const and thread-safe.
class MultimodalProjector {
 public:
  // Loads linear_1 [out, in] and linear_2 [out, out] (with biases when `bias`) under any of
  // `prefixes` (e.g. "multi_modal_projector."). activation: "gelu" (erf) or
  // "gelu_pytorch_tanh". Throws llm::ModelLoadError naming the checkpoint and tensor.
  static std::unique_ptr<MultimodalProjector> load(const llm::Checkpoint& checkpoint,
                                                   const std::vector<std::string>& prefixes,
                                                   int64_t in_features, int64_t out_features,
                                                   bool bias, std::string activation,
                                                   torch::Device device, torch::ScalarType dtype);

  int64_t in_features() const { return in_features_; }
  int64_t out_features() const { return out_features_; }

  // [..., out_features] in the weights' dtype for x [..., in_features] on the same device.
  torch::Tensor forward(const torch::Tensor& x) const;
  // FLOPs per input row.
  double flops_per_row() const;

 private:
  MultimodalProjector() = default;

  int64_t in_features_ = 0;
  int64_t out_features_ = 0;
  std::string activation_;
  torch::Tensor weight_1_, bias_1_, weight_2_, bias_2_;  // biases undefined when absent
  std::vector<std::shared_ptr<const void>> mappings_;
};

}  // namespace vigil::vision

#include "vision/multimodal_projector.h"

#include "vision/weight_loader.h"

namespace vigil::vision {

std::unique_ptr<MultimodalProjector> MultimodalProjector::load(
    const llm::Checkpoint& checkpoint, const std::vector<std::string>& prefixes,
    int64_t in_features, int64_t out_features, bool bias, std::string activation,
    torch::Device device, torch::ScalarType dtype) {
  TORCH_CHECK(activation == "gelu" || activation == "gelu_pytorch_tanh",
              "unsupported projector activation ", activation);
  std::unique_ptr<MultimodalProjector> projector(new MultimodalProjector());
  projector->mappings_ = checkpoint.mappings();
  projector->in_features_ = in_features;
  projector->out_features_ = out_features;
  projector->activation_ = std::move(activation);
  const WeightLoader weights(checkpoint, prefixes, device, dtype);
  projector->weight_1_ = weights.load("linear_1.weight", {out_features, in_features});
  projector->weight_2_ = weights.load("linear_2.weight", {out_features, out_features});
  if (bias) {
    projector->bias_1_ = weights.load("linear_1.bias", {out_features});
    projector->bias_2_ = weights.load("linear_2.bias", {out_features});
  }
  return projector;
}

torch::Tensor MultimodalProjector::forward(const torch::Tensor& x) const {
  torch::NoGradGuard no_grad;
  torch::Tensor h = torch::linear(x.to(weight_1_.scalar_type()), weight_1_, bias_1_);
  h = activation_ == "gelu" ? torch::gelu(h) : torch::gelu(h, "tanh");
  return torch::linear(h, weight_2_, bias_2_);
}

double MultimodalProjector::flops_per_row() const {
  return 2.0 * static_cast<double>(in_features_ * out_features_ + out_features_ * out_features_);
}

}  // namespace vigil::vision

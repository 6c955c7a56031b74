// The SigLIP vision tower in libtorch, as transformers' SiglipVisionModel computes it up to the
// features LLaVA-OneVision reads: patch convolution (no CLS token, no pre-norm), learned
// position embeddings, pre-norm encoder layers (full bidirectional attention with q/k/v/out
// biases, GELU-tanh MLP). The output is hidden_states[feature_layers], *before*
// post_layernorm (which LLaVA-OneVision never applies). Frames are independent: one batched
// pass over [F, 3, S, S].
#pragma once

#include <torch/torch.h>

#include <memory>
#include <vector>

#include "llm/checkpoint.h"
#include "vision/siglip_config.h"

namespace vigil::vision {

// Immutable after load; forward is const and thread-safe.
class SiglipVisionTower {
 public:
  // Loads the embeddings and the first `feature_layers` encoder layers (0 ..
  // config.num_layers) from checkpoint, under any of `prefixes` (e.g. "vision_tower.",
  // "vision_tower.vision_model."), onto device in dtype. The q, k and v projections are fused
  // into one matrix. Throws llm::ModelLoadError naming the checkpoint and tensor for a missing
  // tensor or a wrong shape.
  static std::unique_ptr<SiglipVisionTower> load(const llm::Checkpoint& checkpoint,
                                                 const std::vector<std::string>& prefixes,
                                                 const SiglipVisionConfig& config,
                                                 int64_t feature_layers, torch::Device device,
                                                 torch::ScalarType dtype);

  const SiglipVisionConfig& config() const { return config_; }
  torch::Device device() const { return device_; }
  torch::ScalarType dtype() const { return dtype_; }
  int64_t feature_layers() const { return static_cast<int64_t>(layers_.size()); }

  // Features [F, P, hidden] in dtype() on device() for pixel values [F, C, S, S] (any float
  // dtype, any device; S = config().image_size), P = (S / patch)², patches in row-major order.
  // Throws VisionInputError naming the shape for another rank, channel count or size.
  torch::Tensor forward(const torch::Tensor& pixel_values) const;

  // FLOPs (multiply-add = 2) of forward for one frame: convolution, projections, attention, MLP.
  double flops_per_frame() const;

 private:
  struct Layer {
    torch::Tensor norm1_weight, norm1_bias, norm2_weight, norm2_bias;
    torch::Tensor qkv_weight, qkv_bias;  // [3 * hidden, hidden], [3 * hidden]: q, k, v stacked
    torch::Tensor out_weight, out_bias;
    torch::Tensor fc1_weight, fc1_bias, fc2_weight, fc2_bias;
  };
  SiglipVisionTower(SiglipVisionConfig config, torch::Device device, torch::ScalarType dtype);
  torch::Tensor attention(const Layer& layer, const torch::Tensor& x) const;
  // activation(fc1(h)) for h [F, P, hidden]: [F, P, intermediate].
  torch::Tensor mlp_hidden(const Layer& layer, const torch::Tensor& h) const;

  SiglipVisionConfig config_;
  torch::Device device_;
  torch::ScalarType dtype_;
  torch::Tensor patch_weight_, patch_bias_, position_embedding_;
  std::vector<Layer> layers_;
  std::vector<std::shared_ptr<const void>> mappings_;  // keep borrowed weights valid
};

}  // namespace vigil::vision

#include "vision/siglip_tower.h"

#include <cmath>
#include <sstream>

#include "llm/torch_compat.h"
#include "vision/vision_error.h"
#include "vision/weight_loader.h"

namespace vigil::vision {
namespace {

std::string shape_of(const torch::Tensor& tensor) {
  std::ostringstream out;
  out << tensor.sizes();
  return out.str();
}

}  // namespace

SiglipVisionTower::SiglipVisionTower(SiglipVisionConfig config, torch::Device device,
                                     torch::ScalarType dtype)
    : config_(std::move(config)), device_(device), dtype_(dtype) {}

std::unique_ptr<SiglipVisionTower> SiglipVisionTower::load(const llm::Checkpoint& checkpoint,
                                                           const std::vector<std::string>& prefixes,
                                                           const SiglipVisionConfig& config,
                                                           int64_t feature_layers,
                                                           torch::Device device,
                                                           torch::ScalarType dtype) {
  TORCH_CHECK(feature_layers >= 0 && feature_layers <= config.num_layers,
              "feature_layers out of range");
  std::unique_ptr<SiglipVisionTower> tower(new SiglipVisionTower(config, device, dtype));
  tower->mappings_ = checkpoint.mappings();
  const WeightLoader weights(checkpoint, prefixes, device, dtype);
  const int64_t hidden = config.hidden_size;
  const int64_t inner = config.intermediate_size;
  tower->patch_weight_ =
      weights.load("embeddings.patch_embedding.weight",
                   {hidden, config.num_channels, config.patch_size, config.patch_size});
  tower->patch_bias_ = weights.load("embeddings.patch_embedding.bias", {hidden});
  tower->position_embedding_ =
      weights.load("embeddings.position_embedding.weight", {config.num_patches(), hidden});
  for (int64_t i = 0; i < feature_layers; ++i) {
    const std::string p = "encoder.layers." + std::to_string(i) + ".";
    Layer layer;
    layer.norm1_weight = weights.load(p + "layer_norm1.weight", {hidden});
    layer.norm1_bias = weights.load(p + "layer_norm1.bias", {hidden});
    layer.norm2_weight = weights.load(p + "layer_norm2.weight", {hidden});
    layer.norm2_bias = weights.load(p + "layer_norm2.bias", {hidden});
    std::vector<torch::Tensor> qkv_weights, qkv_biases;
    for (const char* name : {"q_proj", "k_proj", "v_proj"}) {
      const std::string projection = p + "self_attn." + name;
      qkv_weights.push_back(weights.load(projection + ".weight", {hidden, hidden}));
      qkv_biases.push_back(weights.load(projection + ".bias", {hidden}));
    }
    layer.qkv_weight = torch::cat(qkv_weights, 0);
    layer.qkv_bias = torch::cat(qkv_biases, 0);
    layer.out_weight = weights.load(p + "self_attn.out_proj.weight", {hidden, hidden});
    layer.out_bias = weights.load(p + "self_attn.out_proj.bias", {hidden});
    layer.fc1_weight = weights.load(p + "mlp.fc1.weight", {inner, hidden});
    layer.fc1_bias = weights.load(p + "mlp.fc1.bias", {inner});
    layer.fc2_weight = weights.load(p + "mlp.fc2.weight", {hidden, inner});
    layer.fc2_bias = weights.load(p + "mlp.fc2.bias", {hidden});
    tower->layers_.push_back(std::move(layer));
  }
  return tower;
}

torch::Tensor SiglipVisionTower::mlp_hidden(const Layer& layer, const torch::Tensor& h) const {
  const bool tanh = config_.hidden_act != "gelu";
  if (tanh && h.is_cuda()) {
    // One cuBLASLt call with the bias and GELU-tanh in its epilogue: the [F·P, inner]
    // activations are written once instead of being read and written again by a separate GELU
    // (CPU's version of this call computes the exact GELU, so the CPU keeps the two steps).
    const torch::Tensor rows = h.reshape({-1, h.size(-1)});
    return at::_addmm_activation(layer.fc1_bias, rows, layer.fc1_weight.t(), /*beta=*/1,
                                 /*alpha=*/1, /*use_gelu=*/true)
        .view({h.size(0), h.size(1), -1});
  }
  const torch::Tensor up = torch::linear(h, layer.fc1_weight, layer.fc1_bias);
  return tanh ? torch::gelu(up, "tanh") : torch::gelu(up);
}

torch::Tensor SiglipVisionTower::attention(const Layer& layer, const torch::Tensor& x) const {
  const int64_t frames = x.size(0);
  const int64_t patches = x.size(1);
  const int64_t heads = config_.num_heads;
  const int64_t head_dim = config_.head_dim();
  // [F, P, 3, heads, head_dim] -> three [F, heads, P, head_dim] views (strided, no copies).
  const torch::Tensor qkv = torch::linear(x, layer.qkv_weight, layer.qkv_bias)
                                .view({frames, patches, 3, heads, head_dim})
                                .permute({2, 0, 3, 1, 4});
  const double scale = 1.0 / std::sqrt(static_cast<double>(head_dim));
  const torch::Tensor out =
      llm::compat::attention(qkv[0], qkv[1], qkv[2], torch::Tensor(), scale);  // [F, h, P, d]
  return torch::linear(out.transpose(1, 2).reshape({frames, patches, config_.hidden_size}),
                       layer.out_weight, layer.out_bias);
}

torch::Tensor SiglipVisionTower::forward(const torch::Tensor& pixel_values) const {
  const int64_t size = config_.image_size;
  if (pixel_values.dim() != 4 || pixel_values.size(1) != config_.num_channels ||
      pixel_values.size(2) != size || pixel_values.size(3) != size) {
    throw VisionInputError("SigLIP pixel values have shape " + shape_of(pixel_values) +
                           ", expected [frames, " + std::to_string(config_.num_channels) + ", " +
                           std::to_string(size) + ", " + std::to_string(size) + "]");
  }
  if (!pixel_values.is_floating_point()) {
    throw VisionInputError("SigLIP pixel values must be floating point (normalised), got " +
                           std::string(c10::toString(pixel_values.scalar_type())));
  }
  torch::NoGradGuard no_grad;
  const int64_t hidden = config_.hidden_size;
  // As transformers: the pixels are cast to the weights' dtype before the convolution.
  const torch::Tensor patches =
      torch::conv2d(pixel_values.to(device_, dtype_), patch_weight_, patch_bias_,
                    /*stride=*/config_.patch_size)
          .flatten(2)
          .transpose(1, 2);  // [F, P, hidden], a transposed view of [F, hidden, P]
  // The residual stream is made contiguous here, in the position embedding's add: left in the
  // convolution's transposed layout, every later add would keep that layout, and every layer
  // norm and projection would copy or stride through it (measured: docs/optimisation-notes.md).
  torch::Tensor x = torch::empty(patches.sizes(), patches.options());
  torch::add_out(x, patches, position_embedding_.unsqueeze(0));
  for (const Layer& layer : layers_) {
    x = x + attention(layer, torch::layer_norm(x, {hidden}, layer.norm1_weight, layer.norm1_bias,
                                               config_.layer_norm_eps));
    const torch::Tensor h = torch::layer_norm(x, {hidden}, layer.norm2_weight, layer.norm2_bias,
                                              config_.layer_norm_eps);
    x = x + torch::linear(mlp_hidden(layer, h), layer.fc2_weight, layer.fc2_bias);
  }
  return x;
}

double SiglipVisionTower::flops_per_frame() const {
  const double patches = static_cast<double>(config_.num_patches());
  const double hidden = static_cast<double>(config_.hidden_size);
  const double inner = static_cast<double>(config_.intermediate_size);
  const double patch_inputs =
      static_cast<double>(config_.num_channels * config_.patch_size * config_.patch_size);
  double flops = 2.0 * patches * patch_inputs * hidden;              // the convolution
  const double per_layer = 2.0 * patches * hidden * hidden * 4.0     // q, k, v, out
                           + 2.0 * 2.0 * patches * patches * hidden  // scores and weighted sum
                           + 2.0 * 2.0 * patches * hidden * inner;   // fc1, fc2
  flops += per_layer * static_cast<double>(layers_.size());
  return flops;
}

}  // namespace vigil::vision

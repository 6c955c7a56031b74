// The shape of a SigLIP vision tower (transformers' SiglipVisionConfig), as the vision_config
// of a LLaVA-OneVision config.json gives it.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace vigil::vision {

struct SiglipVisionConfig {
  int64_t hidden_size = 0;        // 1152 for so400m
  int64_t intermediate_size = 0;  // 4304
  int64_t num_layers = 0;         // 26 in LLaVA-OneVision (so400m's last layer dropped)
  int64_t num_heads = 0;          // 16
  int64_t num_channels = 3;
  int64_t image_size = 0;  // square input, pixels (384)
  int64_t patch_size = 0;  // 14
  double layer_norm_eps = 1e-6;
  std::string hidden_act = "gelu_pytorch_tanh";

  int64_t head_dim() const { return hidden_size / num_heads; }
  int64_t patches_per_side() const { return image_size / patch_size; }             // 27
  int64_t num_patches() const { return patches_per_side() * patches_per_side(); }  // 729
};

// Reads and validates a vision_config object; `where` names the file (and section) in errors.
// Throws llm::ModelLoadError naming the key for a missing or invalid value, and for settings
// this tower does not implement (a model_type other than siglip_vision_model, an activation
// other than gelu_pytorch_tanh / gelu, image_size below patch_size, a hidden size not a
// multiple of the head count).
SiglipVisionConfig parse_siglip_vision_config(const nlohmann::json& vision_config,
                                              const std::string& where);

}  // namespace vigil::vision

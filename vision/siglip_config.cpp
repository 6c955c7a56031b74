#include "vision/siglip_config.h"

#include "llm/model_error.h"

namespace vigil::vision {
namespace {

using llm::ModelLoadError;

int64_t positive(const nlohmann::json& config, const char* key, const std::string& where) {
  if (!config.contains(key)) throw ModelLoadError(where + ": '" + key + "' is missing");
  if (!config[key].is_number_integer() || config[key].get<int64_t>() <= 0) {
    throw ModelLoadError(where + ": '" + key + "' must be a positive integer, got " +
                         config[key].dump());
  }
  return config[key].get<int64_t>();
}

}  // namespace

SiglipVisionConfig parse_siglip_vision_config(const nlohmann::json& json,
                                              const std::string& where) {
  if (!json.is_object()) throw ModelLoadError(where + ": the vision config is not an object");
  const std::string model_type = json.value("model_type", "siglip_vision_model");
  if (model_type != "siglip_vision_model") {
    throw ModelLoadError(where + ": model_type '" + model_type +
                         "' is not supported (siglip_vision_model)");
  }
  SiglipVisionConfig config;
  config.hidden_size = positive(json, "hidden_size", where);
  config.intermediate_size = positive(json, "intermediate_size", where);
  config.num_layers = positive(json, "num_hidden_layers", where);
  config.num_heads = positive(json, "num_attention_heads", where);
  config.image_size = positive(json, "image_size", where);
  config.patch_size = positive(json, "patch_size", where);
  if (json.contains("num_channels")) config.num_channels = positive(json, "num_channels", where);
  if (json.contains("layer_norm_eps")) {
    if (!json["layer_norm_eps"].is_number() || json["layer_norm_eps"].get<double>() <= 0) {
      throw ModelLoadError(where + ": 'layer_norm_eps' must be a positive number");
    }
    config.layer_norm_eps = json["layer_norm_eps"].get<double>();
  }
  if (json.contains("hidden_act")) {
    if (!json["hidden_act"].is_string()) {
      throw ModelLoadError(where + ": 'hidden_act' must be a string");
    }
    config.hidden_act = json["hidden_act"].get<std::string>();
  }
  if (config.hidden_act != "gelu_pytorch_tanh" && config.hidden_act != "gelu") {
    throw ModelLoadError(where + ": hidden_act '" + config.hidden_act +
                         "' is not supported (gelu_pytorch_tanh, gelu)");
  }
  if (config.hidden_size % config.num_heads != 0) {
    throw ModelLoadError(where + ": hidden_size " + std::to_string(config.hidden_size) +
                         " is not a multiple of num_attention_heads " +
                         std::to_string(config.num_heads));
  }
  // image_size need not be a multiple of patch_size (384 = 27 x 14 + 6): the "valid"
  // convolution drops the remainder, as transformers' num_patches = (image_size // patch)².
  if (config.image_size < config.patch_size) {
    throw ModelLoadError(where + ": image_size " + std::to_string(config.image_size) +
                         " is smaller than patch_size " + std::to_string(config.patch_size));
  }
  return config;
}

}  // namespace vigil::vision

#include "vision/llava_onevision_config.h"

#include "llm/model_error.h"

namespace vigil::vision {
namespace {

using llm::ModelLoadError;

int64_t token_id(const nlohmann::json& config, const char* key, const char* alias, int64_t fallback,
                 const std::string& where) {
  for (const char* name : {key, alias}) {
    if (!config.contains(name) || config[name].is_null()) continue;
    if (!config[name].is_number_integer() || config[name].get<int64_t>() < 0) {
      throw ModelLoadError(where + ": '" + name + "' must be a token id, got " +
                           config[name].dump());
    }
    return config[name].get<int64_t>();
  }
  return fallback;
}

}  // namespace

LlavaOnevisionConfig parse_llava_onevision_config(const nlohmann::json& json,
                                                  const std::string& where) {
  if (!json.is_object()) throw ModelLoadError(where + ": config is not a JSON object");
  const std::string model_type = json.value("model_type", "");
  if (model_type != "llava_onevision") {
    throw ModelLoadError(where + ": model_type '" + model_type +
                         "' is not a LLaVA-OneVision checkpoint (llava_onevision)");
  }
  if (!json.contains("vision_config") || !json["vision_config"].is_object()) {
    throw ModelLoadError(where +
                         ": 'vision_config' is missing (a LLaVA-OneVision config.json "
                         "needs the SigLIP tower's shape)");
  }
  if (!json.contains("text_config") || !json["text_config"].is_object()) {
    throw ModelLoadError(where + ": 'text_config' is missing");
  }
  LlavaOnevisionConfig config;
  config.vision = parse_siglip_vision_config(json["vision_config"], where + " (vision_config)");

  const nlohmann::json& text = json["text_config"];
  if (!text.contains("hidden_size") || !text["hidden_size"].is_number_integer() ||
      text["hidden_size"].get<int64_t>() <= 0) {
    throw ModelLoadError(where + " (text_config): 'hidden_size' must be a positive integer");
  }
  config.text_hidden_size = text["hidden_size"].get<int64_t>();

  int64_t layer = -1;  // transformers' LlavaOnevisionConfig default
  if (json.contains("vision_feature_layer") && !json["vision_feature_layer"].is_null()) {
    const nlohmann::json& value = json["vision_feature_layer"];
    if (!value.is_number_integer()) {
      throw ModelLoadError(where + ": vision_feature_layer " + value.dump() +
                           " is not supported (one integer layer; lists of layers are not "
                           "implemented)");
    }
    layer = value.get<int64_t>();
  }
  const int64_t states = config.vision.num_layers + 1;  // embeddings + one per layer
  const int64_t resolved = layer < 0 ? states + layer : layer;
  if (resolved < 0 || resolved >= states) {
    throw ModelLoadError(where + ": vision_feature_layer " + std::to_string(layer) +
                         " is out of range for a tower of " +
                         std::to_string(config.vision.num_layers) + " layers");
  }
  config.feature_layers = resolved;

  const std::string strategy = json.value("vision_feature_select_strategy", "full");
  if (strategy != "full") {
    throw ModelLoadError(where + ": vision_feature_select_strategy '" + strategy +
                         "' is not supported (full: SigLIP has no CLS token to drop)");
  }
  if (json.contains("projector_hidden_act")) {
    if (!json["projector_hidden_act"].is_string()) {
      throw ModelLoadError(where + ": 'projector_hidden_act' must be a string");
    }
    config.projector_act = json["projector_hidden_act"].get<std::string>();
  }
  if (config.projector_act != "gelu" && config.projector_act != "gelu_pytorch_tanh") {
    throw ModelLoadError(where + ": projector_hidden_act '" + config.projector_act +
                         "' is not supported (gelu, gelu_pytorch_tanh)");
  }
  if (json.contains("multimodal_projector_bias")) {
    if (!json["multimodal_projector_bias"].is_boolean()) {
      throw ModelLoadError(where + ": 'multimodal_projector_bias' must be true or false");
    }
    config.projector_bias = json["multimodal_projector_bias"].get<bool>();
  }
  config.video_token_id =
      token_id(json, "video_token_index", "video_token_id", config.video_token_id, where);
  config.image_token_id =
      token_id(json, "image_token_index", "image_token_id", config.image_token_id, where);
  return config;
}

}  // namespace vigil::vision

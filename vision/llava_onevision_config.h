// The vision half of a LLaVA-OneVision config.json (model_type "llava_onevision"): the SigLIP
// tower, which of its layers feeds the projector, the projector, and the placeholder token ids.
// The text half is llm::Qwen2Config (llm/qwen2_config.h).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "vision/siglip_config.h"

namespace vigil::vision {

struct LlavaOnevisionConfig {
  SiglipVisionConfig vision;
  // Layers of the tower that run: vision_feature_layer picks hidden_states[k] (k = 0 is the
  // patch embeddings, k = i the output of layer i; negative counts from the end, -1 = the last
  // layer, before post_layernorm), so feature_layers = k after resolving.
  int64_t feature_layers = 0;
  std::string projector_act = "gelu";  // "gelu" (erf) or "gelu_pytorch_tanh"
  bool projector_bias = true;
  int64_t text_hidden_size = 0;  // the projector's output width (the LLM's hidden size)
  int64_t video_token_id = 151647;
  int64_t image_token_id = 151646;
};

// Parses a whole LLaVA-OneVision config.json; `where` names the file in errors. Throws
// llm::ModelLoadError naming the key: model_type not llava_onevision, vision_config or
// text_config missing, vision_feature_layer out of range or a list (multi-layer features are
// not implemented), vision_feature_select_strategy other than "full" (SigLIP has no CLS token
// to drop), an unsupported projector_hidden_act, token ids that are not integers.
LlavaOnevisionConfig parse_llava_onevision_config(const nlohmann::json& config,
                                                  const std::string& where);

}  // namespace vigil::vision

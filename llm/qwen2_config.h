// The shape of a Qwen2 language model, from a Qwen2 config.json or the text_config of a
// LLaVA-OneVision one.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace vigil::llm {

struct Qwen2Config {
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t num_layers = 0;
  int64_t num_heads = 0;
  int64_t num_kv_heads = 0;
  int64_t head_dim = 0;  // hidden_size / num_heads unless the config says otherwise
  int64_t vocab_size = 0;
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;
  bool tie_word_embeddings = false;
  std::string weight_prefix;  // "model." (Qwen2) or the text model's prefix inside a VLM
};

// Reads and validates; `where` names the file in errors. Accepts rope_theta at the top level
// (transformers 4.x) or in rope_parameters (5.x). Throws ModelLoadError.
Qwen2Config parse_qwen2_config(const nlohmann::json& text_config, const std::string& where);

// The text model config of a checkpoint's config.json: itself for model_type "qwen2", its
// text_config for "llava_onevision". Throws ModelLoadError for other model types.
Qwen2Config qwen2_config_of_checkpoint(const nlohmann::json& config, const std::string& where);

}  // namespace vigil::llm

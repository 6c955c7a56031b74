#include "llm/qwen2_config.h"

#include "llm/model_error.h"

namespace vigil::llm {
namespace {

int64_t positive(const nlohmann::json& config, const char* key, const std::string& where) {
  if (!config.contains(key) || !config[key].is_number_integer() ||
      config[key].get<int64_t>() <= 0) {
    throw ModelLoadError(where + ": '" + key + "' must be a positive integer");
  }
  return config[key].get<int64_t>();
}

}  // namespace

Qwen2Config parse_qwen2_config(const nlohmann::json& text, const std::string& where) {
  if (!text.is_object()) throw ModelLoadError(where + ": the text config is not an object");
  Qwen2Config config;
  config.hidden_size = positive(text, "hidden_size", where);
  config.intermediate_size = positive(text, "intermediate_size", where);
  config.num_layers = positive(text, "num_hidden_layers", where);
  config.num_heads = positive(text, "num_attention_heads", where);
  config.num_kv_heads =
      text.contains("num_key_value_heads") && !text["num_key_value_heads"].is_null()
          ? positive(text, "num_key_value_heads", where)
          : config.num_heads;
  config.vocab_size = positive(text, "vocab_size", where);
  if (text.contains("head_dim") && !text["head_dim"].is_null()) {
    config.head_dim = positive(text, "head_dim", where);
  } else {
    if (config.hidden_size % config.num_heads != 0) {
      throw ModelLoadError(where + ": hidden_size is not a multiple of num_attention_heads");
    }
    config.head_dim = config.hidden_size / config.num_heads;
  }
  if (config.num_heads % config.num_kv_heads != 0) {
    throw ModelLoadError(where + ": num_attention_heads is not a multiple of num_key_value_heads");
  }
  if (config.head_dim % 2 != 0) throw ModelLoadError(where + ": head_dim must be even for RoPE");
  if (text.contains("rms_norm_eps") && text["rms_norm_eps"].is_number()) {
    config.rms_norm_eps = text["rms_norm_eps"].get<double>();
  }
  if (text.contains("rope_parameters") && text["rope_parameters"].is_object()) {
    const nlohmann::json& rope = text["rope_parameters"];
    if (rope.contains("rope_type") && rope["rope_type"] != "default") {
      throw ModelLoadError(where + ": rope_type '" + rope["rope_type"].dump() +
                           "' is not supported");
    }
    if (rope.contains("rope_theta")) config.rope_theta = rope["rope_theta"].get<double>();
  } else if (text.contains("rope_theta") && text["rope_theta"].is_number()) {
    config.rope_theta = text["rope_theta"].get<double>();
  }
  if (text.contains("rope_scaling") && text["rope_scaling"].is_object()) {
    throw ModelLoadError(where + ": rope_scaling is not supported");
  }
  config.tie_word_embeddings = text.value("tie_word_embeddings", false);
  return config;
}

Qwen2Config qwen2_config_of_checkpoint(const nlohmann::json& config, const std::string& where) {
  const std::string model_type = config.value("model_type", "");
  if (model_type == "qwen2") {
    Qwen2Config result = parse_qwen2_config(config, where);
    result.weight_prefix = "model.";
    return result;
  }
  if (model_type == "llava_onevision") {
    if (!config.contains("text_config")) throw ModelLoadError(where + ": no text_config");
    Qwen2Config result = parse_qwen2_config(config["text_config"], where + " (text_config)");
    // v5 forces the outer flag on when the text config ties.
    result.tie_word_embeddings =
        result.tie_word_embeddings || config.value("tie_word_embeddings", false);
    result.weight_prefix = "language_model.model.";
    return result;
  }
  throw ModelLoadError(where + ": model_type '" + model_type +
                       "' is not supported (qwen2, llava_onevision)");
}

}  // namespace vigil::llm

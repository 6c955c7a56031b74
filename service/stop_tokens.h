// Which token ids end an answer of a checkpoint.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "llm/tokenizer.h"

namespace vigil::service {

// The checkpoint's generation_config.json eos_token_id (one or a list; a missing or malformed
// file gives none), plus the ChatML end tokens the tokenizer knows (<|im_end|>,
// <|endoftext|>).
std::vector<int32_t> stop_token_ids(const std::string& model_dir, const llm::Tokenizer& tokenizer);

}  // namespace vigil::service

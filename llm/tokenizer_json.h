// Reading a Hugging Face tokenizer.json into what the Qwen2 tokenizer is built from, checking
// that every stage it names is one this tokenizer implements.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "llm/added_tokens.h"

namespace vigil::llm {

struct TokenizerDefinition {
  std::vector<std::pair<std::string, int32_t>> vocab;  // model.vocab: token text -> id
  // model.merges in rank order, each as its two token texts.
  std::vector<std::pair<std::string, std::string>> merges;
  std::vector<AddedToken> added_tokens;
  bool normalize_nfc = false;  // normalizer NFC (else none)
  bool ignore_merges = false;  // model.ignore_merges
};

// Parses the text of a tokenizer.json; origin (the path) names it in errors. Throws
// TokenizerLoadError: kMalformedJson, kMissingField (model, model.vocab, model.merges),
// kInvalidValue (wrong types, bad merges, bad added tokens), kUnsupported (a normalizer,
// pre-tokenizer, model, option, post-processor or decoder that is not Qwen2's).
TokenizerDefinition parse_tokenizer_json(std::string_view json_text, const std::string& origin);

}  // namespace vigil::llm

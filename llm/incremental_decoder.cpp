#include "llm/incremental_decoder.h"

#include "llm/utf8.h"

namespace vigil::llm {

IncrementalDecoder::IncrementalDecoder(const Tokenizer& tokenizer, bool skip_special)
    : tokenizer_(&tokenizer), skip_special_(skip_special) {}

std::string IncrementalDecoder::push(int32_t id) {
  std::string text;
  if (tokenizer_->is_added(id)) {
    if (skip_special_ && tokenizer_->is_special(id)) return text;
    // Decode treats the bytes before an added token as finished, so do the same here.
    text = finish();
    text += tokenizer_->token_bytes(id);
    return text;
  }
  pending_ += tokenizer_->token_bytes(id);
  const size_t held = utf8::incomplete_suffix_length(pending_);
  utf8::append_sanitized(std::string_view(pending_).substr(0, pending_.size() - held), text);
  pending_.erase(0, pending_.size() - held);
  return text;
}

std::string IncrementalDecoder::finish() {
  std::string text;
  utf8::append_sanitized(pending_, text);
  pending_.clear();
  return text;
}

}  // namespace vigil::llm

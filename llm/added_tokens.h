// Added tokens (tokenizer.json's added_tokens: <|im_start|>, <think>, ...): strings matched in
// the raw text before any other step and never split by BPE.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace vigil::llm {

struct AddedToken {
  int32_t id = -1;
  std::string content;      // UTF-8, as the text holds it
  bool special = false;     // skipped by decode(..., skip_special = true); see Tokenizer::encode
  bool normalized = false;  // matched in the NFC text instead of the raw text
  bool lstrip = false;      // swallows the whitespace before it
  bool rstrip = false;      // swallows the whitespace after it
};

// Finds added tokens in text: the leftmost match, and the longest one there (transformers.js's
// DictionarySplitter, Hugging Face tokenizers' leftmost-longest). Immutable; thread-safe.
class AddedTokenMatcher {
 public:
  struct Match {
    size_t begin = 0;   // byte offset in text
    size_t length = 0;  // bytes; 0: no match
    int32_t id = -1;
  };

  AddedTokenMatcher() = default;
  // tokens' contents must be non-empty.
  explicit AddedTokenMatcher(const std::vector<const AddedToken*>& tokens);

  bool empty() const { return nodes_.size() <= 1; }  // no tokens: find never matches
  // The first match at or after byte offset from; length 0 when there is none.
  Match find(std::string_view text, size_t from) const;

 private:
  struct Node {
    std::vector<std::pair<uint8_t, int32_t>> children;  // byte -> node index, sorted by byte
    int32_t id = -1;                                    // token ending here
  };
  int32_t child(int32_t node, uint8_t byte) const;

  std::vector<Node> nodes_{Node{}};
  std::array<bool, 256> starts_{};
  int only_start_ = -1;  // the first byte of every token when they share one (memchr finds it)
};

}  // namespace vigil::llm

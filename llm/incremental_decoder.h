// Streaming detokenization: ids arrive one at a time from the model and text goes out as soon
// as it is whole. A character whose UTF-8 bytes are spread over several tokens (CJK, emoji) is
// held back until its last byte arrives, so no output ever ends inside a character.
#pragma once

#include <cstdint>
#include <string>

#include "llm/tokenizer.h"

namespace vigil::llm {

// Not thread-safe (one per generation stream). Borrows the tokenizer, which must outlive it.
// The concatenation of every push() and the final finish() equals
// tokenizer.decode(all ids, skip_special), byte for byte.
class IncrementalDecoder {
 public:
  explicit IncrementalDecoder(const Tokenizer& tokenizer, bool skip_special = false);

  // The text that id completes: valid UTF-8, possibly empty, never part of a character.
  std::string push(int32_t id);
  // What is still held back (an unfinished character becomes U+FFFD); resets the stream.
  std::string finish();
  // Bytes held back: the start of a character whose remaining bytes have not arrived (0..3).
  size_t pending_bytes() const { return pending_.size(); }

 private:
  const Tokenizer* tokenizer_;
  bool skip_special_;
  std::string pending_;
};

}  // namespace vigil::llm

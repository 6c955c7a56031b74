// The Unicode facts the Qwen2 pre-tokenizer and the NFC fast path need about a code point, one
// byte of flags looked up in a two-stage table built once from utf8proc's data (Unicode 15.0 in
// Debian 12's libutf8proc 2.8).
#pragma once

#include <cstdint>

namespace vigil::llm {

enum UnicodeFlag : uint8_t {
  kLetter = 1 << 0,      // General_Category L* (regex \p{L})
  kNumber = 1 << 1,      // General_Category N* (regex \p{N}: Nd, Nl, No)
  kWhitespace = 1 << 2,  // the White_Space property (what transformers.js makes of \s)
  kLineBreak = 1 << 3,   // U+000A or U+000D (the pattern's literal [\r\n])
  // NFC leaves any text that has only these code points unchanged, and text around one never
  // interacts with text across it: canonical combining class 0, its own NFC, and never the
  // second code point of a canonical composition.
  kNfcInert = 1 << 4,
};

// The UnicodeFlag bits of code_point (any value up to U+10FFFF; others get 0). Thread-safe.
uint8_t unicode_flags(char32_t code_point);

}  // namespace vigil::llm

// UTF-8 as the tokenizer needs it: decoding code points from text already known to be valid,
// and turning arbitrary bytes into valid UTF-8 the way the WHATWG Encoding Standard's decoder
// does (TextDecoder, and so transformers.js; Python's errors="replace" agrees): every maximal
// subpart of an ill-formed sequence becomes one U+FFFD.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace vigil::llm::utf8 {

inline constexpr char32_t kReplacementCharacter = 0xFFFD;

// The code point starting at text[pos] and its length in bytes (1..4). text must be valid
// UTF-8 and pos < text.size(); anything else is undefined.
inline char32_t decode_valid(std::string_view text, size_t pos, size_t& length) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(text.data()) + pos;
  const unsigned char lead = bytes[0];
  if (lead < 0x80) {
    length = 1;
    return lead;
  }
  if (lead < 0xE0) {
    length = 2;
    return (char32_t(lead & 0x1F) << 6) | (bytes[1] & 0x3F);
  }
  if (lead < 0xF0) {
    length = 3;
    return (char32_t(lead & 0x0F) << 12) | (char32_t(bytes[1] & 0x3F) << 6) | (bytes[2] & 0x3F);
  }
  length = 4;
  return (char32_t(lead & 0x07) << 18) | (char32_t(bytes[1] & 0x3F) << 12) |
         (char32_t(bytes[2] & 0x3F) << 6) | (bytes[3] & 0x3F);
}

// Appends the UTF-8 encoding of a Unicode scalar value (not a surrogate, at most U+10FFFF).
void append(char32_t code_point, std::string& out);

// True when bytes are well-formed UTF-8 (no overlongs, surrogates or values past U+10FFFF).
bool is_valid(std::string_view bytes);

// Appends bytes to out as valid UTF-8, each maximal subpart of an ill-formed sequence replaced
// by U+FFFD, including an incomplete sequence at the very end (WHATWG "UTF-8 decode").
void append_sanitized(std::string_view bytes, std::string& out);

// Length of the longest suffix of bytes that is an incomplete but so far well-formed sequence
// (0..3 bytes): what a streaming decoder must hold back until more bytes arrive.
size_t incomplete_suffix_length(std::string_view bytes);

}  // namespace vigil::llm::utf8

// GPT-2's byte-level alphabet: every byte stands for one printable code point (bytes_to_unicode),
// so a vocabulary of byte strings can be written as text. tokenizer.json stores tokens in this
// alphabet ("Ġhello" is " hello"); the tokenizer works on the raw bytes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace vigil::llm {

// The code point that stands for byte (U+0021..U+0143).
char32_t byte_to_code_point(uint8_t byte);

// The byte that code_point stands for, or -1 when it is not in the alphabet.
int code_point_to_byte(char32_t code_point);

// A raw byte string written in the alphabet, as UTF-8 ("\x20hi" -> "Ġhi").
std::string bytes_to_token_text(std::string_view bytes);

// The raw bytes a token in the alphabet stands for; nullopt when token_text is not valid UTF-8
// or holds a code point outside the alphabet.
std::optional<std::string> token_text_to_bytes(std::string_view token_text);

}  // namespace vigil::llm

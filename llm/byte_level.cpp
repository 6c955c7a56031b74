#include "llm/byte_level.h"

#include <array>

#include "llm/utf8.h"

namespace vigil::llm {
namespace {

// bytes_to_unicode(): the printable bytes '!'..'~', '¡'..'¬' and '®'..'ÿ' stand for themselves;
// the other 68 bytes, in order, take U+0100 onwards.
struct Alphabet {
  std::array<char32_t, 256> code_point_of_byte{};
  std::array<int16_t, 0x144> byte_of_code_point{};

  Alphabet() {
    byte_of_code_point.fill(-1);
    char32_t next_extra = 0x100;
    for (int byte = 0; byte < 256; ++byte) {
      const bool printable = (byte >= '!' && byte <= '~') || (byte >= 0xA1 && byte <= 0xAC) ||
                             (byte >= 0xAE && byte <= 0xFF);
      const char32_t code_point = printable ? static_cast<char32_t>(byte) : next_extra++;
      code_point_of_byte[byte] = code_point;
      byte_of_code_point[code_point] = static_cast<int16_t>(byte);
    }
  }
};

const Alphabet& alphabet() {
  static const Alphabet instance;
  return instance;
}

}  // namespace

char32_t byte_to_code_point(uint8_t byte) {
  return alphabet().code_point_of_byte[byte];
}

int code_point_to_byte(char32_t code_point) {
  if (code_point >= alphabet().byte_of_code_point.size()) return -1;
  return alphabet().byte_of_code_point[code_point];
}

std::string bytes_to_token_text(std::string_view bytes) {
  std::string text;
  text.reserve(bytes.size() * 2);
  for (const char byte : bytes) utf8::append(byte_to_code_point(static_cast<uint8_t>(byte)), text);
  return text;
}

std::optional<std::string> token_text_to_bytes(std::string_view token_text) {
  if (!utf8::is_valid(token_text)) return std::nullopt;
  std::string bytes;
  bytes.reserve(token_text.size());
  size_t pos = 0;
  while (pos < token_text.size()) {
    size_t length = 0;
    const int byte = code_point_to_byte(utf8::decode_valid(token_text, pos, length));
    if (byte < 0) return std::nullopt;
    bytes.push_back(static_cast<char>(byte));
    pos += length;
  }
  return bytes;
}

}  // namespace vigil::llm

#include "llm/byte_level.h"

#include <gtest/gtest.h>

#include <set>

namespace vigil::llm {
namespace {

TEST(ByteLevel, EveryByteHasItsOwnPrintableCodePoint) {
  std::set<char32_t> seen;
  for (int byte = 0; byte < 256; ++byte) {
    const char32_t code_point = byte_to_code_point(static_cast<uint8_t>(byte));
    EXPECT_TRUE(seen.insert(code_point).second);
    EXPECT_EQ(code_point_to_byte(code_point), byte);
  }
  EXPECT_EQ(byte_to_code_point(' '), U'\u0120');   // Ġ
  EXPECT_EQ(byte_to_code_point('\n'), U'\u010A');  // Ċ
  EXPECT_EQ(byte_to_code_point('A'), U'A');
  EXPECT_EQ(byte_to_code_point(0xAD), U'\u0143');  // the last of the 68 shifted bytes
  EXPECT_EQ(code_point_to_byte(U'\u20AC'), -1);
}

TEST(ByteLevel, TokenTextAndBytesConvertBothWays) {
  EXPECT_EQ(bytes_to_token_text(" hello\n"), "\xC4\xA0hello\xC4\x8A");
  EXPECT_EQ(token_text_to_bytes("\xC4\xA0world"), std::optional<std::string>(" world"));
  // 你 is E4 BD A0: "ä½ł" (A0, no-break space, is not printable and moves to U+0142).
  EXPECT_EQ(bytes_to_token_text("\xE4\xBD\xA0"), "\xC3\xA4\xC2\xBD\xC5\x82");
  EXPECT_EQ(token_text_to_bytes("\xC3\xA4\xC2\xBD\xC5\x82"),
            std::optional<std::string>("\xE4\xBD\xA0"));
  EXPECT_EQ(token_text_to_bytes("\xE2\x82\xAC"), std::nullopt);  // € is not in the alphabet
  EXPECT_EQ(token_text_to_bytes("\xFF"), std::nullopt);          // not UTF-8
}

}  // namespace
}  // namespace vigil::llm

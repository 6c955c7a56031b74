#include "llm/utf8.h"

#include <gtest/gtest.h>

namespace vigil::llm::utf8 {
namespace {

const std::string kFffd = "\xEF\xBF\xBD";

std::string sanitized(const std::string& bytes) {
  std::string out;
  append_sanitized(bytes, out);
  return out;
}

TEST(Utf8, ValidTextIsUnchanged) {
  for (const std::string text : {"", "plain ASCII", "caf\xC3\xA9", "\xE4\xBD\xA0\xE5\xA5\xBD",
                                 "\xF0\x9F\x98\x80", "\xF4\x8F\xBF\xBF", "\xEF\xBB\xBF"}) {
    EXPECT_TRUE(is_valid(text));
    EXPECT_EQ(sanitized(text), text);
  }
}

// One U+FFFD per maximal subpart, as the WHATWG Encoding Standard (TextDecoder) decodes.
TEST(Utf8, IllFormedSequencesBecomeOneReplacementPerMaximalSubpart) {
  const std::pair<std::string, std::string> cases[] = {
      {"\x80", kFffd},
      {"a\xBF"
       "b",
       "a" + kFffd + "b"},
      {"\xE4\xBD", kFffd},  // truncated 3-byte sequence
      {"\xE4\xBDx", kFffd + "x"},
      {"\xF0\x9F\x98", kFffd},                              // truncated 4-byte sequence
      {"\xC0\xAF", kFffd + kFffd},                          // overlong
      {"\xE0\x80\xAF", kFffd + kFffd + kFffd},              // overlong
      {"\xED\xA0\x80", kFffd + kFffd + kFffd},              // surrogate
      {"\xF4\x90\x80\x80", kFffd + kFffd + kFffd + kFffd},  // past U+10FFFF
      {"\xF5\x80", kFffd + kFffd},
      {"\xFF\xFE", kFffd + kFffd},
      {"\xE2\x28\xA1", kFffd + "(" + kFffd},
      {"\xC2\xC2\xA0", kFffd + "\xC2\xA0"},
      {"caf\xE9", "caf" + kFffd},
  };
  for (const auto& [bytes, expected] : cases) {
    EXPECT_FALSE(is_valid(bytes));
    EXPECT_EQ(sanitized(bytes), expected);
  }
}

TEST(Utf8, IncompleteSuffixIsOnlyAWellFormedPrefix) {
  EXPECT_EQ(incomplete_suffix_length(""), 0u);
  EXPECT_EQ(incomplete_suffix_length("abc"), 0u);
  EXPECT_EQ(incomplete_suffix_length("a\xE4"), 1u);
  EXPECT_EQ(incomplete_suffix_length("a\xE4\xBD"), 2u);
  EXPECT_EQ(incomplete_suffix_length("\xF0\x9F\x98"), 3u);
  EXPECT_EQ(incomplete_suffix_length("\xF0\x9F\x98\x80"), 0u);
  EXPECT_EQ(incomplete_suffix_length("\xE4\xBD\xA0"), 0u);
  EXPECT_EQ(incomplete_suffix_length("\xED\xA0"), 0u);  // would be a surrogate
  EXPECT_EQ(incomplete_suffix_length("\xE0\x80"), 0u);  // would be overlong
  EXPECT_EQ(incomplete_suffix_length("\xF4\x90"), 0u);  // would pass U+10FFFF
  EXPECT_EQ(incomplete_suffix_length("\xC0"), 0u);      // never a lead byte
  EXPECT_EQ(incomplete_suffix_length("\x80\x80"), 0u);
}

TEST(Utf8, AppendAndDecodeRoundTrip) {
  for (const char32_t code_point :
       {0x0u, 0x7Fu, 0x80u, 0x7FFu, 0x800u, 0xFFFDu, 0x10000u, 0x1F600u, 0x10FFFFu}) {
    std::string text;
    append(code_point, text);
    ASSERT_TRUE(is_valid(text));
    size_t length = 0;
    EXPECT_EQ(decode_valid(text, 0, length), code_point);
    EXPECT_EQ(length, text.size());
  }
}

}  // namespace
}  // namespace vigil::llm::utf8

#include "llm/pretokenizer.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace vigil::llm {
namespace {

std::vector<std::string> split(const std::string& text) {
  std::vector<std::string_view> pieces;
  split_qwen2(text, pieces);
  return std::vector<std::string>(pieces.begin(), pieces.end());
}

using Pieces = std::vector<std::string>;

// Expected pieces are what JavaScript's String.prototype.match gives with the pattern as
// transformers.js compiles it.
TEST(Qwen2PreTokenizer, SplitsLikeTheReferenceRegex) {
  const std::pair<std::string, Pieces> cases[] = {
      {"Hello world", {"Hello", " world"}},
      {"I'm DON'T we'Re", {"I", "'m", " DON", "'T", " we", "'Re"}},
      {"'sup '\xC5\xBF", {"'s", "up", " '", "\xC5\xBF"}},  // ſ is no 's': ASCII-only folding
      {"12345", {"1", "2", "3", "4", "5"}},
      {"a  b", {"a", " ", " b"}},
      {"a\n\nb", {"a", "\n\n", "b"}},
      {"a \n b", {"a", " \n", " b"}},
      {"x   ", {"x", "   "}},
      {"hello!!!\n\nworld", {"hello", "!!!\n\n", "world"}},
      {" ?!", {" ?!"}},
      {"\t(", {"\t", "("}},
      {"\xE4\xB8\xAD\xE6\x96\x87"
       "abc\xEF\xBC\x8C\xE5\x86\x8D\xE8\xA7\x81",
       {"\xE4\xB8\xAD\xE6\x96\x87"
        "abc",
        "\xEF\xBC\x8C\xE5\x86\x8D\xE8\xA7\x81"}},
      {"na\xC3\xAFve caf\xC3\xA9", {"na\xC3\xAFve", " caf\xC3\xA9"}},
      // हिन्दी: vowel signs and the virama are marks, not letters.
      {"\xE0\xA4\xB9\xE0\xA4\xBF\xE0\xA4\xA8\xE0\xA5\x8D\xE0\xA4\xA6\xE0\xA5\x80",
       {"\xE0\xA4\xB9", "\xE0\xA4\xBF\xE0\xA4\xA8", "\xE0\xA5\x8D\xE0\xA4\xA6", "\xE0\xA5\x80"}},
      {"$100.00", {"$", "1", "0", "0", ".", "0", "0"}},
      {"  \n\t x", {"  \n", "\t", " x"}},
      {"a\xE3\x80\x80\xE3\x80\x80"
       "b",
       {"a", "\xE3\x80\x80",
        "\xE3\x80\x80"
        "b"}},
      {"a\xC2\x85"
       "b",
       {"a",
        "\xC2\x85"
        "b"}},  // U+0085 is White_Space
      {"x\r\n\r\n  y", {"x", "\r\n\r\n", " ", " y"}},
      {"'''", {"'''"}},
      {"don\xE2\x80\x99t", {"don", "\xE2\x80\x99t"}},
      {"1\xEF\xB8\x8F\xE2\x83\xA3", {"1", "\xEF\xB8\x8F\xE2\x83\xA3"}},
      {"\xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD!", {"\xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD!"}},
      {"a\xC2\xA0 b", {"a", "\xC2\xA0", " b"}},
      {"\xC2\xA0\xC2\xA0", {"\xC2\xA0\xC2\xA0"}},
      {"<|im_start|>", {"<|", "im", "_start", "|>"}},
      {"", {}},
  };
  for (const auto& [text, expected] : cases) EXPECT_EQ(split(text), expected) << text;
}

TEST(Qwen2PreTokenizer, PiecesCoverTheText) {
  const std::string text = "Mixed: \xE4\xBD\xA0\xE5\xA5\xBD 123\r\n\t  'll\xF0\x9F\x98\x80  end";
  std::string joined;
  for (const std::string& piece : split(text)) {
    EXPECT_FALSE(piece.empty());
    joined += piece;
  }
  EXPECT_EQ(joined, text);
}

}  // namespace
}  // namespace vigil::llm

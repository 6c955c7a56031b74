#include "llm/nfc.h"

#include <gtest/gtest.h>
#include <utf8proc.h>

#include <cstdlib>
#include <memory>

#include "llm/unicode_class.h"
#include "llm/utf8.h"
#include "tests/llm/tokenizer_corpus.h"

namespace vigil::llm {
namespace {

std::string nfc(const std::string& text) {
  std::string out;
  append_nfc(text, out);
  return out;
}

std::string utf8proc_nfc(const std::string& text) {
  utf8proc_uint8_t* result = nullptr;
  const utf8proc_ssize_t length =
      utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()),
                   static_cast<utf8proc_ssize_t>(text.size()), &result,
                   static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE));
  std::unique_ptr<utf8proc_uint8_t, decltype(&std::free)> owned(result, &std::free);
  return length < 0 ? "(error)" : std::string(reinterpret_cast<const char*>(result), length);
}

TEST(Nfc, ComposesReordersAndMapsSingletons) {
  EXPECT_EQ(nfc("Cafe\xCC\x81"), "Caf\xC3\xA9");
  EXPECT_EQ(nfc("a\xCC\x82\xCC\xA3"), "\xE1\xBA\xAD");  // ậ: marks reordered, then composed
  EXPECT_EQ(nfc("\xE2\x84\xAB"), "\xC3\x85");           // ANGSTROM SIGN -> Å
  EXPECT_EQ(nfc("\xE1\x84\x92\xE1\x85\xA1\xE1\x86\xAB"), "\xED\x95\x9C");  // jamo -> 한
  EXPECT_EQ(nfc("\xE0\xA5\x98"), "\xE0\xA4\x95\xE0\xA4\xBC");  // क़ is excluded from composing
  EXPECT_EQ(nfc("already NFC: caf\xC3\xA9 \xE4\xBD\xA0\xE5\xA5\xBD"),
            "already NFC: caf\xC3\xA9 \xE4\xBD\xA0\xE5\xA5\xBD");
  EXPECT_TRUE(is_nfc_inert("plain \xE4\xBD\xA0\xE5\xA5\xBD \xF0\x9F\x98\x80"));
  EXPECT_FALSE(is_nfc_inert("e\xCC\x81"));
}

// The flag that lets NFC skip text is sound for every code point: an inert code point is its
// own NFC with combining class 0, and never follows the first code point of a canonical
// decomposition (so it never composes with what precedes it).
TEST(Nfc, InertFlagIsSoundForEveryCodePoint) {
  size_t inert = 0;
  for (char32_t c = 0; c < 0x110000; ++c) {
    if (c >= 0xD800 && c <= 0xDFFF) continue;
    const bool is_inert = (unicode_flags(c) & kNfcInert) != 0;
    if (is_inert) {
      ++inert;
      std::string text;
      utf8::append(c, text);
      ASSERT_EQ(utf8proc_nfc(text), text) << std::hex << uint32_t(c);
      ASSERT_EQ(utf8proc_get_property(static_cast<utf8proc_int32_t>(c))->combining_class, 0)
          << std::hex << uint32_t(c);
    }
    utf8proc_int32_t decomposed[32];
    int boundclass = 0;
    const utf8proc_ssize_t count =
        utf8proc_decompose_char(static_cast<utf8proc_int32_t>(c), decomposed, 32,
                                static_cast<utf8proc_option_t>(UTF8PROC_DECOMPOSE), &boundclass);
    ASSERT_GE(count, 1);
    for (utf8proc_ssize_t i = 1; i < count; ++i) {
      ASSERT_EQ(unicode_flags(static_cast<char32_t>(decomposed[i])) & kNfcInert, 0)
          << std::hex << uint32_t(decomposed[i]) << " in the decomposition of " << uint32_t(c);
    }
  }
  EXPECT_GT(inert, 250000u);  // the fast path covers nearly everything assigned
}

// Chunked normalization agrees with normalizing whole strings, over the test corpus.
TEST(Nfc, MatchesUtf8procOnTheCorpus) {
  for (const testing::CorpusEntry& entry : testing::make_tokenizer_corpus(99, 3000)) {
    if (!utf8::is_valid(entry.text)) continue;
    ASSERT_EQ(nfc(entry.text), utf8proc_nfc(entry.text)) << testing::escape_bytes(entry.text);
  }
}

}  // namespace
}  // namespace vigil::llm

// The real Qwen tokenizer: known ids, the token tables, special-token handling, invalid input.
#include "llm/tokenizer.h"

#include <gtest/gtest.h>

#include <thread>

#include "tests/llm/qwen_tokenizer.h"

namespace vigil::llm {
namespace {

class QwenTokenizer : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(testing::missing_reference(), ""); }
  const Tokenizer& tokenizer() const { return testing::qwen_tokenizer(); }
};

TEST_F(QwenTokenizer, KnownIds) {
  // As transformers.js 4.3.1 gives them.
  EXPECT_EQ(
      tokenizer().encode("Hello world <|im_start|>user\n12345 \xE4\xBD\xA0\xE5\xA5\xBD  \n\n x"),
      (std::vector<int32_t>{9707, 1879, 220, 151644, 872, 198, 16, 17, 18, 19, 20, 220, 108386,
                            18611, 856}));
  EXPECT_TRUE(tokenizer().encode("").empty());
}

TEST_F(QwenTokenizer, Tables) {
  EXPECT_EQ(tokenizer().vocab_size(), 151669u);
  EXPECT_EQ(tokenizer().token_to_id("\xC4\xA0world"), 1879);  // "Ġworld"
  EXPECT_EQ(tokenizer().id_to_token(1879), std::optional<std::string>("\xC4\xA0world"));
  EXPECT_EQ(tokenizer().token_bytes(1879), " world");
  EXPECT_EQ(tokenizer().token_to_id("<|im_end|>"), 151645);
  EXPECT_EQ(tokenizer().token_to_id("no such token"), std::nullopt);
  EXPECT_EQ(tokenizer().id_to_token(-1), std::nullopt);
  EXPECT_EQ(tokenizer().id_to_token(151669), std::nullopt);
  std::vector<int32_t> specials;
  for (int32_t id = 151643; id <= 151656; ++id) specials.push_back(id);
  EXPECT_EQ(tokenizer().special_ids(), specials);
  EXPECT_TRUE(tokenizer().is_added(151667));  // <think>
  EXPECT_FALSE(tokenizer().is_special(151667));
  EXPECT_EQ(tokenizer().added_tokens().size(), 26u);
}

TEST_F(QwenTokenizer, SpecialTokensAsPlainText) {
  const std::string text = "a<|im_start|>b<think>";
  const std::vector<int32_t> allowed = tokenizer().encode(text);
  EXPECT_EQ(std::count(allowed.begin(), allowed.end(), 151644), 1);
  const std::vector<int32_t> plain = tokenizer().encode(text, false);
  EXPECT_EQ(std::count(plain.begin(), plain.end(), 151644), 0);
  EXPECT_EQ(plain.back(), 151667);  // <think> is not special: still one token
  EXPECT_EQ(tokenizer().decode(plain), text);
}

TEST_F(QwenTokenizer, DecodeSkipsSpecialTokensOnRequest) {
  const std::vector<int32_t> ids = tokenizer().encode("<|im_start|>hi<|im_end|><think>");
  EXPECT_EQ(tokenizer().decode(ids), "<|im_start|>hi<|im_end|><think>");
  EXPECT_EQ(tokenizer().decode(ids, true), "hi<think>");
  EXPECT_EQ(tokenizer().decode({-5, 151700, 9707}), "Hello");  // ids without a token
}

TEST_F(QwenTokenizer, InvalidUtf8ReadsAsReplacementCharacters) {
  EXPECT_EQ(tokenizer().encode("a\xE4\xBD"
                               "b"),
            tokenizer().encode("a\xEF\xBF\xBD"
                               "b"));
  EXPECT_EQ(tokenizer().encode("\xED\xA0\x80"),
            tokenizer().encode("\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"));
  EXPECT_EQ(tokenizer().decode(tokenizer().encode("x\xFF")), "x\xEF\xBF\xBD");
  EXPECT_EQ(tokenizer().encode(std::string("a\0b", 3)).size(), 3u);
}

TEST_F(QwenTokenizer, RepeatedRareWordsComeFromTheCache) {
  // "Zzyzxqua" and the run of 100 spaces are no single tokens: merged once, then cached.
  const std::string text = "Zzyzxqua" + std::string(100, ' ') + "x";
  const std::vector<int32_t> first = tokenizer().encode(text);
  const TokenizerCounters middle = tokenizer().counters();
  EXPECT_EQ(tokenizer().encode(text), first);
  const TokenizerCounters after = tokenizer().counters();
  EXPECT_EQ(after.bpe_cache_misses, middle.bpe_cache_misses);  // nothing merged the second time
  EXPECT_EQ(after.bpe_cache_hits - middle.bpe_cache_hits, 2u);
}

TEST_F(QwenTokenizer, ConcurrentEncodesAgree) {
  const std::string text =
      "Concurrent \xE4\xBD\xA0\xE5\xA5\xBD encoding, 12345, \xF0\x9F\x98\x80 and <|im_end|>\n";
  std::string long_text;
  for (int i = 0; i < 200; ++i) long_text += text;
  const std::vector<int32_t> expected = tokenizer().encode(long_text);
  std::vector<std::vector<int32_t>> results(4);
  std::vector<std::thread> threads;
  for (auto& result : results) {
    threads.emplace_back([&] { result = tokenizer().encode(long_text); });
  }
  for (auto& thread : threads) thread.join();
  for (const auto& result : results) EXPECT_EQ(result, expected);
}

}  // namespace
}  // namespace vigil::llm

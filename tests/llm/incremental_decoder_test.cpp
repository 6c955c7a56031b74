#include "llm/incremental_decoder.h"

#include <gtest/gtest.h>

#include "llm/byte_level.h"
#include "llm/utf8.h"
#include "tests/llm/qwen_tokenizer.h"

namespace vigil::llm {
namespace {

class IncrementalDecoderTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(testing::missing_reference(), ""); }
  const Tokenizer& tokenizer() const { return testing::qwen_tokenizer(); }
  // The id of the byte-level token for one raw byte.
  int32_t byte_id(unsigned char byte) const {
    return *tokenizer().token_to_id(bytes_to_token_text(std::string(1, static_cast<char>(byte))));
  }
};

TEST_F(IncrementalDecoderTest, HoldsBackACharacterUntilItsLastByte) {
  // 😀 is F0 9F 98 80, one byte token each.
  IncrementalDecoder decoder(tokenizer());
  EXPECT_EQ(decoder.push(byte_id(0xF0)), "");
  EXPECT_EQ(decoder.push(byte_id(0x9F)), "");
  EXPECT_EQ(decoder.push(byte_id(0x98)), "");
  EXPECT_EQ(decoder.pending_bytes(), 3u);
  EXPECT_EQ(decoder.push(byte_id(0x80)), "\xF0\x9F\x98\x80");
  EXPECT_EQ(decoder.pending_bytes(), 0u);
  EXPECT_EQ(decoder.push(9707), "Hello");
  EXPECT_EQ(decoder.finish(), "");
}

TEST_F(IncrementalDecoderTest, EmojiAndCjkStreamsYieldWholeCharacters) {
  const std::string text =
      "\xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x91\xA7 family, "
      "\xF0\x9F\x87\xAF\xF0\x9F\x87\xB5 flag, \xE8\xA7\x86\xE9\xA2\x91\xE7\x90\x86\xE8\xA7\xA3"
      "\xE6\x98\xAF\xE4\xB8\x80\xE4\xB8\xAA\xE5\x9B\xB0\xE9\x9A\xBE\xE7\x9A\x84\xE9\x97\xAE\xE9\xA2"
      "\x98"
      " \xF0\xA0\x80\x80\xF0\xA0\x80\x81 \xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD";
  const std::vector<int32_t> ids = tokenizer().encode(text);
  IncrementalDecoder decoder(tokenizer());
  std::string streamed;
  size_t empty_pushes = 0;
  for (const int32_t id : ids) {
    const std::string piece = decoder.push(id);
    ASSERT_TRUE(utf8::is_valid(piece));
    empty_pushes += piece.empty();
    streamed += piece;
  }
  streamed += decoder.finish();
  EXPECT_EQ(streamed, text);
  EXPECT_GT(empty_pushes, 0u);  // some tokens do end inside a character
}

TEST_F(IncrementalDecoderTest, AddedTokenOrFinishEndsAnUnfinishedCharacter) {
  IncrementalDecoder decoder(tokenizer());
  EXPECT_EQ(decoder.push(byte_id(0xE4)), "");
  EXPECT_EQ(decoder.push(byte_id(0xBD)), "");
  EXPECT_EQ(decoder.push(151645), "\xEF\xBF\xBD<|im_end|>");
  EXPECT_EQ(decoder.push(byte_id(0xA0)), "\xEF\xBF\xBD");  // a stray continuation byte
  EXPECT_EQ(decoder.push(byte_id(0xE4)), "");
  EXPECT_EQ(decoder.finish(), "\xEF\xBF\xBD");
  EXPECT_EQ(decoder.pending_bytes(), 0u);
  // The same ids decoded at once give the same text.
  EXPECT_EQ(
      tokenizer().decode({byte_id(0xE4), byte_id(0xBD), 151645, byte_id(0xA0), byte_id(0xE4)}),
      "\xEF\xBF\xBD<|im_end|>\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST_F(IncrementalDecoderTest, SkippedSpecialTokenDoesNotSplitACharacter) {
  IncrementalDecoder decoder(tokenizer(), true);
  std::string streamed;
  for (const int32_t id : {byte_id(0xE4), byte_id(0xBD), 151645, byte_id(0xA0), 151667}) {
    streamed += decoder.push(id);
  }
  streamed += decoder.finish();
  EXPECT_EQ(streamed, "\xE4\xBD\xA0<think>");
  EXPECT_EQ(tokenizer().decode({byte_id(0xE4), byte_id(0xBD), 151645, byte_id(0xA0), 151667}, true),
            streamed);
}

}  // namespace
}  // namespace vigil::llm

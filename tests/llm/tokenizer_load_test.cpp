// Loading: clear typed errors for bad files, and the parts of tokenizer.json that the real
// Qwen file does not exercise (lstrip, rstrip, normalized added tokens), on a small tokenizer.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>

#include "llm/byte_level.h"
#include "llm/pretokenizer.h"
#include "llm/tokenizer.h"
#include "tests/support/test_support.h"

namespace vigil::llm {
namespace {

using Json = nlohmann::json;
using Reason = TokenizerLoadError::Reason;

// A byte-level BPE with the 256 byte tokens (ids 0..255), "Ġt" and "he", merges for them, and
// added tokens from id 1000.
Json small_tokenizer() {
  Json vocab = Json::object();
  for (int byte = 0; byte < 256; ++byte) {
    vocab[bytes_to_token_text(std::string(1, static_cast<char>(byte)))] = byte;
  }
  vocab["\xC4\xA0t"] = 256;  // "Ġt"
  vocab["he"] = 257;
  const Json byte_level = {{"type", "ByteLevel"},
                           {"add_prefix_space", false},
                           {"trim_offsets", false},
                           {"use_regex", false}};
  return {
      {"version", "1.0"},
      {"added_tokens",
       {{{"id", 1000}, {"content", "<|end|>"}, {"special", true}, {"normalized", false}},
        {{"id", 1001}, {"content", "<pad>"}, {"special", false}, {"normalized", false}}}},
      {"normalizer", {{"type", "NFC"}}},
      {"pre_tokenizer",
       {{"type", "Sequence"},
        {"pretokenizers",
         {{{"type", "Split"},
           {"pattern", {{"Regex", std::string(kQwen2SplitPattern)}}},
           {"behavior", "Isolated"},
           {"invert", false}},
          byte_level}}}},
      {"post_processor", byte_level},
      {"decoder", byte_level},
      {"model",
       {{"type", "BPE"},
        {"dropout", nullptr},
        {"unk_token", nullptr},
        {"byte_fallback", false},
        {"vocab", vocab},
        {"merges", {"\xC4\xA0 t", {"h", "e"}}}}},
  };
}

// The error that loading json (written to a file) throws; fails the test when none is thrown.
TokenizerLoadError load_error(const Json& json) {
  testing::TempDir dir;
  const std::string path = dir.file("tokenizer.json");
  std::ofstream(path) << json.dump();
  try {
    Tokenizer::load(path);
  } catch (const TokenizerLoadError& error) {
    EXPECT_EQ(error.path(), path);
    EXPECT_NE(std::string(error.what()).find(path), std::string::npos) << error.what();
    return error;
  }
  ADD_FAILURE() << "no TokenizerLoadError for " << json.dump().substr(0, 200);
  return TokenizerLoadError(Reason::kInvalidValue, path, "none");
}

void expect_error(const Json& json, Reason reason, const std::string& mentions) {
  const TokenizerLoadError error = load_error(json);
  EXPECT_EQ(static_cast<int>(error.reason()), static_cast<int>(reason)) << error.what();
  EXPECT_NE(std::string(error.what()).find(mentions), std::string::npos) << error.what();
}

TEST(TokenizerLoad, SmallTokenizerLoadsAndEncodes) {
  const Tokenizer tokenizer = Tokenizer::from_json_text(small_tokenizer().dump(), "small");
  EXPECT_EQ(tokenizer.encode("he t"), (std::vector<int32_t>{257, 256}));
  EXPECT_EQ(tokenizer.encode("x<|end|>"), (std::vector<int32_t>{'x', 1000}));
  EXPECT_EQ(tokenizer.decode({257, 256, 1000}), "he t<|end|>");
  EXPECT_EQ(tokenizer.vocab_size(), 1002u);
  EXPECT_EQ(tokenizer.id_to_token(500), std::nullopt);  // a gap in the ids
  EXPECT_EQ(tokenizer.decode({500, 257}), "he");
}

TEST(TokenizerLoad, MissingFileNamesThePath) {
  try {
    Tokenizer::load("/nonexistent/tokenizer.json");
    FAIL() << "no error";
  } catch (const TokenizerLoadError& error) {
    EXPECT_EQ(error.reason(), Reason::kUnreadable);
    EXPECT_NE(std::string(error.what()).find("/nonexistent/tokenizer.json"), std::string::npos);
    EXPECT_NE(std::string(error.what()).find("No such file"), std::string::npos) << error.what();
  }
  testing::TempDir dir;
  EXPECT_THROW(Tokenizer::load(dir.path()), TokenizerLoadError);  // a folder
}

TEST(TokenizerLoad, MalformedJson) {
  testing::TempDir dir;
  for (const std::string text : {"", "{", "{\"model\": {\"vocab\": {\"a\": 0,}}}", "[1, 2"}) {
    std::ofstream(dir.file("tokenizer.json")) << text;
    try {
      Tokenizer::load(dir.file("tokenizer.json"));
      ADD_FAILURE() << "no error for " << text;
    } catch (const TokenizerLoadError& error) {
      EXPECT_EQ(error.reason(), Reason::kMalformedJson) << error.what();
      EXPECT_NE(std::string(error.what()).find("malformed JSON"), std::string::npos);
    }
  }
}

TEST(TokenizerLoad, MissingOrInvalidFields) {
  Json json = small_tokenizer();
  json.erase("model");
  expect_error(json, Reason::kMissingField, "'model'");

  json = small_tokenizer();
  json["model"].erase("vocab");
  expect_error(json, Reason::kMissingField, "model.vocab");

  json = small_tokenizer();
  json["model"].erase("merges");
  expect_error(json, Reason::kMissingField, "model.merges");

  json = small_tokenizer();
  json["model"]["vocab"] = Json::array();
  expect_error(json, Reason::kInvalidValue, "model.vocab");

  json = small_tokenizer();
  json["model"]["vocab"]["he"] = "257";
  expect_error(json, Reason::kInvalidValue, "model.vocab[\"he\"]");

  json = small_tokenizer();
  json["model"]["vocab"]["\xE2\x82\xAC"] = 300;  // € is not a byte-level token
  expect_error(json, Reason::kInvalidValue, "byte-level alphabet");

  json = small_tokenizer();
  json["model"]["vocab"]["xy"] = 257;
  expect_error(json, Reason::kInvalidValue, "id 257");

  json = small_tokenizer();
  json["model"]["merges"].push_back("x y");  // "xy" is not a token
  expect_error(json, Reason::kInvalidValue, "model.merges[2]");

  json = small_tokenizer();
  json["model"]["merges"].push_back("xyz");
  expect_error(json, Reason::kInvalidValue, "model.merges[2]");

  json = small_tokenizer();
  json["added_tokens"][0].erase("content");
  expect_error(json, Reason::kInvalidValue, "added_tokens[0].content");

  json = small_tokenizer();
  json["added_tokens"][1]["id"] = 2000000000;
  expect_error(json, Reason::kInvalidValue, "token id 2000000000");

  json = small_tokenizer();
  json["added_tokens"][1]["id"] = -4;
  expect_error(json, Reason::kInvalidValue, "added_tokens[1].id");
}

TEST(TokenizerLoad, StagesOtherThanQwen2sAreRefused) {
  Json json = small_tokenizer();
  json["normalizer"] = {{"type", "NFKC"}};
  expect_error(json, Reason::kUnsupported, "NFKC");

  json = small_tokenizer();
  json["pre_tokenizer"] = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}};
  expect_error(json, Reason::kUnsupported, "pre_tokenizer");

  json = small_tokenizer();
  json["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "\\p{N}{1,3}";
  expect_error(json, Reason::kUnsupported, "pre_tokenizer");

  json = small_tokenizer();
  json["model"]["type"] = "WordPiece";
  expect_error(json, Reason::kUnsupported, "WordPiece");

  json = small_tokenizer();
  json["model"]["byte_fallback"] = true;
  expect_error(json, Reason::kUnsupported, "byte_fallback");

  json = small_tokenizer();
  json["decoder"] = {{"type", "Metaspace"}};
  expect_error(json, Reason::kUnsupported, "Metaspace");

  json = small_tokenizer();
  json["post_processor"] = {{"type", "TemplateProcessing"}};
  expect_error(json, Reason::kUnsupported, "TemplateProcessing");
}

// transformers.js semantics for the added-token options Qwen's file leaves off: lstrip and
// rstrip swallow JavaScript-trim whitespace beside the token; normalized tokens are matched
// in the NFC text.
TEST(TokenizerLoad, AddedTokenStripAndNormalizedOptions) {
  Json json = small_tokenizer();
  json["added_tokens"].push_back({{"id", 1002},
                                  {"content", "<s>"},
                                  {"lstrip", true},
                                  {"rstrip", true},
                                  {"normalized", false}});
  json["added_tokens"].push_back({{"id", 1003}, {"content", "caf\xC3\xA9"}, {"normalized", true}});
  const Tokenizer tokenizer = Tokenizer::from_json_text(json.dump(), "small");
  EXPECT_EQ(tokenizer.encode("x \t<s>\n y"), (std::vector<int32_t>{'x', 1002, 'y'}));
  EXPECT_EQ(tokenizer.encode("x<s>y"), (std::vector<int32_t>{'x', 1002, 'y'}));
  // Normalized: "cafe" + U+0301 becomes "café" first, and then matches.
  EXPECT_EQ(tokenizer.encode("cafe\xCC\x81!"), (std::vector<int32_t>{1003, '!'}));
  EXPECT_FALSE(tokenizer.is_special(1003));
  // Special tokens are plain text when not allowed; non-special added tokens still match.
  const std::vector<int32_t> plain = tokenizer.encode("<|end|><pad>", false);
  EXPECT_EQ(plain.back(), 1001);
  EXPECT_EQ(tokenizer.decode(plain), "<|end|><pad>");
  EXPECT_EQ(std::count(plain.begin(), plain.end(), 1000), 0);
}

}  // namespace
}  // namespace vigil::llm

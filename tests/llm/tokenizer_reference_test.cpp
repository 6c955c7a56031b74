// Golden test: the ids of every corpus string, and the text decoded back, are identical to
// those of transformers.js (run in node by reference_tokenize.mjs on the same strings).
#include <gtest/gtest.h>

#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "llm/incremental_decoder.h"
#include "llm/nfc.h"
#include "llm/utf8.h"
#include "tests/llm/qwen_tokenizer.h"
#include "tests/llm/tokenizer_corpus.h"
#include "tests/support/test_support.h"

namespace vigil::testing {
namespace {

constexpr uint64_t kCorpusSeed = 20240611;
constexpr size_t kCorpusSize = 12000;

std::string to_hex(const std::string& bytes) {
  static const char kDigits[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(bytes.size() * 2);
  for (const char c : bytes) {
    hex += kDigits[static_cast<unsigned char>(c) >> 4];
    hex += kDigits[static_cast<unsigned char>(c) & 15];
  }
  return hex;
}

std::string from_hex(const std::string& hex) {
  std::string bytes;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    bytes += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  }
  return bytes;
}

std::string ids_text(const std::vector<int32_t>& ids, size_t limit = 40) {
  std::string text = "[";
  for (size_t i = 0; i < ids.size() && i < limit; ++i)
    text += (i ? " " : "") + std::to_string(ids[i]);
  if (ids.size() > limit) text += " ...(" + std::to_string(ids.size()) + " ids)";
  return text + "]";
}

struct DecodeCase {
  std::vector<int32_t> ids;
  bool skip_special = false;
};

// Id sequences that cut characters apart, put added tokens between their bytes, pick random
// tokens, and name ids that have no token.
std::vector<DecodeCase> make_decode_cases(const std::vector<std::vector<int32_t>>& encoded,
                                          const llm::Tokenizer& tokenizer) {
  uint64_t state = 7;
  const auto next = [&state](uint64_t bound) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (state >> 33) % bound;
  };
  const std::vector<int32_t> specials = tokenizer.special_ids();
  std::vector<DecodeCase> cases;
  for (size_t n = 0; n < 2000; ++n) {
    DecodeCase decode_case;
    decode_case.skip_special = next(2) == 1;
    const std::vector<int32_t>& source = encoded[next(encoded.size())];
    switch (next(4)) {
      case 0:
        if (!source.empty()) {
          const size_t begin = next(source.size());
          const size_t end = begin + 1 + next(source.size() - begin);
          decode_case.ids.assign(source.begin() + begin, source.begin() + end);
        }
        break;
      case 1:
        for (size_t k = 1 + next(12); k > 0; --k) {
          decode_case.ids.push_back(static_cast<int32_t>(next(tokenizer.vocab_size())));
        }
        break;
      case 2:
        for (const int32_t id : source) {
          decode_case.ids.push_back(id);
          if (next(4) == 0) decode_case.ids.push_back(specials[next(specials.size())]);
          if (next(8) == 0) decode_case.ids.push_back(151643 + static_cast<int32_t>(next(26)));
        }
        break;
      default:
        for (size_t k = 1 + next(6); k > 0; --k) {
          // Byte tokens 0x80..0xFF are ids 123..255 in the byte-level vocabulary; also ids past
          // the last token (the model's embedding has rows up to 151935).
          decode_case.ids.push_back(next(3) == 0 ? static_cast<int32_t>(151669 + next(267))
                                                 : static_cast<int32_t>(next(256)));
        }
        break;
    }
    if (!decode_case.ids.empty()) cases.push_back(std::move(decode_case));
  }
  return cases;
}

TEST(TokenizerReference, MatchesTransformersJsOnCorpus) {
  ASSERT_EQ(missing_reference(), "");
  const llm::Tokenizer& tokenizer = qwen_tokenizer();
  const std::vector<CorpusEntry> corpus = make_tokenizer_corpus(kCorpusSeed, kCorpusSize);
  ASSERT_GE(corpus.size(), 10000u);

  std::vector<std::vector<int32_t>> ours;
  ours.reserve(corpus.size());
  for (const CorpusEntry& entry : corpus) ours.push_back(tokenizer.encode(entry.text));
  const std::vector<DecodeCase> decode_cases = make_decode_cases(ours, tokenizer);

  TempDir dir;
  {
    nlohmann::json request;
    request["texts_hex"] = nlohmann::json::array();
    for (const CorpusEntry& entry : corpus) request["texts_hex"].push_back(to_hex(entry.text));
    request["decode_cases"] = nlohmann::json::array();
    for (const DecodeCase& decode_case : decode_cases) {
      request["decode_cases"].push_back(
          {{"ids", decode_case.ids}, {"skip_special", decode_case.skip_special}});
    }
    std::ofstream(dir.file("request.json")) << request.dump();
  }
  const std::string command =
      "node " + shell_quote(std::string(VIGIL_SOURCE_DIR) + "/tests/llm/reference_tokenize.mjs") +
      " " + shell_quote(js_root()) + " " + shell_quote(dir.file("request.json")) + " " +
      shell_quote(dir.file("response.json"));
  const CommandResult result = run_command(command);
  ASSERT_EQ(result.exit_code, 0) << "the reference failed: " << command;
  std::ifstream response_file(dir.file("response.json"));
  const nlohmann::json response = nlohmann::json::parse(response_file);
  ASSERT_EQ(response["ids"].size(), corpus.size());
  ASSERT_EQ(response["decode_cases_hex"].size(), decode_cases.size());
  std::cout << "reference: " << response["versions"].dump() << "\n";

  // Encoding: identical ids for every string.
  std::map<std::string, std::pair<size_t, size_t>> per_kind;  // kind -> (strings, mismatches)
  size_t mismatches = 0;
  size_t total_bytes = 0;
  size_t total_ids = 0;
  std::ostringstream report;
  for (size_t i = 0; i < corpus.size(); ++i) {
    const auto expected = response["ids"][i].get<std::vector<int32_t>>();
    auto& [strings, kind_mismatches] = per_kind[corpus[i].kind];
    ++strings;
    total_bytes += corpus[i].text.size();
    total_ids += expected.size();
    if (expected == ours[i]) continue;
    ++kind_mismatches;
    if (++mismatches <= 10) {
      report << "#" << i << " (" << corpus[i].kind << ") \"" << escape_bytes(corpus[i].text)
             << "\"\n  transformers.js " << ids_text(expected) << "\n  vigil           "
             << ids_text(ours[i]) << "\n";
    }
  }
  std::cout << "corpus: " << corpus.size() << " strings, " << total_bytes << " bytes, " << total_ids
            << " ids\n";
  for (const auto& [kind, counts] : per_kind) {
    std::cout << "  " << kind << ": " << counts.first << " strings, " << counts.second
              << " mismatches\n";
  }
  EXPECT_EQ(mismatches, 0u) << "first mismatches:\n" << report.str();

  // Decoding: the same text as transformers.js, and the input back for valid NFC text.
  size_t decode_mismatches = 0;
  size_t round_trips = 0;
  for (size_t i = 0; i < corpus.size(); ++i) {
    const std::string decoded = tokenizer.decode(ours[i]);
    const std::string expected = from_hex(response["decoded_hex"][i].get<std::string>());
    if (decoded != expected && ++decode_mismatches <= 10) {
      ADD_FAILURE() << "decode #" << i << " (" << corpus[i].kind << "): transformers.js \""
                    << escape_bytes(expected) << "\", vigil \"" << escape_bytes(decoded) << "\"";
    }
    const std::string& text = corpus[i].text;
    if (llm::utf8::is_valid(text) && llm::is_nfc_inert(text)) {
      ++round_trips;
      EXPECT_EQ(decoded, text) << "round trip #" << i << " \"" << escape_bytes(text) << "\"";
    }
  }
  EXPECT_EQ(decode_mismatches, 0u);
  EXPECT_GT(round_trips, corpus.size() / 2);

  size_t case_mismatches = 0;
  for (size_t i = 0; i < decode_cases.size(); ++i) {
    const std::string decoded = tokenizer.decode(decode_cases[i].ids, decode_cases[i].skip_special);
    const std::string expected = from_hex(response["decode_cases_hex"][i].get<std::string>());
    if (decoded != expected && ++case_mismatches <= 10) {
      ADD_FAILURE() << "decode case " << ids_text(decode_cases[i].ids) << " skip_special "
                    << decode_cases[i].skip_special << ": transformers.js \""
                    << escape_bytes(expected) << "\", vigil \"" << escape_bytes(decoded) << "\"";
    }
  }
  EXPECT_EQ(case_mismatches, 0u);
}

// Streaming the corpus's ids one at a time never yields part of a character, and the pieces
// add up to the whole decode.
TEST(TokenizerReference, IncrementalDecodingOfCorpusIsWholeCharacters) {
  ASSERT_EQ(missing_reference(), "");
  const llm::Tokenizer& tokenizer = qwen_tokenizer();
  size_t held_back = 0;
  for (const CorpusEntry& entry : make_tokenizer_corpus(kCorpusSeed, kCorpusSize)) {
    const std::vector<int32_t> ids = tokenizer.encode(entry.text);
    for (const bool skip_special : {false, true}) {
      llm::IncrementalDecoder decoder(tokenizer, skip_special);
      std::string streamed;
      for (const int32_t id : ids) {
        const std::string piece = decoder.push(id);
        ASSERT_TRUE(llm::utf8::is_valid(piece)) << escape_bytes(piece);
        held_back += decoder.pending_bytes() > 0;
        streamed += piece;
      }
      streamed += decoder.finish();
      ASSERT_EQ(streamed, tokenizer.decode(ids, skip_special)) << escape_bytes(entry.text);
    }
  }
  EXPECT_GT(held_back, 100u);  // the corpus does split characters across tokens
}

}  // namespace
}  // namespace vigil::testing

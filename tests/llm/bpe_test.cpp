#include "llm/bpe.h"

#include <gtest/gtest.h>

#include <climits>
#include <map>

namespace vigil::llm {
namespace {

// A small model over the bytes a, b, c and a textbook BPE to check it against: merge the
// lowest-ranked adjacent pair, leftmost on ties, until none applies.
class BpeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* token : {"a", "b", "c"}) add_token(token);
    for (const auto& [left, right] :
         std::vector<std::pair<std::string, std::string>>{{"a", "b"},
                                                          {"b", "c"},
                                                          {"ab", "c"},
                                                          {"a", "a"},
                                                          {"aa", "aa"},
                                                          {"c", "c"},
                                                          {"aaaa", "b"},
                                                          {"cc", "cc"},
                                                          {"a", "bc"},
                                                          {"b", "b"},
                                                          {"bb", "a"},
                                                          {"b", "cc"}}) {
      add_token(left + right);
      merges_.push_back({ids_.at(left), ids_.at(right), ids_.at(left + right)});
    }
  }

  void add_token(const std::string& text) {
    if (ids_.count(text)) return;
    ids_[text] = static_cast<int32_t>(tokens_.size());
    tokens_.push_back(text);
  }

  std::vector<int32_t> textbook(const std::string& text) const {
    std::vector<std::string> parts;
    for (const char c : text) parts.emplace_back(1, c);
    while (true) {
      int best_rank = INT_MAX;
      size_t best = 0;
      for (size_t i = 0; i + 1 < parts.size(); ++i) {
        for (size_t rank = 0; rank < merges_.size(); ++rank) {
          if (tokens_[merges_[rank].left] == parts[i] &&
              tokens_[merges_[rank].right] == parts[i + 1] && static_cast<int>(rank) < best_rank) {
            best_rank = static_cast<int>(rank);
            best = i;
          }
        }
      }
      if (best_rank == INT_MAX) break;
      parts[best] += parts[best + 1];
      parts.erase(parts.begin() + static_cast<std::ptrdiff_t>(best) + 1);
    }
    std::vector<int32_t> ids;
    for (const std::string& part : parts) ids.push_back(ids_.at(part));
    return ids;
  }

  std::vector<std::string> tokens_;
  std::map<std::string, int32_t> ids_;
  std::vector<BpeMerge> merges_;
};

TEST_F(BpeTest, MatchesTextbookBpeOnShortAndLongPieces) {
  const BpeModel model(tokens_, merges_, false);
  uint64_t state = 1;
  for (int n = 0; n < 3000; ++n) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    const size_t length = 2 + (state >> 33) % 200;  // both sides of the 64-byte switch
    std::string text;
    for (size_t i = 0; i < length; ++i) {
      state = state * 6364136223846793005ULL + 1442695040888963407ULL;
      text += "aabc"[(state >> 33) % 4];
    }
    std::vector<int32_t> ids;
    model.encode(text, ids);
    ASSERT_EQ(ids, textbook(text)) << text;
  }
}

TEST_F(BpeTest, AWholePieceTokenIsUsedOnlyWhenMergingReachesIt) {
  const BpeModel model(tokens_, merges_, false);
  // "abc": a + b (rank 0), then ab + c (rank 2).
  std::vector<int32_t> ids;
  model.encode("abc", ids);
  EXPECT_EQ(ids, std::vector<int32_t>{ids_.at("abc")});
  // "bcc" is a token (b + cc, the last rule), but b + c (rank 1) comes before c + c (rank 5)
  // and nothing merges bc with c.
  ids.clear();
  model.encode("bcc", ids);
  EXPECT_EQ(ids, (std::vector<int32_t>{ids_.at("bc"), ids_.at("c")}));
  // Of the 11 tokens of two or more bytes, "bcc" and "aaaab" (a + b merges first, and nothing
  // joins aa, a and ab) are never what their own bytes merge into.
  EXPECT_EQ(model.whole_piece_count(), 9u);
  // ignore_merges takes any whole-piece token as is.
  const BpeModel ignoring(tokens_, merges_, true);
  ids.clear();
  ignoring.encode("bcc", ids);
  EXPECT_EQ(ids, std::vector<int32_t>{ids_.at("bcc")});
}

TEST_F(BpeTest, BytesWithoutATokenAreDropped) {
  const BpeModel model(tokens_, merges_, false);
  std::vector<int32_t> ids;
  model.encode("axb", ids);
  EXPECT_EQ(ids, (std::vector<int32_t>{ids_.at("a"), ids_.at("b")}));
}

}  // namespace
}  // namespace vigil::llm

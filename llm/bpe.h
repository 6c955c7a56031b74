// Byte-pair encoding over raw bytes: a piece starts as one token per byte and adjacent tokens
// merge, lowest merge rank first (leftmost on ties), until no rule applies.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "llm/bpe_cache.h"
#include "llm/string_id_map.h"

namespace vigil::llm {

// One merge rule, left + right -> merged, as token ids. Its rank is its index in the list.
struct BpeMerge {
  int32_t left = 0;
  int32_t right = 0;
  int32_t merged = 0;
};

// Immutable after construction but for its cache of merged pieces; encode is thread-safe.
class BpeModel {
 public:
  // token_bytes[id] is the raw byte string of token id (empty for ids that are not byte strings,
  // such as added tokens); merges are in rank order and name ids below token_bytes.size().
  // ignore_merges (tokenizer.json's model.ignore_merges): a piece that is a token is that token.
  BpeModel(const std::vector<std::string>& token_bytes, const std::vector<BpeMerge>& merges,
           bool ignore_merges);

  // Appends the token ids of piece (raw bytes) to ids. Bytes that have no token are dropped,
  // as a BPE without an unknown token does.
  void encode(std::string_view piece, std::vector<int32_t>& ids) const;

  // How many tokens encode recognizes as whole pieces without merging (for tests).
  size_t whole_piece_count() const { return whole_pieces_.size(); }
  // The cache of merged pieces: pieces found in it, and pieces merged (counters).
  uint64_t cache_hits() const { return cache_->hits(); }
  uint64_t cache_misses() const { return cache_->misses(); }

 private:
  struct PairSlot {
    uint64_t key = kEmptyKey;  // left << 32 | right
    int32_t rank = 0;
    int32_t merged = 0;
  };
  static constexpr uint64_t kEmptyKey = ~uint64_t{0};

  // The rank and result of merging left and right; false when no rule merges them.
  bool find_merge(int32_t left, int32_t right, int32_t& rank, int32_t& merged) const;
  void prefetch_merge(int32_t left, int32_t right) const;
  // The merging itself, on a piece of two or more bytes.
  void merge(std::string_view piece, std::vector<int32_t>& ids) const;
  void merge_short(std::string_view piece, std::vector<int32_t>& ids) const;
  void merge_long(std::string_view piece, std::vector<int32_t>& ids) const;

  int32_t byte_tokens_[256];
  std::vector<PairSlot> pairs_;
  uint64_t pair_mask_ = 0;
  // Pieces that BPE turns into one token, by their bytes.
  StringIdMap whole_pieces_;
  std::unique_ptr<BpeCache> cache_ = std::make_unique<BpeCache>();
};

}  // namespace vigil::llm

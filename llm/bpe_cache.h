// A bounded, thread-safe memo of BPE results for pieces that are not single tokens: text
// repeats its rarer words and its whitespace runs, and merging them again costs a hash lookup
// per merge. Sixteen shards, each behind its own mutex and emptied when full (a service's
// working set refills it quickly; no LRU bookkeeping on the hot path).
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string_view>
#include <vector>

#include "llm/string_id_map.h"

namespace vigil::llm {

class BpeCache {
 public:
  // Pieces longer than this are not kept (they rarely repeat and would crowd the rest out).
  static constexpr size_t kMaxPieceBytes = 1024;

  BpeCache() = default;
  BpeCache(const BpeCache&) = delete;
  BpeCache& operator=(const BpeCache&) = delete;

  // Appends the cached ids of piece to ids and returns true, or returns false. piece_hash is
  // StringIdMap::hash(piece). Thread-safe.
  bool find(std::string_view piece, uint64_t piece_hash, std::vector<int32_t>& ids) const;
  // Remembers ids[first, ids.size()) as the ids of piece. Thread-safe.
  void insert(std::string_view piece, uint64_t piece_hash, const std::vector<int32_t>& ids,
              size_t first) const;

  uint64_t hits() const { return hits_.load(std::memory_order_relaxed); }
  uint64_t misses() const { return misses_.load(std::memory_order_relaxed); }

 private:
  static constexpr size_t kShards = 16;
  static constexpr size_t kMaxEntriesPerShard = 4096;
  static constexpr size_t kMaxIdsPerShard = 1 << 17;
  static constexpr size_t kMaxKeyBytesPerShard = 1 << 19;

  struct Shard {
    std::mutex mutex;
    StringIdMap entries{kMaxEntriesPerShard};          // piece -> index into spans
    std::vector<std::pair<uint32_t, uint32_t>> spans;  // (offset, count) into ids
    std::vector<int32_t> ids;
  };
  Shard& shard_of(uint64_t piece_hash) const;

  mutable std::array<Shard, kShards> shards_;
  mutable std::atomic<uint64_t> hits_{0};
  mutable std::atomic<uint64_t> misses_{0};
};

}  // namespace vigil::llm

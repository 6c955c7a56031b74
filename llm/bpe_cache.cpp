#include "llm/bpe_cache.h"

namespace vigil::llm {

BpeCache::Shard& BpeCache::shard_of(uint64_t piece_hash) const {
  // The high bits: StringIdMap indexes its slots with the low ones.
  return shards_[(piece_hash >> 60) % kShards];
}

bool BpeCache::find(std::string_view piece, uint64_t piece_hash, std::vector<int32_t>& ids) const {
  if (piece.size() > kMaxPieceBytes) return false;
  Shard& shard = shard_of(piece_hash);
  {
    const std::lock_guard<std::mutex> lock(shard.mutex);
    const int32_t index = shard.entries.find(piece, piece_hash);
    if (index >= 0) {
      const auto [offset, count] = shard.spans[static_cast<size_t>(index)];
      ids.insert(ids.end(), shard.ids.begin() + offset, shard.ids.begin() + offset + count);
      hits_.fetch_add(1, std::memory_order_relaxed);
      return true;
    }
  }
  misses_.fetch_add(1, std::memory_order_relaxed);
  return false;
}

void BpeCache::insert(std::string_view piece, uint64_t piece_hash, const std::vector<int32_t>& ids,
                      size_t first) const {
  if (piece.size() > kMaxPieceBytes) return;
  Shard& shard = shard_of(piece_hash);
  const size_t count = ids.size() - first;
  const std::lock_guard<std::mutex> lock(shard.mutex);
  if (shard.spans.size() >= kMaxEntriesPerShard || shard.ids.size() + count > kMaxIdsPerShard ||
      shard.entries.key_bytes() + piece.size() > kMaxKeyBytesPerShard) {
    shard.entries.clear();
    shard.spans.clear();
    shard.ids.clear();
  }
  if (!shard.entries.insert(piece, piece_hash, static_cast<int32_t>(shard.spans.size()))) return;
  shard.spans.emplace_back(static_cast<uint32_t>(shard.ids.size()), static_cast<uint32_t>(count));
  shard.ids.insert(shard.ids.end(), ids.begin() + static_cast<std::ptrdiff_t>(first), ids.end());
}

}  // namespace vigil::llm

#include "llm/bpe.h"

#include <algorithm>
#include <cassert>
#include <climits>
#include <cstring>

#include "llm/hash_mix.h"

namespace vigil::llm {
namespace {

// Pieces up to this many bytes merge in fixed arrays with a linear scan for the best pair;
// longer ones (whitespace runs, long CJK runs) keep the best pair in a tournament tree.
constexpr size_t kShortPieceBytes = 64;
constexpr int32_t kNoMerge = INT32_MAX;

uint64_t mix(uint64_t value) {
  return mix_hash(value);
}

uint64_t table_capacity(size_t entries) {
  uint64_t capacity = 16;
  while (capacity * 3 < entries * 4) capacity *= 2;  // load factor at most 3/4
  return capacity;
}

uint64_t pair_key(int32_t left, int32_t right) {
  return (uint64_t(uint32_t(left)) << 32) | uint32_t(right);
}

}  // namespace

BpeModel::BpeModel(const std::vector<std::string>& token_bytes, const std::vector<BpeMerge>& merges,
                   bool ignore_merges) {
  std::fill(std::begin(byte_tokens_), std::end(byte_tokens_), -1);
  for (size_t id = 0; id < token_bytes.size(); ++id) {
    if (token_bytes[id].size() == 1) {
      byte_tokens_[static_cast<uint8_t>(token_bytes[id][0])] = static_cast<int32_t>(id);
    }
  }

  pairs_.resize(table_capacity(merges.size()));
  pair_mask_ = pairs_.size() - 1;
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const BpeMerge& merge = merges[rank];
    const uint64_t key = pair_key(merge.left, merge.right);
    uint64_t slot = mix(key) & pair_mask_;
    while (pairs_[slot].key != kEmptyKey && pairs_[slot].key != key) slot = (slot + 1) & pair_mask_;
    // A repeated rule takes its last rank, as transformers.js's Map of ranks does.
    pairs_[slot] = PairSlot{key, static_cast<int32_t>(rank), merge.merged};
  }

  // A piece that BPE turns into one token, found in one lookup: most words of running text
  // are tokens. Each candidate is checked by merging it, so the shortcut never changes a result.
  whole_pieces_ = StringIdMap(token_bytes.size());
  std::vector<int32_t> merged;
  for (size_t id = 0; id < token_bytes.size(); ++id) {
    const std::string& bytes = token_bytes[id];
    if (bytes.size() < 2) continue;
    if (!ignore_merges) {
      merged.clear();
      merge(bytes, merged);
      if (merged.size() != 1 || merged[0] != static_cast<int32_t>(id)) continue;
    }
    whole_pieces_.insert(bytes, static_cast<int32_t>(id));
  }
}

void BpeModel::prefetch_merge(int32_t left, int32_t right) const {
  // The first lookups of a piece are independent: starting their cache misses together
  // overlaps them.
  __builtin_prefetch(&pairs_[mix(pair_key(left, right)) & pair_mask_]);
}

bool BpeModel::find_merge(int32_t left, int32_t right, int32_t& rank, int32_t& merged) const {
  if (left < 0 || right < 0) return false;
  const uint64_t key = pair_key(left, right);
  for (uint64_t slot = mix(key) & pair_mask_;; slot = (slot + 1) & pair_mask_) {
    const PairSlot& entry = pairs_[slot];
    if (entry.key == key) {
      rank = entry.rank;
      merged = entry.merged;
      return true;
    }
    if (entry.key == kEmptyKey) return false;
  }
}

void BpeModel::encode(std::string_view piece, std::vector<int32_t>& ids) const {
  if (piece.empty()) return;
  if (piece.size() == 1) {
    const int32_t id = byte_tokens_[static_cast<uint8_t>(piece[0])];
    if (id >= 0) ids.push_back(id);
    return;
  }
  const uint64_t piece_hash = StringIdMap::hash(piece);
  const int32_t whole = whole_pieces_.find(piece, piece_hash);
  if (whole >= 0) {
    ids.push_back(whole);
    return;
  }
  if (cache_->find(piece, piece_hash, ids)) return;
  const size_t first = ids.size();
  merge(piece, ids);
  cache_->insert(piece, piece_hash, ids, first);
}

void BpeModel::merge(std::string_view piece, std::vector<int32_t>& ids) const {
  if (piece.size() <= kShortPieceBytes) {
    merge_short(piece, ids);
  } else {
    merge_long(piece, ids);
  }
}

void BpeModel::merge_short(std::string_view piece, std::vector<int32_t>& ids) const {
  // tokens[i] is the i-th token; ranks[i] and results[i] describe merging tokens i and i + 1.
  int32_t tokens[kShortPieceBytes];
  int32_t ranks[kShortPieceBytes];
  int32_t results[kShortPieceBytes];
  size_t count = piece.size();
  assert(count >= 2 && count <= kShortPieceBytes);
  for (size_t i = 0; i < count; ++i) tokens[i] = byte_tokens_[static_cast<uint8_t>(piece[i])];
  for (size_t i = 0; i + 1 < count; ++i) prefetch_merge(tokens[i], tokens[i + 1]);
  const auto update_pair = [&](size_t i) {
    if (!find_merge(tokens[i], tokens[i + 1], ranks[i], results[i])) ranks[i] = kNoMerge;
  };
  for (size_t i = 0; i + 1 < count; ++i) update_pair(i);
  while (count > 1) {
    size_t best = 0;
    for (size_t i = 1; i + 1 < count; ++i) {
      if (ranks[i] < ranks[best]) best = i;
    }
    if (ranks[best] == kNoMerge) break;
    tokens[best] = results[best];
    const size_t after = best + 1;
    std::memmove(tokens + after, tokens + after + 1, (count - after - 1) * sizeof(int32_t));
    if (count >= after + 2) {
      std::memmove(ranks + after, ranks + after + 1, (count - after - 2) * sizeof(int32_t));
      std::memmove(results + after, results + after + 1, (count - after - 2) * sizeof(int32_t));
    }
    --count;
    if (best > 0) update_pair(best - 1);
    if (best + 1 < count) update_pair(best);
  }
  for (size_t i = 0; i < count; ++i) {
    if (tokens[i] >= 0) ids.push_back(tokens[i]);
  }
}

void BpeModel::merge_long(std::string_view piece, std::vector<int32_t>& ids) const {
  // A linked list of tokens over the byte positions (a merge keeps the left node and unlinks
  // the right one), each node caching the result of merging it with its successor, and a
  // tournament tree over the nodes whose leaves hold (rank << 32 | node) and whose root is
  // therefore the lowest-ranked pair, leftmost on ties. A merge changes three leaves.
  const auto count = static_cast<int32_t>(piece.size());
  size_t leaves = 1;
  while (leaves < static_cast<size_t>(count)) leaves *= 2;
  std::vector<int32_t> nodes(static_cast<size_t>(count) * 3);
  int32_t* tokens = nodes.data();
  int32_t* next = tokens + count;
  int32_t* previous = next + count;
  std::vector<int32_t> results(static_cast<size_t>(count));
  constexpr uint64_t kNone = ~uint64_t{0};
  std::vector<uint64_t> tree(leaves * 2, kNone);
  const auto set_leaf = [&](int32_t node, uint64_t key) {
    size_t at = leaves + static_cast<size_t>(node);
    tree[at] = key;
    for (at /= 2; at > 0; at /= 2) {
      const uint64_t best = std::min(tree[2 * at], tree[2 * at + 1]);
      if (tree[at] == best) break;  // nothing above changes either
      tree[at] = best;
    }
  };
  const auto pair_key_of = [&](int32_t node) {
    int32_t rank = 0;
    const int32_t right = next[node];
    if (right < 0 || !find_merge(tokens[node], tokens[right], rank, results[node])) return kNone;
    return (uint64_t(uint32_t(rank)) << 32) | uint32_t(node);
  };
  for (int32_t i = 0; i < count; ++i) {
    tokens[i] = byte_tokens_[static_cast<uint8_t>(piece[i])];
    next[i] = i + 1 < count ? i + 1 : -1;
    previous[i] = i - 1;
  }
  for (int32_t i = 0; i + 1 < count; ++i) prefetch_merge(tokens[i], tokens[i + 1]);
  for (int32_t i = 0; i + 1 < count; ++i) tree[leaves + static_cast<size_t>(i)] = pair_key_of(i);
  for (size_t at = leaves - 1; at > 0; --at) tree[at] = std::min(tree[2 * at], tree[2 * at + 1]);
  while (tree[1] != kNone) {
    const auto left = static_cast<int32_t>(tree[1] & 0xFFFFFFFFu);
    const int32_t right = next[left];
    tokens[left] = results[left];
    next[left] = next[right];
    if (next[right] >= 0) previous[next[right]] = left;
    set_leaf(right, kNone);
    set_leaf(left, pair_key_of(left));
    if (previous[left] >= 0) set_leaf(previous[left], pair_key_of(previous[left]));
  }
  for (int32_t node = 0; node >= 0; node = next[node]) {
    if (tokens[node] >= 0) ids.push_back(tokens[node]);
  }
}

}  // namespace vigil::llm

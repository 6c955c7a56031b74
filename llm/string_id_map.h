// A read-mostly map from byte strings to token ids: one flat open-addressing table and one
// arena for the keys, so a lookup is a hash and (usually) one cache line. Vocabularies have
// ~150k entries; std::unordered_map<std::string, int> costs a node allocation each.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace vigil::llm {

// Not thread-safe to insert; find is thread-safe while nothing inserts.
class StringIdMap {
 public:
  explicit StringIdMap(size_t expected_entries = 0);

  // Maps key to id; an existing key keeps its first id and false is returned.
  bool insert(std::string_view key, int32_t id) { return insert(key, hash(key), id); }
  // The id of key, or -1.
  int32_t find(std::string_view key) const { return find(key, hash(key)); }
  // The same with key_hash == hash(key) computed by the caller (one hash, several tables).
  bool insert(std::string_view key, uint64_t key_hash, int32_t id);
  int32_t find(std::string_view key, uint64_t key_hash) const;
  size_t size() const { return size_; }
  // Bytes of key storage (for callers that bound memory).
  size_t key_bytes() const { return keys_.size(); }
  // Removes every entry, keeping the table's capacity.
  void clear();

  static uint64_t hash(std::string_view bytes);

 private:
  // Keys of up to 8 bytes (most tokens) are compared within the slot, without touching keys_.
  struct Slot {
    uint64_t prefix = 0;  // the key's first 8 bytes, zero-padded
    uint32_t hash = 0;    // the low bits of the key's hash
    uint32_t offset = 0;  // into keys_
    uint32_t length = 0;  // bytes
    int32_t id = -1;      // -1: empty slot
  };
  bool matches(const Slot& slot, uint32_t short_hash, uint64_t prefix, std::string_view key) const;
  void grow();

  std::vector<Slot> slots_;
  uint64_t mask_ = 0;
  std::string keys_;
  size_t size_ = 0;
};

}  // namespace vigil::llm

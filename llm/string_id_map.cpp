#include "llm/string_id_map.h"

#include <algorithm>
#include <cstring>

#include "llm/hash_mix.h"

namespace vigil::llm {
namespace {

uint64_t mix(uint64_t value) {
  return mix_hash(value);
}

// Linear probing stays short up to a load factor of 3/4.
bool too_full(size_t entries, size_t capacity) {
  return entries * 4 > capacity * 3;
}

size_t capacity_for(size_t entries) {
  size_t capacity = 16;
  while (too_full(entries, capacity)) capacity *= 2;
  return capacity;
}

uint64_t prefix_of(std::string_view key) {
  uint64_t prefix = 0;
  std::memcpy(&prefix, key.data(), key.size() < 8 ? key.size() : 8);
  return prefix;
}

}  // namespace

bool StringIdMap::matches(const Slot& slot, uint32_t short_hash, uint64_t prefix,
                          std::string_view key) const {
  return slot.hash == short_hash && slot.length == key.size() && slot.prefix == prefix &&
         (key.size() <= 8 ||
          std::memcmp(keys_.data() + slot.offset + 8, key.data() + 8, key.size() - 8) == 0);
}

uint64_t StringIdMap::hash(std::string_view bytes) {
  uint64_t hash = 0x9E3779B97F4A7C15ULL ^ bytes.size();
  const char* data = bytes.data();
  size_t remaining = bytes.size();
  while (remaining >= 8) {
    uint64_t word;
    std::memcpy(&word, data, 8);
    hash = (hash ^ word) * 0xbf58476d1ce4e5b9ULL;
    hash ^= hash >> 31;
    data += 8;
    remaining -= 8;
  }
  if (remaining > 0) {
    uint64_t word = 0;
    std::memcpy(&word, data, remaining);
    hash = (hash ^ word) * 0x94d049bb133111ebULL;
  }
  return mix(hash);
}

StringIdMap::StringIdMap(size_t expected_entries) {
  slots_.resize(capacity_for(expected_entries));
  mask_ = slots_.size() - 1;
}

bool StringIdMap::insert(std::string_view key, uint64_t full_hash, int32_t id) {
  if (too_full(size_ + 1, slots_.size())) grow();
  const auto short_hash = static_cast<uint32_t>(full_hash);
  const uint64_t prefix = prefix_of(key);
  for (uint64_t slot = full_hash & mask_;; slot = (slot + 1) & mask_) {
    Slot& entry = slots_[slot];
    if (entry.id < 0) {
      entry = Slot{prefix, short_hash, static_cast<uint32_t>(keys_.size()),
                   static_cast<uint32_t>(key.size()), id};
      keys_.append(key);
      ++size_;
      return true;
    }
    if (matches(entry, short_hash, prefix, key)) return false;
  }
}

int32_t StringIdMap::find(std::string_view key, uint64_t full_hash) const {
  const auto short_hash = static_cast<uint32_t>(full_hash);
  const uint64_t prefix = prefix_of(key);
  for (uint64_t slot = full_hash & mask_;; slot = (slot + 1) & mask_) {
    const Slot& entry = slots_[slot];
    if (entry.id < 0) return -1;
    if (matches(entry, short_hash, prefix, key)) return entry.id;
  }
}

void StringIdMap::clear() {
  std::fill(slots_.begin(), slots_.end(), Slot{});
  keys_.clear();
  size_ = 0;
}

void StringIdMap::grow() {
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(old.size() * 2, Slot{});
  mask_ = slots_.size() - 1;
  for (const Slot& entry : old) {
    if (entry.id < 0) continue;
    const uint64_t full_hash = hash(std::string_view(keys_.data() + entry.offset, entry.length));
    uint64_t slot = full_hash & mask_;
    while (slots_[slot].id >= 0) slot = (slot + 1) & mask_;
    slots_[slot] = entry;
  }
}

}  // namespace vigil::llm

// A 64-bit finaliser (MurmurHash3's fmix64) shared by the tokenizer's hash tables.
#pragma once

#include <cstdint>

namespace vigil::llm {

inline uint64_t mix_hash(uint64_t value) {
  value ^= value >> 33;
  value *= 0xff51afd7ed558ccdULL;
  value ^= value >> 33;
  value *= 0xc4ceb9fe1a85ec53ULL;
  value ^= value >> 33;
  return value;
}

}  // namespace vigil::llm

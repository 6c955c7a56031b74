// The deterministic payload of block `index` shared by the segment store tests and their
// child process (memory_segment_writer), so the parent can check what the child wrote.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace vigil::testing {

inline std::vector<uint8_t> segment_payload(int64_t index, size_t size) {
  std::vector<uint8_t> bytes(size);
  uint64_t state = static_cast<uint64_t>(index) * 0x9E3779B97F4A7C15ull + 1;
  for (size_t i = 0; i < size; ++i) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    bytes[i] = static_cast<uint8_t>(state >> 24);
  }
  return bytes;
}

}  // namespace vigil::testing

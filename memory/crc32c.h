// CRC32C (Castagnoli, the polynomial of iSCSI, ext4 and RocksDB): the checksum of the segment
// store's records. Uses the SSE4.2 crc32 instruction when the CPU has it, a table otherwise.
#pragma once

#include <cstddef>
#include <cstdint>

namespace vigil::memory {

// CRC32C of data[0, size), continuing from `crc` (the value a previous call returned; 0 to
// start). crc32c("123456789") == 0xE3069283. Thread-safe.
uint32_t crc32c(const void* data, size_t size, uint32_t crc = 0);

}  // namespace vigil::memory

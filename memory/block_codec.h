// The byte form of a block for disk (and any other byte transport): a KvBlock stored exactly,
// or a QuantizedBlock, with a format version, the shapes, dtypes, time range, token offsets
// and summary keys, and optionally zstd over the body. Decoding checks every size against the
// bytes it has, so malformed input raises BlockFormatError and never reads out of bounds.
//
// Layout (little-endian): "VKVB" u16 version u8 kind (0 exact, 1 quantized) u8 compression
// (0 none, 1 zstd) u64 body_bytes (uncompressed) | body (zstd frame when compressed, with
// zstd's content checksum). Summary keys are stored as they are (per KV head, as
// compute_summary_keys makes them).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "memory/kv_block.h"
#include "memory/kv_quantizer.h"

namespace vigil::memory {

constexpr uint16_t kBlockFormatVersion = 1;

// Bytes that are not a block of a version this build reads: names what is wrong and at which
// byte offset.
class BlockFormatError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class BlockCompression : uint8_t { kNone = 0, kZstd = 1 };

struct CodecSettings {
  BlockCompression compression = BlockCompression::kNone;
  int zstd_level = 3;  // 1 (fast) .. 19; 3 is zstd's default
};

enum class EncodedKind : uint8_t { kExact = 0, kQuantized = 1 };

// Encodes a block exactly: decoding gives bit-identical tensors (same dtypes, same bytes).
// Tensors may be on any device (copied to the CPU). Thread-safe (no shared state).
std::vector<uint8_t> encode_block(const KvBlock& block, const CodecSettings& settings = {});
// Encodes a quantized block (packed codes, scales, zeros and metadata kept exactly).
std::vector<uint8_t> encode_block(const QuantizedBlock& block, const CodecSettings& settings = {});

// What `bytes` holds (reads only the fixed header). Throws BlockFormatError.
EncodedKind encoded_kind(const uint8_t* data, size_t size);

// Decodes an exact block onto the CPU. Throws BlockFormatError (also for a quantized one).
KvBlock decode_exact_block(const uint8_t* data, size_t size);
// Decodes a quantized block onto the CPU. Throws BlockFormatError (also for an exact one).
QuantizedBlock decode_quantized_block(const uint8_t* data, size_t size);
// Either kind, as a KvBlock with keys/values in `dtype` on `device` (dequantized when the
// bytes hold a quantized block; an exact block is cast). Throws BlockFormatError.
KvBlock decode_block(const uint8_t* data, size_t size, torch::Device device,
                     torch::ScalarType dtype);

inline KvBlock decode_exact_block(const std::vector<uint8_t>& bytes) {
  return decode_exact_block(bytes.data(), bytes.size());
}
inline QuantizedBlock decode_quantized_block(const std::vector<uint8_t>& bytes) {
  return decode_quantized_block(bytes.data(), bytes.size());
}

}  // namespace vigil::memory

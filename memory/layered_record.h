// A block as the disk tier writes it: one SegmentStore record holding a table and then each
// layer's own encoding (block_codec.h bytes of a one-layer block, zstd-compressed on its own),
// so that a question which needs one layer of a spilled block reads and decodes 1/layers of
// the record instead of all of it. Retrieval picks blocks per layer, so a question over a long
// stream touches many blocks in one layer each: reading whole records cost it every layer of
// every one of them (docs/optimisation-notes.md).
//
// Layout (little-endian): "VKVL" u16 version u16 0 u32 layers | per layer: u64 offset u64 size
// u32 CRC32C of the layer's bytes | the layers' bytes. Offsets count from the record's start.
// The block's token offsets are in layer 0 only (the tiered store keeps them in RAM anyway).
// The record as a whole is checksummed by the SegmentStore; a layer read alone is checked
// against its own CRC.
#pragma once

#include <cstdint>
#include <vector>

#include "memory/block_codec.h"
#include "memory/kv_block.h"
#include "memory/kv_quantizer.h"

namespace vigil::memory {

constexpr uint16_t kLayeredRecordVersion = 1;

// Where one layer's bytes lie in a record.
struct LayerPart {
  uint64_t offset = 0;
  uint64_t size = 0;
  uint32_t crc = 0;  // CRC32C of the bytes
};

// The bytes a record's header and table take for `layers` layers (what to read first when the
// table is not known).
uint64_t layered_table_bytes(int64_t layers);

// The record for a block, exact or quantized; each layer is encoded with `settings`. A quantized
// layer's codes must be whole bytes (kv_heads * T * head_dim * bits divisible by 8), as every
// real shape is; otherwise BlockFormatError.
std::vector<uint8_t> encode_layered(const KvBlock& block, const CodecSettings& settings);
std::vector<uint8_t> encode_layered(const QuantizedBlock& block, const CodecSettings& settings);

// The table at the start of a record of record_size bytes (data holds at least its header and
// table). Throws BlockFormatError when malformed or when a part lies outside the record.
std::vector<LayerPart> decode_layer_table(const uint8_t* data, size_t size, uint64_t record_size);

// One layer's bytes (read alone, or a view into the whole record) as the block_codec encoding
// of a one-layer block. Throws BlockFormatError when the bytes do not match part's CRC.
void check_layer(const LayerPart& part, const uint8_t* data, size_t size);

// A whole record back: the layers decoded and joined, exact or quantized as written. Throws
// BlockFormatError.
struct LayeredBlock {
  EncodedKind kind = EncodedKind::kExact;
  KvBlock exact;             // kind == kExact
  QuantizedBlock quantized;  // kind == kQuantized
};
LayeredBlock decode_layered(const uint8_t* data, size_t size);

}  // namespace vigil::memory

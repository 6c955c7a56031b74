// The disk tier's layered record: a block back whole is bit-identical (exact and quantized,
// with and without zstd); each layer read alone through the table is that layer of the block;
// a damaged layer, a damaged table and a layer whose codes are not whole bytes are clear errors.
#include "memory/layered_record.h"

#include <gtest/gtest.h>

#include <cstring>

namespace vigil::memory {
namespace {

constexpr int64_t kLayers = 3, kKvHeads = 2, kHeadDim = 16;

KvBlock make_block(int64_t tokens) {
  KvBlock block;
  block.index = 7;
  block.start_seconds = 7.0;
  block.end_seconds = 8.0;
  block.frame_tokens = 196;
  block.token_offsets = torch::arange(tokens) * 3;
  for (int64_t l = 0; l < kLayers; ++l) {
    block.keys.push_back(torch::randn({kKvHeads, tokens, kHeadDim}).to(torch::kBFloat16));
    block.values.push_back(torch::randn({kKvHeads, tokens, kHeadDim}).to(torch::kBFloat16));
  }
  compute_summary_keys(block);
  return block;
}

bool same(const torch::Tensor& a, const torch::Tensor& b) {
  return a.defined() == b.defined() &&
         (!a.defined() || (a.scalar_type() == b.scalar_type() && torch::equal(a, b)));
}

void expect_same(const QuantizedBlock& a, const QuantizedBlock& b) {
  EXPECT_EQ(a.index, b.index);
  EXPECT_EQ(a.layers, b.layers);
  EXPECT_EQ(a.tokens, b.tokens);
  EXPECT_TRUE(same(a.token_offsets, b.token_offsets));
  EXPECT_TRUE(same(a.summary_keys, b.summary_keys));
  for (const auto member : {&QuantizedBlock::keys, &QuantizedBlock::values}) {
    EXPECT_TRUE(same((a.*member).packed, (b.*member).packed));
    EXPECT_TRUE(same((a.*member).scales, (b.*member).scales));
    EXPECT_TRUE(same((a.*member).zeros, (b.*member).zeros));
    EXPECT_EQ((a.*member).bits, (b.*member).bits);
  }
}

TEST(LayeredRecord, ExactAndQuantizedBlocksComeBackWholeAndLayerByLayer) {
  torch::manual_seed(1);
  const KvBlock block = make_block(21);
  const QuantizedBlock quantized = quantize_block(block, QuantizationSettings{});
  for (const BlockCompression compression : {BlockCompression::kNone, BlockCompression::kZstd}) {
    const CodecSettings settings{compression, 3};
    const std::vector<uint8_t> exact_bytes = encode_layered(block, settings);
    const LayeredBlock exact = decode_layered(exact_bytes.data(), exact_bytes.size());
    ASSERT_EQ(exact.kind, EncodedKind::kExact);
    EXPECT_EQ(exact.exact.index, block.index);
    EXPECT_TRUE(same(exact.exact.token_offsets, block.token_offsets));
    EXPECT_TRUE(same(exact.exact.summary_keys, block.summary_keys));
    ASSERT_EQ(exact.exact.layers(), kLayers);
    for (int64_t l = 0; l < kLayers; ++l) {
      EXPECT_TRUE(same(exact.exact.keys[l], block.keys[l]));
      EXPECT_TRUE(same(exact.exact.values[l], block.values[l]));
    }

    const std::vector<uint8_t> bytes = encode_layered(quantized, settings);
    const LayeredBlock whole = decode_layered(bytes.data(), bytes.size());
    ASSERT_EQ(whole.kind, EncodedKind::kQuantized);
    expect_same(whole.quantized, quantized);

    // Each layer alone: the table, then just that layer's bytes, as the disk tier reads them.
    const std::vector<LayerPart> parts =
        decode_layer_table(bytes.data(), layered_table_bytes(kLayers), bytes.size());
    ASSERT_EQ(parts.size(), static_cast<size_t>(kLayers));
    uint64_t layer_bytes = 0;
    for (int64_t l = 0; l < kLayers; ++l) {
      const LayerPart& part = parts[static_cast<size_t>(l)];
      const std::vector<uint8_t> alone(
          bytes.begin() + static_cast<std::ptrdiff_t>(part.offset),
          bytes.begin() + static_cast<std::ptrdiff_t>(part.offset + part.size));
      check_layer(part, alone.data(), alone.size());
      QuantizedBlock expected = slice_layer(quantized, l);
      if (l > 0) expected.token_offsets = torch::Tensor();  // stored once, in layer 0
      expect_same(decode_quantized_block(alone), expected);
      layer_bytes += part.size;
    }
    // The layers are the record, less its table.
    EXPECT_EQ(layer_bytes + layered_table_bytes(kLayers), bytes.size());
  }
}

TEST(LayeredRecord, DamageIsAClearErrorNeverData) {
  torch::manual_seed(2);
  const QuantizedBlock quantized = quantize_block(make_block(21), QuantizationSettings{});
  const std::vector<uint8_t> bytes = encode_layered(quantized, {BlockCompression::kZstd, 3});
  const std::vector<LayerPart> parts = decode_layer_table(bytes.data(), bytes.size(), bytes.size());

  // A flipped byte inside layer 1: its checksum catches it, alone or in the whole record.
  std::vector<uint8_t> damaged = bytes;
  damaged[parts[1].offset + parts[1].size / 2] ^= 0x10;
  EXPECT_THROW(check_layer(parts[1], damaged.data() + parts[1].offset, parts[1].size),
               BlockFormatError);
  EXPECT_THROW(decode_layered(damaged.data(), damaged.size()), BlockFormatError);
  // A layer cut short.
  EXPECT_THROW(check_layer(parts[1], bytes.data() + parts[1].offset, parts[1].size - 1),
               BlockFormatError);

  // A table naming bytes beyond the record, a bad magic, a cut table.
  std::vector<uint8_t> beyond = bytes;
  const uint64_t far = bytes.size() + 1;
  std::memcpy(beyond.data() + 12 + 20 * 2, &far, sizeof far);  // layer 2's offset
  EXPECT_THROW(decode_layer_table(beyond.data(), beyond.size(), beyond.size()), BlockFormatError);
  std::vector<uint8_t> magic = bytes;
  magic[0] = 'X';
  EXPECT_THROW(decode_layered(magic.data(), magic.size()), BlockFormatError);
  EXPECT_THROW(decode_layer_table(bytes.data(), 20, bytes.size()), BlockFormatError);
  EXPECT_THROW(decode_layered(bytes.data(), 30), BlockFormatError);

  // 2-bit codes of 1 x 1 x 2 values per layer are half a byte: no layer can be cut out.
  KvBlock odd;
  odd.token_offsets = torch::arange(1);
  for (int64_t l = 0; l < 2; ++l) {
    odd.keys.push_back(torch::randn({1, 1, 2}));
    odd.values.push_back(torch::randn({1, 1, 2}));
  }
  QuantizationSettings two_bits;
  two_bits.key_bits = 2;
  two_bits.value_bits = 2;
  EXPECT_THROW(encode_layered(quantize_block(odd, two_bits), {}), BlockFormatError);
}

}  // namespace
}  // namespace vigil::memory

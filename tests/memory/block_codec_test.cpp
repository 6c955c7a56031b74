// The block codec: exact blocks come back bit-identical (fp32, bf16, fp16), with and without
// zstd; quantized blocks come back identical; malformed bytes raise BlockFormatError.
#include "memory/block_codec.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>

namespace vigil::memory {
namespace {

KvBlock make_block(torch::ScalarType dtype, int64_t tokens, uint64_t seed) {
  torch::manual_seed(seed);
  KvBlock block;
  block.index = 41;
  block.start_seconds = 41.0;
  block.end_seconds = 42.0 - 1e-9;  // not a round number: doubles survive exactly
  block.frame_tokens = 196;
  block.token_offsets =
      std::get<0>(torch::randperm(196, torch::kInt64).narrow(0, 0, tokens).sort());
  for (int layer = 0; layer < 3; ++layer) {
    block.keys.push_back(torch::randn({2, tokens, 16}).to(dtype));
    block.values.push_back(torch::randn({2, tokens, 16}).to(dtype));
  }
  compute_summary_keys(block);
  return block;
}

// Same dtype, shape and bytes.
bool bit_identical(const torch::Tensor& a, const torch::Tensor& b) {
  if (a.defined() != b.defined()) return false;
  if (!a.defined()) return true;
  if (a.scalar_type() != b.scalar_type() || a.sizes() != b.sizes()) return false;
  const torch::Tensor x = a.contiguous();
  const torch::Tensor y = b.contiguous();
  return std::memcmp(x.data_ptr(), y.data_ptr(), x.numel() * x.element_size()) == 0;
}

void expect_identical(const KvBlock& a, const KvBlock& b) {
  EXPECT_EQ(a.index, b.index);
  EXPECT_EQ(a.start_seconds, b.start_seconds);
  EXPECT_EQ(a.end_seconds, b.end_seconds);
  EXPECT_EQ(a.frame_tokens, b.frame_tokens);
  EXPECT_TRUE(bit_identical(a.token_offsets, b.token_offsets));
  EXPECT_TRUE(bit_identical(a.summary_keys, b.summary_keys));
  ASSERT_EQ(a.layers(), b.layers());
  for (int64_t layer = 0; layer < a.layers(); ++layer) {
    EXPECT_TRUE(bit_identical(a.keys[layer], b.keys[layer])) << layer;
    EXPECT_TRUE(bit_identical(a.values[layer], b.values[layer])) << layer;
  }
}

class ExactCodec
    : public ::testing::TestWithParam<std::tuple<torch::ScalarType, BlockCompression>> {};

TEST_P(ExactCodec, RoundTripIsBitIdentical) {
  const auto [dtype, compression] = GetParam();
  for (int64_t tokens : {1, 39, 196}) {
    const KvBlock block = make_block(dtype, tokens, 100 + tokens);
    CodecSettings settings;
    settings.compression = compression;
    const std::vector<uint8_t> bytes = encode_block(block, settings);
    EXPECT_EQ(encoded_kind(bytes.data(), bytes.size()), EncodedKind::kExact);
    const KvBlock back = decode_exact_block(bytes);
    expect_identical(block, back);
    // decode_block with the same dtype is the same block.
    expect_identical(block, decode_block(bytes.data(), bytes.size(), torch::kCPU, dtype));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Dtypes, ExactCodec,
    ::testing::Combine(::testing::Values(torch::kFloat32, torch::kBFloat16, torch::kFloat16),
                       ::testing::Values(BlockCompression::kNone, BlockCompression::kZstd)));

TEST(BlockCodec, QuantizedRoundTripIsIdenticalAndZstdShrinksIt) {
  const KvBlock block = make_block(torch::kBFloat16, 150, 7);
  for (int bits : {2, 4, 8}) {
    QuantizationSettings settings;
    settings.key_bits = settings.value_bits = bits;
    const QuantizedBlock q = quantize_block(block, settings);
    for (BlockCompression compression : {BlockCompression::kNone, BlockCompression::kZstd}) {
      CodecSettings codec;
      codec.compression = compression;
      const std::vector<uint8_t> bytes = encode_block(q, codec);
      EXPECT_EQ(encoded_kind(bytes.data(), bytes.size()), EncodedKind::kQuantized);
      const QuantizedBlock back = decode_quantized_block(bytes);
      EXPECT_EQ(back.index, q.index);
      EXPECT_EQ(back.start_seconds, q.start_seconds);
      EXPECT_EQ(back.end_seconds, q.end_seconds);
      EXPECT_EQ(back.layers, 3);
      EXPECT_EQ(back.tokens, 150);
      EXPECT_EQ(back.source_dtype, torch::kBFloat16);
      EXPECT_EQ(back.settings.key_bits, bits);
      EXPECT_EQ(back.settings.group_size, 32);
      EXPECT_TRUE(bit_identical(back.token_offsets, q.token_offsets));
      EXPECT_TRUE(bit_identical(back.summary_keys, q.summary_keys));
      for (auto [a, b] : {std::pair{&back.keys, &q.keys}, std::pair{&back.values, &q.values}}) {
        EXPECT_EQ(a->bits, b->bits);
        EXPECT_TRUE(bit_identical(a->packed, b->packed));
        EXPECT_TRUE(bit_identical(a->scales, b->scales));
        EXPECT_TRUE(bit_identical(a->zeros, b->zeros));
      }
      // decode_block dequantizes: the same tensors as dequantize_block.
      const KvBlock direct = dequantize_block(q, torch::kCPU, torch::kFloat32);
      expect_identical(direct,
                       decode_block(bytes.data(), bytes.size(), torch::kCPU, torch::kFloat32));
    }
  }
}

TEST(BlockCodec, ZstdShrinksRedundantBlocks) {
  KvBlock block = make_block(torch::kFloat32, 100, 9);
  for (auto& layer : block.values) layer = layer.round();  // few distinct values
  CodecSettings zstd;
  zstd.compression = BlockCompression::kZstd;
  const std::vector<uint8_t> plain = encode_block(block);
  const std::vector<uint8_t> packed = encode_block(block, zstd);
  EXPECT_LT(packed.size(), plain.size() * 9 / 10);
  expect_identical(block, decode_exact_block(packed));
}

TEST(BlockCodec, SummaryKeysRoundTripAndTheEarlierGroupedLayoutIsStillRead) {
  const KvBlock block = make_block(torch::kBFloat16, 50, 21);
  ASSERT_EQ(block.summary_keys.sizes(), (std::vector<int64_t>{3, 2, 16}));  // per KV head
  const std::vector<uint8_t> bytes = encode_block(block);
  expect_identical(block, decode_exact_block(bytes));
  KvBlock none = block;
  none.summary_keys = torch::Tensor();
  expect_identical(none, decode_exact_block(encode_block(none)));

  // Earlier versions wrote layout 1: the same means after their query group size (u32). The
  // layout byte follows the header, four 8-byte fields and token_offsets (dtype, rank, size,
  // byte count, data).
  const size_t layout_at = 16 + 4 * 8 + (2 + 8 + 8 + 50 * 8);
  ASSERT_EQ(bytes.at(layout_at), 0);
  std::vector<uint8_t> earlier = bytes;
  earlier[layout_at] = 1;
  const uint32_t group = 3;
  earlier.insert(earlier.begin() + static_cast<std::ptrdiff_t>(layout_at) + 1,
                 reinterpret_cast<const uint8_t*>(&group),
                 reinterpret_cast<const uint8_t*>(&group) + sizeof(group));
  uint64_t body_bytes = 0;
  std::memcpy(&body_bytes, earlier.data() + 8, 8);
  body_bytes += sizeof(group);
  std::memcpy(earlier.data() + 8, &body_bytes, 8);
  expect_identical(block, decode_exact_block(earlier));
}

std::vector<uint8_t> sample_bytes(EncodedKind kind, BlockCompression compression) {
  const KvBlock block = make_block(torch::kFloat16, 20, 3);
  CodecSettings settings;
  settings.compression = compression;
  return kind == EncodedKind::kExact ? encode_block(block, settings)
                                     : encode_block(quantize_block(block, {}), settings);
}

TEST(BlockCodec, MalformedBytesRaiseBlockFormatError) {
  const std::vector<uint8_t> bytes = sample_bytes(EncodedKind::kExact, BlockCompression::kNone);
  EXPECT_THROW(decode_exact_block(nullptr, 0), BlockFormatError);
  std::vector<uint8_t> bad = bytes;
  bad[0] = 'X';
  EXPECT_THROW(decode_exact_block(bad), BlockFormatError);
  bad = bytes;
  bad[4] = 9;  // format version 9
  try {
    decode_exact_block(bad);
    FAIL();
  } catch (const BlockFormatError& error) {
    EXPECT_NE(std::string(error.what()).find("version 9"), std::string::npos) << error.what();
  }
  bad = bytes;
  bad[7] = 7;  // unknown compression
  EXPECT_THROW(decode_exact_block(bad), BlockFormatError);
  // The wrong kind for the call.
  EXPECT_THROW(decode_quantized_block(bytes), BlockFormatError);
  EXPECT_THROW(decode_exact_block(sample_bytes(EncodedKind::kQuantized, BlockCompression::kNone)),
               BlockFormatError);
  // Trailing bytes.
  bad = bytes;
  bad.push_back(0);
  EXPECT_THROW(decode_exact_block(bad), BlockFormatError);
}

TEST(BlockCodec, EveryTruncationIsRejected) {
  for (EncodedKind kind : {EncodedKind::kExact, EncodedKind::kQuantized})
    for (BlockCompression compression : {BlockCompression::kNone, BlockCompression::kZstd}) {
      const std::vector<uint8_t> bytes = sample_bytes(kind, compression);
      for (size_t size = 0; size < bytes.size(); ++size)
        EXPECT_THROW(decode_block(bytes.data(), size, torch::kCPU, torch::kFloat32),
                     BlockFormatError)
            << size << " of " << bytes.size();
    }
}

// Single-byte damage anywhere either decodes (a flipped data byte the codec cannot tell; the
// segment store's checksums catch those) or raises BlockFormatError; never anything else.
// In a zstd frame every flip is caught (the frame's checksum).
TEST(BlockCodec, FlippedBytesNeverEscapeAsOtherErrors) {
  std::mt19937 random(17);
  for (EncodedKind kind : {EncodedKind::kExact, EncodedKind::kQuantized})
    for (BlockCompression compression : {BlockCompression::kNone, BlockCompression::kZstd}) {
      const std::vector<uint8_t> bytes = sample_bytes(kind, compression);
      int rejected = 0;
      for (int trial = 0; trial < 400; ++trial) {
        std::vector<uint8_t> bad = bytes;
        const size_t at = random() % bad.size();
        bad[at] ^= static_cast<uint8_t>(1 + random() % 255);
        try {
          decode_block(bad.data(), bad.size(), torch::kCPU, torch::kFloat32);
        } catch (const BlockFormatError&) {
          ++rejected;
        }
        // anything else propagates and fails the test
      }
      if (compression == BlockCompression::kZstd) {
        EXPECT_GE(rejected, 395);
      }
      EXPECT_GT(rejected, 0);
    }
}

}  // namespace
}  // namespace vigil::memory

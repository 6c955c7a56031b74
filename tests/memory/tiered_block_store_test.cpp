// TieredBlockStore: round trips through every tier (exact: identical; quantized: identical to
// the quantized form, whose error is printed), one layer of a spilled block read alone,
// budgets under a long synthetic stream (the counters prove them), and a full disk degrading
// to RAM with a warning.
#include "memory/tiered_block_store.h"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <random>

#include "tests/support/test_support.h"

namespace vigil::memory {
namespace {

constexpr int64_t kLayers = 3, kKvHeads = 2, kHeads = 4, kHeadDim = 16;

KvBlock random_block(int64_t index, int64_t tokens) {
  KvBlock block;
  block.index = index;
  block.start_seconds = static_cast<double>(index);
  block.end_seconds = static_cast<double>(index + 1);
  block.frame_tokens = tokens + 3;
  block.token_offsets = torch::arange(tokens) + (index % 3);
  for (int64_t l = 0; l < kLayers; ++l) {
    block.keys.push_back(torch::randn({kKvHeads, tokens, kHeadDim}) * (1 + l));
    block.values.push_back(torch::randn({kKvHeads, tokens, kHeadDim}));
  }
  compute_summary_keys(block);
  return block;
}

std::unique_ptr<SegmentStore> open_disk(const testing::TempDir& dir) {
  return SegmentStore::open(dir.file("stream"));
}

TierConfig exact_config(int64_t gpu_bytes, int64_t host_bytes) {
  TierConfig config;
  config.quantize = false;
  config.gpu_bytes = gpu_bytes;
  config.host_bytes = host_bytes;
  return config;
}

TEST(TieredBlockStore, ExactRoundTripsThroughEveryTierAreIdentical) {
  torch::manual_seed(3);
  testing::TempDir dir;
  const int64_t block_bytes = random_block(0, 10).kv_bytes();
  const int64_t layer_bytes = block_bytes / kLayers;
  TieredBlockStore store(exact_config(2 * layer_bytes, 3 * block_bytes), torch::kCPU,
                         torch::kFloat32, open_disk(dir));
  std::vector<KvBlock> blocks;
  for (int64_t i = 0; i < 12; ++i) {
    blocks.push_back(random_block(i, 10));
    store.put(blocks.back());
  }
  TierCounters counters = store.counters();
  EXPECT_EQ(counters.host_blocks, 3);
  EXPECT_GE(counters.disk_blocks, 9);
  // Oldest first: these come from disk, then the host tier, then the GPU cache.
  for (int pass = 0; pass < 2; ++pass) {
    for (const KvBlock& block : blocks) {
      const KvBlock back = store.fetch_block(block.index);
      for (int64_t l = 0; l < kLayers; ++l) {
        EXPECT_TRUE(torch::equal(back.keys[l], block.keys[l])) << block.index;
        EXPECT_TRUE(torch::equal(back.values[l], block.values[l])) << block.index;
      }
      EXPECT_TRUE(torch::equal(back.token_offsets, block.token_offsets));
      for (int l = 0; l < kLayers; ++l) {
        const std::vector<LayerKv> fetched = store.fetch(l, {block.index});
        EXPECT_TRUE(torch::equal(fetched[0].keys, block.keys[l]));
        EXPECT_TRUE(torch::equal(fetched[0].values, block.values[l]));
        EXPECT_TRUE(torch::equal(fetched[0].token_offsets, block.token_offsets));
        EXPECT_EQ(fetched[0].frame_tokens, block.frame_tokens);
        const std::vector<LayerKv> again = store.fetch(l, {block.index});  // GPU hit
        EXPECT_TRUE(torch::equal(again[0].keys, block.keys[l]));
      }
    }
  }
  counters = store.counters();
  EXPECT_GT(counters.disk_reads, 0);
  EXPECT_GT(counters.host_hits, 0);
  EXPECT_GT(counters.gpu_hits, 0);
  EXPECT_GT(counters.host_to_disk, 0);
  EXPECT_GT(counters.gpu_evictions, 0);
  EXPECT_LE(counters.host_peak_bytes, 3 * block_bytes);
  EXPECT_LE(counters.gpu_peak_bytes, 2 * layer_bytes);
}

TEST(TieredBlockStore, QuantizedRoundTripsEqualTheQuantizedFormInEveryTier) {
  for (const int bits : {2, 4, 8}) {
    torch::manual_seed(4);
    testing::TempDir dir;
    TierConfig config = exact_config(1 << 20, 0);  // host budget 0: every block spills to disk
    config.quantize = true;
    config.quantization.key_bits = bits;
    config.quantization.value_bits = bits;
    const int64_t tokens = 40;  // a full key group of 32 and a remainder group
    TieredBlockStore store(config, torch::kCPU, torch::kFloat32, open_disk(dir));
    std::vector<KvBlock> blocks;
    for (int64_t i = 0; i < 4; ++i) {
      blocks.push_back(random_block(i, tokens));
      store.put(blocks.back());
    }
    double key_error = 0, value_error = 0;
    for (const KvBlock& block : blocks) {
      const KvBlock expected = dequantize_block(quantize_block(block, config.quantization),
                                                torch::kCPU, torch::kFloat32);
      const KvBlock back = store.fetch_block(block.index);  // from disk
      for (int l = 0; l < kLayers; ++l) {
        EXPECT_TRUE(torch::equal(back.keys[l], expected.keys[l])) << bits << " bits";
        EXPECT_TRUE(torch::equal(back.values[l], expected.values[l])) << bits << " bits";
        const std::vector<LayerKv> fetched = store.fetch(l, {block.index});  // one layer
        EXPECT_TRUE(torch::equal(fetched[0].keys, expected.keys[l])) << bits << " bits";
        EXPECT_TRUE(torch::equal(fetched[0].values, expected.values[l])) << bits << " bits";
        key_error =
            std::max(key_error,
                     ((back.keys[l] - block.keys[l]).norm() / block.keys[l].norm()).item<double>());
        value_error = std::max(
            value_error,
            ((back.values[l] - block.values[l]).norm() / block.values[l].norm()).item<double>());
      }
    }
    std::printf("[ quantized ] %d bits: relative error (Frobenius, worst layer) K %.4f V %.4f\n",
                bits, key_error, value_error);
    EXPECT_LT(key_error, bits == 2 ? 0.5 : bits == 4 ? 0.1 : 0.01);
    EXPECT_LT(value_error, bits == 2 ? 0.5 : bits == 4 ? 0.1 : 0.01);
    EXPECT_GT(store.counters().disk_reads, 0);
  }
}

TEST(TieredBlockStore, BlocksPutTogetherOnCudaComeBackAsTheirQuantizedFormFromRamAndDisk) {
  // put_all on a CUDA store brings a step's codes, scales and zero points to the host in one
  // copy and splits them there: each block must come back exactly as quantized alone.
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  for (const int64_t host_bytes : {int64_t{1} << 30, int64_t{0}}) {  // stays in RAM; spills
    torch::manual_seed(6);
    testing::TempDir dir;
    TierConfig config = exact_config(0, host_bytes);
    config.quantize = true;
    TieredBlockStore store(config, torch::kCUDA, torch::kBFloat16, open_disk(dir));
    std::vector<KvBlock> blocks;
    for (const int64_t tokens : {40, 1, 33, 7, 64}) {
      KvBlock block = random_block(static_cast<int64_t>(blocks.size()), tokens);
      for (torch::Tensor& k : block.keys) k = k.to(torch::kCUDA, torch::kBFloat16);
      for (torch::Tensor& v : block.values) v = v.to(torch::kCUDA, torch::kBFloat16);
      block.summary_keys = block.summary_keys.to(torch::kCUDA);
      blocks.push_back(std::move(block));
    }
    store.put_all(blocks);
    for (const KvBlock& block : blocks) {
      const KvBlock expected = dequantize_block(quantize_block(block, config.quantization),
                                                torch::kCUDA, torch::kBFloat16);
      const KvBlock back = store.fetch_block(block.index);
      for (int l = 0; l < kLayers; ++l) {
        EXPECT_TRUE(torch::equal(back.keys[l].to(torch::kCUDA), expected.keys[l]))
            << "block " << block.index << " layer " << l << " host bytes " << host_bytes;
        EXPECT_TRUE(torch::equal(back.values[l].to(torch::kCUDA), expected.values[l]))
            << "block " << block.index << " layer " << l << " host bytes " << host_bytes;
      }
    }
  }
}

// Retrieval asks for one layer of many blocks: a spilled block gives just that layer, read
// alone from its record (a fraction of its bytes), and is not pulled back into the host tier.
// A damaged layer is a clear CorruptBlockError; the other blocks stay readable.
TEST(TieredBlockStore, ALayerOfASpilledBlockIsReadAloneAndADamagedOneIsAClearError) {
  torch::manual_seed(8);
  testing::TempDir dir;
  TierConfig config = exact_config(1 << 20, 0);  // host budget 0: every block spills to disk
  config.quantize = true;
  std::unique_ptr<SegmentStore> disk = open_disk(dir);
  SegmentStore& segments = *disk;
  TieredBlockStore store(config, torch::kCPU, torch::kFloat32, std::move(disk));
  std::vector<KvBlock> blocks;
  for (int64_t i = 0; i < 4; ++i) {
    blocks.push_back(random_block(i, 32));
    store.put(blocks.back());
  }
  // The newest block stays in RAM (the host tier keeps the block it just took); 0..2 spilled.
  ASSERT_EQ(store.counters().disk_blocks, 3);
  ASSERT_EQ(store.counters().host_blocks, 1);
  const uint64_t record_bytes = segments.payload_size(0);
  const SegmentStoreCounters before = segments.counters();
  const std::vector<LayerKv> fetched = store.fetch(1, {3, 0, 2, 1});
  const SegmentStoreCounters after = segments.counters();
  for (size_t i = 0; i < fetched.size(); ++i) {
    const KvBlock& block = blocks[static_cast<size_t>(fetched[i].block_index)];
    const KvBlock expected =
        dequantize_block(quantize_block(block, config.quantization), torch::kCPU, torch::kFloat32);
    EXPECT_TRUE(torch::equal(fetched[i].keys, expected.keys[1])) << fetched[i].block_index;
    EXPECT_TRUE(torch::equal(fetched[i].values, expected.values[1])) << fetched[i].block_index;
  }
  EXPECT_EQ(fetched[0].block_index, 3);
  EXPECT_EQ(after.blocks_read, before.blocks_read);  // no whole record
  EXPECT_EQ(after.ranges_read - before.ranges_read, 3);
  // One of three layers: about a third of each record.
  EXPECT_LT(static_cast<uint64_t>(after.bytes_read - before.bytes_read), 3 * record_bytes / 2);
  EXPECT_EQ(store.counters().disk_reads, 3);
  EXPECT_EQ(store.counters().host_hits, 1);
  EXPECT_EQ(store.counters().host_blocks, 1);  // nothing pulled back into RAM

  // Damage layer 2 of block 2 in the segment file: found by its bytes.
  const std::vector<uint8_t> record = segments.read(2);
  const std::vector<LayerPart> parts =
      decode_layer_table(record.data(), record.size(), record.size());
  const std::string path = segments.directory() + "/segment-000001.vseg";
  const std::vector<uint8_t> file = testing::read_file(path);
  const auto layer_begin = record.begin() + static_cast<std::ptrdiff_t>(parts[2].offset);
  const auto found = std::search(file.begin(), file.end(), layer_begin,
                                 layer_begin + static_cast<std::ptrdiff_t>(parts[2].size));
  ASSERT_NE(found, file.end());
  const uint64_t at = static_cast<uint64_t>(found - file.begin()) + parts[2].size / 2;
  {
    FILE* handle = std::fopen(path.c_str(), "r+b");
    ASSERT_NE(handle, nullptr);
    ASSERT_EQ(std::fseek(handle, static_cast<long>(at), SEEK_SET), 0);
    const int byte = std::fgetc(handle);
    ASSERT_EQ(std::fseek(handle, static_cast<long>(at), SEEK_SET), 0);
    std::fputc(byte ^ 0x5A, handle);
    std::fclose(handle);
  }
  EXPECT_THROW(store.fetch(2, {2}), CorruptBlockError);
  EXPECT_FALSE(segments.contains(2));  // the whole record's checksum confirmed it
  const std::vector<LayerKv> others = store.fetch(2, {0, 1, 3});
  EXPECT_EQ(others.size(), 3u);
}

TEST(TieredBlockStore, LongStreamStaysWithinEveryBudget) {
  torch::manual_seed(5);
  testing::TempDir dir;
  TierConfig config;
  config.quantize = true;
  config.quantization.key_bits = 4;
  config.quantization.value_bits = 4;
  const int64_t quantized_bytes =
      quantize_block(random_block(0, 24), config.quantization).kv_bytes();
  const int64_t layer_bytes = random_block(0, 24).kv_bytes() / kLayers;
  config.host_bytes = 20 * quantized_bytes;
  config.gpu_bytes = 16 * layer_bytes;
  TieredBlockStore store(config, torch::kCPU, torch::kFloat32, open_disk(dir));
  std::mt19937 random(7);
  for (int64_t i = 0; i < 400; ++i) {
    store.put(random_block(i, 24));
    if (i % 10 == 9) {  // a question: 8 blocks from anywhere in the past, per layer
      for (int l = 0; l < kLayers; ++l) {
        std::vector<int64_t> wanted;
        while (wanted.size() < 8) {
          const int64_t b = static_cast<int64_t>(random() % static_cast<uint32_t>(i + 1));
          if (std::find(wanted.begin(), wanted.end(), b) == wanted.end()) wanted.push_back(b);
        }
        const std::vector<LayerKv> got = store.fetch(l, wanted);
        ASSERT_EQ(got.size(), wanted.size());
        for (size_t j = 0; j < got.size(); ++j) EXPECT_EQ(got[j].block_index, wanted[j]);
      }
    }
    const TierCounters counters = store.counters();
    ASSERT_LE(counters.host_bytes, config.host_bytes) << "after block " << i;
    ASSERT_LE(counters.gpu_bytes, config.gpu_bytes) << "after block " << i;
  }
  const TierCounters counters = store.counters();
  EXPECT_EQ(counters.blocks_put, 400);
  EXPECT_LE(counters.host_peak_bytes, config.host_bytes);
  EXPECT_LE(counters.gpu_peak_bytes, config.gpu_bytes);
  EXPECT_EQ(counters.host_blocks, 20);
  EXPECT_GE(counters.disk_blocks, 380);
  EXPECT_GT(counters.disk_reads, 0);
  EXPECT_EQ(counters.gpu_hits + counters.gpu_misses, 40 * kLayers * 8);
  EXPECT_EQ(counters.host_hits + counters.disk_reads, counters.gpu_misses);
  EXPECT_FALSE(counters.disk_degraded);
  std::printf(
      "[ counters  ] host %lld B in %lld blocks, disk %lld B in %lld blocks, GPU %lld B "
      "in %lld entries; hits %lld, misses %lld (host %lld, disk %lld)\n",
      static_cast<long long>(counters.host_bytes), static_cast<long long>(counters.host_blocks),
      static_cast<long long>(counters.disk_bytes), static_cast<long long>(counters.disk_blocks),
      static_cast<long long>(counters.gpu_bytes), static_cast<long long>(counters.gpu_entries),
      static_cast<long long>(counters.gpu_hits), static_cast<long long>(counters.gpu_misses),
      static_cast<long long>(counters.host_hits), static_cast<long long>(counters.disk_reads));
}

// Restores the file-size limit when the test ends, however it ends.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    getrlimit(RLIMIT_FSIZE, &saved_);
    rlimit limited = saved_;
    limited.rlim_cur = bytes;
    setrlimit(RLIMIT_FSIZE, &limited);
  }
  ~FileSizeLimit() { setrlimit(RLIMIT_FSIZE, &saved_); }

 private:
  rlimit saved_{};
};

TEST(TieredBlockStore, AFullDiskDegradesToRamWithAWarning) {
  torch::manual_seed(6);
  testing::TempDir dir;
  const int64_t block_bytes = random_block(0, 10).kv_bytes();
  TierConfig config = exact_config(1 << 20, 2 * block_bytes);
  std::vector<std::string> warnings;
  config.on_warning = [&](const std::string& message) { warnings.push_back(message); };
  TieredBlockStore store(config, torch::kCPU, torch::kFloat32, open_disk(dir));
  std::vector<KvBlock> blocks;
  {
    // Segment files may not grow past ~3 blocks: later spills fail with EFBIG.
    const FileSizeLimit limit(static_cast<rlim_t>(3 * block_bytes + 4096));
    for (int64_t i = 0; i < 12; ++i) {
      blocks.push_back(random_block(i, 10));
      store.put(blocks.back());
    }
  }
  const TierCounters counters = store.counters();
  EXPECT_TRUE(counters.disk_degraded);
  EXPECT_GE(counters.disk_write_failures, 1);
  EXPECT_GT(counters.host_bytes, config.host_bytes);  // degraded: RAM holds the rest
  EXPECT_GE(counters.disk_blocks, 1);
  ASSERT_FALSE(warnings.empty());
  EXPECT_NE(warnings.front().find("disk tier full"), std::string::npos) << warnings.front();
  for (const KvBlock& block : blocks) {  // nothing lost
    const KvBlock back = store.fetch_block(block.index);
    for (int64_t l = 0; l < kLayers; ++l) {
      EXPECT_TRUE(torch::equal(back.keys[l], block.keys[l])) << block.index;
    }
  }
}

}  // namespace
}  // namespace vigil::memory

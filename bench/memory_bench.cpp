// vigil_memory_bench [--blocks N,N,...] [--index-layers L] [--tokens T] [--repeats R]
//                    [--disk-blocks N]
// Retrieval latency for Qwen2-7B shapes (28 layers, 28 query heads, 4 KV heads, head_dim 128)
// with random blocks (retrieval needs no weights): per layer, FAISS flat search over N blocks'
// summary keys (one mean key per KV head: 512 floats; a 3,584-float query is folded over the
// query groups) plus adaptive top-k, next to BlockIndex::retrieve (torch, fp32: on CUDA with
// every block's keys on the card, then with only the newest half there and the rest scored on
// the host, as a stream longer than its index_gpu_bytes is) and a bare fp16/fp32 matmul + topk;
// then the fetch of 64 retrieved blocks per layer from the host tier (4-bit KIVI and exact)
// onto the store's device, for all 28 layers, and the same from the disk tier (--disk-blocks
// spilled blocks, page cache dropped). Only `--index-layers` layers are indexed; the
// per-question time is the per-layer median times 28. Prints one line per measurement.
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <numeric>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "memory/block_index.h"
#include "memory/segment_store.h"
#include "memory/tiered_block_store.h"

namespace {

using vigil::memory::AttentionShape;
using vigil::memory::BlockIndex;
using vigil::memory::BlockMetric;
using vigil::memory::KvBlock;
using vigil::memory::RetrievalConfig;
using vigil::memory::SegmentStore;
using vigil::memory::TierConfig;
using vigil::memory::TieredBlockStore;

constexpr int64_t kLayers = 28, kHeads = 28, kKvHeads = 4, kHeadDim = 128;
constexpr int64_t kQueryDim = kHeads * kHeadDim, kKeyDim = kKvHeads * kHeadDim;

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

template <typename F>
double time_ms(F&& f) {
  const auto start = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

void bench_index(int64_t blocks, int64_t index_layers, int repeats) {
  // BlockIndex scores with torch on the model's device (the keys live there on CUDA).
  const torch::Device device = torch::cuda::is_available() ? torch::kCUDA : torch::kCPU;
  const AttentionShape shape{index_layers, kHeads, kKvHeads, kHeadDim};
  const int64_t row_bytes = index_layers * kKeyDim * static_cast<int64_t>(sizeof(float));
  // Every block's keys on the device, and (CUDA) only the newest half of them.
  BlockIndex index(shape, BlockMetric::kInnerProduct, device,
                   device.is_cuda() ? blocks * row_bytes : 0);
  BlockIndex half(shape, BlockMetric::kInnerProduct, device,
                  device.is_cuda() ? (blocks / 2) * row_bytes : 0);
  for (int64_t b = 0; b < blocks; ++b) {
    const torch::Tensor keys = torch::randn({index_layers, kKvHeads, kHeadDim});
    index.add(b, keys);
    if (device.is_cuda()) half.add(b, keys);
  }
  const RetrievalConfig config;  // 4..64, fraction 0.5
  std::vector<double> faiss_ms, index_ms, half_ms, matmul_ms;
  for (int r = 0; r < repeats; ++r) {
    const int layer = static_cast<int>(r % index_layers);
    const torch::Tensor query = torch::randn({kQueryDim});
    size_t kept = 0;
    faiss_ms.push_back(time_ms([&] {
      auto found =
          index.search_faiss(layer, query.reshape({1, kQueryDim}), config.max_blocks, blocks);
      kept = vigil::memory::select_adaptive(std::move(found.front()), config).size();
    }));
    const torch::Tensor device_query = query.to(device);  // as the model hands it over
    index_ms.push_back(
        time_ms([&] { kept = index.retrieve(layer, device_query, config, blocks).size(); }));
    if (device.is_cuda()) {
      half_ms.push_back(
          time_ms([&] { kept = half.retrieve(layer, device_query, config, blocks).size(); }));
    }
    (void)kept;
  }
  // The same scoring as one matmul in the model's dtype (fp16 on CUDA), for comparison.
  const torch::ScalarType dtype = device.is_cuda() ? torch::kFloat16 : torch::kFloat32;
  const torch::Tensor matrix = torch::randn({blocks, kKeyDim}).to(device, dtype);
  for (int r = 0; r < repeats; ++r) {
    const torch::Tensor query = torch::randn({kKeyDim}).to(device, dtype);
    matmul_ms.push_back(time_ms([&] {
      const torch::Tensor top = std::get<1>(torch::matmul(matrix, query).topk(64)).cpu();
      (void)top;
    }));
  }
  std::printf(
      "blocks %6lld  FAISS flat IP + adaptive top-k: %8.3f ms/layer, %9.2f ms/question | "
      "BlockIndex::retrieve on %s (fp32, %d CPU threads): %8.3f ms/layer, %9.2f ms/question "
      "(x%lld layers) | %s matmul+topk: %8.3f ms/layer\n",
      static_cast<long long>(blocks), median(faiss_ms), median(faiss_ms) * kLayers,
      device.str().c_str(), torch::get_num_threads(), median(index_ms), median(index_ms) * kLayers,
      static_cast<long long>(kLayers), device.is_cuda() ? "fp16" : "fp32", median(matmul_ms));
  if (!half_ms.empty()) {
    std::printf(
        "blocks %6lld  BlockIndex::retrieve, newest half on %s (%.1f MiB), oldest half on the "
        "host: %8.3f ms/layer, %9.2f ms/question\n",
        static_cast<long long>(blocks), device.str().c_str(),
        static_cast<double>(half.device_bytes_reserved()) / (1 << 20), median(half_ms),
        median(half_ms) * kLayers);
  }
}

// A frame's block of random keys and values: Qwen2-7B's layers and heads, `tokens` kept tokens.
KvBlock random_block(int64_t index, int64_t tokens, torch::ScalarType dtype) {
  KvBlock block;
  block.index = index;
  block.frame_tokens = 196;
  block.token_offsets = torch::arange(tokens);
  for (int64_t l = 0; l < kLayers; ++l) {
    block.keys.push_back(torch::randn({kKvHeads, tokens, kHeadDim}).to(dtype));
    block.values.push_back(torch::randn({kKvHeads, tokens, kHeadDim}).to(dtype));
  }
  vigil::memory::compute_summary_keys(block);
  return block;
}

void bench_fetch(bool quantize, int64_t tokens, int repeats, torch::Device device,
                 torch::ScalarType dtype) {
  constexpr int64_t kRetrieved = 64;
  TierConfig config;
  config.quantize = quantize;
  config.gpu_bytes = 0;  // every fetch misses the GPU cache: the worst case
  config.host_bytes = int64_t{1} << 40;
  TieredBlockStore store(config, device, dtype, nullptr);
  for (int64_t b = 0; b < kRetrieved; ++b) {
    store.put(random_block(b, tokens, dtype));
  }
  std::vector<int64_t> ids(kRetrieved);
  std::iota(ids.begin(), ids.end(), 0);
  std::vector<double> per_question;
  for (int r = 0; r < repeats; ++r) {
    per_question.push_back(time_ms([&] {
      for (int l = 0; l < kLayers; ++l) store.fetch(l, ids);
      if (device.is_cuda()) torch::cuda::synchronize();
    }));
  }
  const double megabytes = static_cast<double>(store.counters().host_bytes) / 1e6;
  std::printf(
      "fetch %s: %lld blocks x %lld layers of %lld tokens (%.1f MB in host RAM) to %s: "
      "%8.2f ms/question\n",
      quantize ? "4-bit" : "exact", static_cast<long long>(kRetrieved),
      static_cast<long long>(kLayers), static_cast<long long>(tokens), megabytes,
      device.str().c_str(), median(per_question));
}

// A question's fetches from the disk tier: 64 blocks per layer, different ones in each layer
// (retrieval picks per layer), all 28 layers, 4-bit or exact blocks spilled to disk and dropped
// from the page cache first (on a CPU device, 4-bit times are mostly dequantization). fetch() reads
// each block's one layer alone (memory/layered_record.h); for comparison, reading each distinct
// block whole (fetch_block: what fetch() did before, one whole record per block, kept in the host
// tier for the next layers).
void bench_disk_fetch(bool quantize, int64_t stored, int64_t tokens, int repeats,
                      torch::Device device, torch::ScalarType dtype) {
  constexpr int64_t kRetrieved = 64;
  const std::string directory = "/tmp/vigil_memory_bench_disk";
  vigil::bench::remove_tree(directory);
  TierConfig config;
  config.quantize = quantize;
  config.gpu_bytes = 0;   // every fetch misses the GPU cache
  config.host_bytes = 0;  // every block but the newest spills to disk
  TieredBlockStore store(config, device, dtype, SegmentStore::open(directory));
  for (int64_t b = 0; b < stored; ++b) {
    store.put(random_block(b, tokens, dtype));
  }
  std::mt19937 random(7);
  const auto pick = [&] {  // per layer, kRetrieved distinct spilled blocks
    std::vector<std::vector<int64_t>> ids(kLayers);
    for (std::vector<int64_t>& layer : ids) {
      std::vector<int64_t> all(static_cast<size_t>(stored - 1));
      std::iota(all.begin(), all.end(), 0);
      std::shuffle(all.begin(), all.end(), random);
      layer.assign(all.begin(), all.begin() + kRetrieved);
    }
    return ids;
  };
  std::vector<double> layers_ms, whole_ms;
  int64_t layer_bytes = 0, whole_bytes = 0, distinct = 0;
  for (int r = 0; r < repeats; ++r) {
    const std::vector<std::vector<int64_t>> ids = pick();
    vigil::bench::drop_page_cache(directory);
    int64_t read_before = store.counters().disk_bytes_read;
    layers_ms.push_back(time_ms([&] {
      for (int l = 0; l < kLayers; ++l) store.fetch(l, ids[static_cast<size_t>(l)]);
      if (device.is_cuda()) torch::cuda::synchronize();
    }));
    layer_bytes += store.counters().disk_bytes_read - read_before;
    std::set<int64_t> blocks;
    for (const std::vector<int64_t>& layer : ids) blocks.insert(layer.begin(), layer.end());
    distinct += static_cast<int64_t>(blocks.size());
    vigil::bench::drop_page_cache(directory);
    read_before = store.counters().disk_bytes_read;
    whole_ms.push_back(time_ms([&] {
      for (const int64_t block : blocks) store.fetch_block(block);
      if (device.is_cuda()) torch::cuda::synchronize();
    }));
    whole_bytes += store.counters().disk_bytes_read - read_before;
  }
  std::printf(
      "disk fetch, %s, %lld blocks of %lld tokens on disk (%.0f MB), %lld per layer x %lld "
      "layers (%.0f distinct blocks): one layer per block %8.1f ms/question, %.1f MB read | "
      "whole blocks %8.1f ms/question, %.1f MB read\n",
      quantize ? "4-bit" : "exact", static_cast<long long>(stored), static_cast<long long>(tokens),
      static_cast<double>(store.counters().disk_bytes) / 1e6, static_cast<long long>(kRetrieved),
      static_cast<long long>(kLayers), static_cast<double>(distinct) / repeats, median(layers_ms),
      static_cast<double>(layer_bytes) / repeats / 1e6, median(whole_ms),
      static_cast<double>(whole_bytes) / repeats / 1e6);
  vigil::bench::remove_tree(directory);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int64_t> block_counts = {3600, 36000};
  int64_t index_layers = 2, tokens = 40;
  int repeats = 20;
  int64_t disk_blocks = 1000;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--blocks") block_counts = vigil::bench::parse_list(argv[i + 1]);
    if (flag == "--index-layers") index_layers = std::stoll(argv[i + 1]);
    if (flag == "--tokens") tokens = std::stoll(argv[i + 1]);
    if (flag == "--repeats") repeats = std::stoi(argv[i + 1]);
    if (flag == "--disk-blocks") disk_blocks = std::stoll(argv[i + 1]);
  }
  torch::NoGradGuard no_grad;
  torch::manual_seed(0);
  const torch::Device device = torch::cuda::is_available() ? torch::kCUDA : torch::kCPU;
  const torch::ScalarType dtype = device.is_cuda() ? torch::kBFloat16 : torch::kFloat32;
  for (const int64_t blocks : block_counts) bench_index(blocks, index_layers, repeats);
  bench_fetch(true, tokens, repeats, device, dtype);
  bench_fetch(false, tokens, repeats, device, dtype);
  bench_disk_fetch(true, disk_blocks, 39, std::max(1, repeats / 4), device, dtype);
  bench_disk_fetch(false, disk_blocks, 39, std::max(1, repeats / 4), device, dtype);
  return 0;
}

// vigil_memory_bench [--blocks N,N,...] [--index-layers L] [--tokens T] [--repeats R]
// Retrieval latency for Qwen2-7B shapes (28 layers, 28 query heads, 4 KV heads, head_dim 128)
// with random blocks (retrieval needs no weights): per layer, FAISS flat search over N blocks'
// summary keys (3,584 floats) plus adaptive top-k, next to BlockIndex::retrieve (torch on the
// model's device, fp32) and a bare fp16/fp32 matmul + topk; then the fetch of 64 retrieved blocks
// per layer from the host tier (4-bit KIVI and exact) onto the store's device, for all 28 layers.
// Only `--index-layers` layers are indexed (an index of 36,000 blocks x 28 layers is 14.4 GB of
// fp32); the per-question time is the per-layer median times 28. Prints one line per measurement.
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <numeric>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "memory/block_index.h"
#include "memory/tiered_block_store.h"

namespace {

using vigil::memory::BlockIndex;
using vigil::memory::BlockMetric;
using vigil::memory::KvBlock;
using vigil::memory::RetrievalConfig;
using vigil::memory::TierConfig;
using vigil::memory::TieredBlockStore;

constexpr int64_t kLayers = 28, kHeads = 28, kKvHeads = 4, kHeadDim = 128;
constexpr int64_t kDim = kHeads * kHeadDim;

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
  BlockIndex index(index_layers, kDim, BlockMetric::kInnerProduct, device);
  for (int64_t b = 0; b < blocks; ++b) index.add(b, torch::randn({index_layers, kHeads, kHeadDim}));
  const RetrievalConfig config;  // 4..64, fraction 0.5
  std::vector<double> faiss_ms, index_ms, matmul_ms;
  for (int r = 0; r < repeats; ++r) {
    const int layer = static_cast<int>(r % index_layers);
    const torch::Tensor query = torch::randn({kDim});
    size_t kept = 0;
    faiss_ms.push_back(time_ms([&] {
      auto found = index.search_faiss(layer, query.reshape({1, kDim}), config.max_blocks, blocks);
      kept = vigil::memory::select_adaptive(std::move(found.front()), config).size();
    }));
    const torch::Tensor device_query = query.to(device);  // as the model hands it over
    index_ms.push_back(
        time_ms([&] { kept = index.retrieve(layer, device_query, config, blocks).size(); }));
    (void)kept;
  }
  // The same scoring as one matmul in the model's dtype (fp16 on CUDA), for comparison.
  const torch::ScalarType dtype = device.is_cuda() ? torch::kFloat16 : torch::kFloat32;
  const torch::Tensor matrix = torch::randn({blocks, kDim}).to(device, dtype);
  for (int r = 0; r < repeats; ++r) {
    const torch::Tensor query = torch::randn({kDim}).to(device, dtype);
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
    KvBlock block;
    block.index = b;
    block.frame_tokens = 196;
    block.token_offsets = torch::arange(tokens);
    for (int64_t l = 0; l < kLayers; ++l) {
      block.keys.push_back(torch::randn({kKvHeads, tokens, kHeadDim}).to(dtype));
      block.values.push_back(torch::randn({kKvHeads, tokens, kHeadDim}).to(dtype));
    }
    vigil::memory::compute_summary_keys(block, kHeads);
    store.put(block);
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

}  // namespace

int main(int argc, char** argv) {
  std::vector<int64_t> block_counts = {3600, 36000};
  int64_t index_layers = 2, tokens = 40;
  int repeats = 20;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--blocks") block_counts = vigil::bench::parse_list(argv[i + 1]);
    if (flag == "--index-layers") index_layers = std::stoll(argv[i + 1]);
    if (flag == "--tokens") tokens = std::stoll(argv[i + 1]);
    if (flag == "--repeats") repeats = std::stoi(argv[i + 1]);
  }
  torch::NoGradGuard no_grad;
  torch::manual_seed(0);
  const torch::Device device = torch::cuda::is_available() ? torch::kCUDA : torch::kCPU;
  const torch::ScalarType dtype = device.is_cuda() ? torch::kBFloat16 : torch::kFloat32;
  for (const int64_t blocks : block_counts) bench_index(blocks, index_layers, repeats);
  bench_fetch(true, tokens, repeats, device, dtype);
  bench_fetch(false, tokens, repeats, device, dtype);
  return 0;
}

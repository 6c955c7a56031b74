// Retrieval over a stream's blocks: per layer, a FAISS flat index of the blocks' summary keys
// (ReKV's "internal retrieval"). A question's mean pre-RoPE query in a layer scores every block
// of that layer; an adaptive top-k of them, in time order, goes into the answer's context.
#pragma once

#include <faiss/IndexFlat.h>
#include <torch/torch.h>

#include <cstdint>
#include <limits>
#include <memory>
#include <utility>
#include <vector>

namespace vigil::memory {

// How a block's summary key is compared with a question's query.
enum class BlockMetric {
  kInnerProduct,  // dot product (ReKV)
  kCosine,        // dot product of L2-normalised vectors (Dispider)
};

// Adaptive top-k. The index returns the best `max_blocks` candidates (score descending); with
// `best` the first score and `floor` the last one, a candidate is kept while its score is at
// least best - score_fraction * (best - floor), and the count is clamped to [min_blocks,
// max_blocks]. The rule depends on neither the scale nor the offset of the scores, so it works
// the same for raw dot products and cosines: a question that singles out a few frames (a steep
// head) gets few blocks, one that matches many alike (a flat head) gets up to max_blocks.
// score_fraction = 1 keeps all max_blocks candidates (ReKV's fixed top-k); 0 keeps min_blocks.
// Defaults: ReKV retrieves 64 frames; DESIGN.md's range is 4..64; Dispider clamps to 4..28.
struct RetrievalConfig {
  int64_t min_blocks = 4;
  int64_t max_blocks = 64;
  double score_fraction = 0.5;
  BlockMetric metric = BlockMetric::kInnerProduct;
};

// A span of stream time in seconds, both ends included; the default holds all of it.
struct TimeWindow {
  double start_seconds = -std::numeric_limits<double>::infinity();
  double end_seconds = std::numeric_limits<double>::infinity();
  bool bounded() const {
    return start_seconds != -std::numeric_limits<double>::infinity() ||
           end_seconds != std::numeric_limits<double>::infinity();
  }
};

// The blocks whose index is in [first_block, end_block): what a search may return.
struct BlockRange {
  int64_t first_block = 0;
  int64_t end_block = std::numeric_limits<int64_t>::max();
  bool contains(int64_t block_index) const {
    return block_index >= first_block && block_index < end_block;
  }
};

struct ScoredBlock {
  int64_t block_index = 0;  // KvBlock::index
  float score = 0.0f;
};

// Applies RetrievalConfig's adaptive rule to candidates sorted by score (descending) and returns
// the kept ones sorted by block index (time order).
std::vector<ScoredBlock> select_adaptive(std::vector<ScoredBlock> candidates,
                                         const RetrievalConfig& config);

// One stream's index: per layer, the blocks' summary keys (`dimension` = attention_heads *
// head_dim; cosine: L2-normalised before they are stored).
//   * A FAISS IndexFlatIP per layer in host RAM holds every key: the source of truth
//     (search_faiss()) and, on a CPU device, the storage that search() scores in place.
//   * search()/retrieve() score with one matrix-vector product (a matmul for several queries)
//     plus topk over the blocks below `before_block`, with torch on `device`. On a CUDA device
//     (ReKV keeps the summary matrix on the GPU) the keys are also kept there, per layer, as an
//     fp32 tensor [capacity, dimension]: fp32 so that scores, and so the blocks and their order,
//     equal FAISS's up to float ties (fp32 accumulation of bf16 keys would not: rounding the
//     keys moves the scores by ~0.4%); 36,000 blocks x 28 layers x 3,584 is 14.4 GB. Capacity
//     doubles from 256 rows up to 4,096 and then grows 4,096 rows at a time, so at most 1.6 GB
//     (Qwen2-7B) is reserved and unused; a growth copies one layer at a time on the device.
//     On CUDA, a process that enables TF32 for cuBLAS (at::globalContext().setAllowTF32CuBLAS)
//     lowers the precision of several-query search(); one query uses a GEMV, which is fp32.
//   * On a CPU device the torch product (BLAS GEMV, torch's threads) reads FAISS's own storage,
//     no copy: it measured 3-5x faster than FAISS's flat search for one query (3,600 blocks,
//     a loaded 2-core machine, 1 torch thread: 2.5-6.8 ms against 12-25 ms per layer).
//   * On an H200 (bench/memory_bench.cpp): 0.39 ms per layer at 3,600 blocks, 0.42 ms at
//     36,000, against FAISS's 19.7 / 148 ms.
//   * Time windows: each block has a time range, and blocks come in time order, so the blocks
//     of a window are a range of indices (blocks_in()) and searching them scores a contiguous
//     slice of rows, as before_block does.
// Not thread-safe for add() concurrent with search(); concurrent searches are fine.
class BlockIndex {
 public:
  BlockIndex(int64_t layers, int64_t dimension, BlockMetric metric,
             torch::Device device = torch::kCPU);
  ~BlockIndex();
  BlockIndex(const BlockIndex&) = delete;
  BlockIndex& operator=(const BlockIndex&) = delete;

  // Adds a block: summary_keys fp32 [layers, attention_heads, head_dim] (KvBlock::
  // summary_keys, any device), shown over [start_seconds, end_seconds) of stream time. Block
  // indices must be added in increasing order, and start times must not decrease (time order).
  void add(int64_t block_index, const torch::Tensor& summary_keys, double start_seconds = 0.0,
           double end_seconds = 0.0);
  // Frames up to until_seconds left no block (token drop kept nothing of them): the newest
  // block covers their time (blocks_in). No-op before the first block.
  void cover_until(double until_seconds);
  // The time the indexed blocks cover together, [first block's start, where the last one's
  // coverage ends): a window holds blocks iff it overlaps it. Needs size() > 0.
  TimeWindow time_covered() const;
  // Blocks indexed.
  int64_t size() const { return static_cast<int64_t>(block_indices_.size()); }
  // Blocks indexed whose index is below before_block.
  int64_t count_before(int64_t before_block) const;
  // Blocks indexed whose index is in range.
  int64_t count_in(const BlockRange& range) const;
  // The blocks whose time overlaps window (first_block == end_block when none does). A block
  // covers its own time range and, when later frames left no block (token drop kept nothing
  // of them), the time up to the next block's start: what those frames showed is in it.
  BlockRange blocks_in(const TimeWindow& window) const;
  int64_t layers() const { return static_cast<int64_t>(layers_.size()); }
  int64_t dimension() const { return dimension_; }
  BlockMetric metric() const { return metric_; }
  torch::Device device() const { return device_; }

  // Raw search in one layer: for each of the n queries (fp32 [n, dimension], any device) the
  // best `k` blocks among those with an index below `before_block`, score descending; fewer
  // when fewer qualify. Cosine normalises the queries. Scores with torch on device().
  std::vector<std::vector<ScoredBlock>> search(int layer, const torch::Tensor& queries, int64_t k,
                                               int64_t before_block) const;
  // The same among the blocks of range.
  std::vector<std::vector<ScoredBlock>> search(int layer, const torch::Tensor& queries, int64_t k,
                                               const BlockRange& range) const;
  // The same with FAISS's flat search on the host: the reference for tests and the bench.
  std::vector<std::vector<ScoredBlock>> search_faiss(int layer, const torch::Tensor& queries,
                                                     int64_t k, int64_t before_block) const;
  std::vector<std::vector<ScoredBlock>> search_faiss(int layer, const torch::Tensor& queries,
                                                     int64_t k, const BlockRange& range) const;
  // The answer's retrieval in one layer: query [dimension] (the question's mean pre-RoPE query
  // of that layer, flattened over heads); the adaptive top-k of the blocks below
  // `before_block`, in time order.
  std::vector<ScoredBlock> retrieve(int layer, const torch::Tensor& query,
                                    const RetrievalConfig& config, int64_t before_block) const;
  // The same among the blocks of range.
  std::vector<ScoredBlock> retrieve(int layer, const torch::Tensor& query,
                                    const RetrievalConfig& config, const BlockRange& range) const;

 private:
  // Layer `layer`'s keys on device(), [size(), dimension] (a view, no copy).
  torch::Tensor keys(int layer) const;
  // The rows [first, end) holding the blocks of range.
  std::pair<int64_t, int64_t> rows_of(const BlockRange& range) const;

  int64_t dimension_;
  BlockMetric metric_;
  torch::Device device_;
  std::vector<std::unique_ptr<faiss::IndexFlatIP>> layers_;
  std::vector<torch::Tensor> device_keys_;  // CUDA only: per layer fp32 [capacity, dimension]
  std::vector<int64_t> block_indices_;      // FAISS label -> block index, ascending
  std::vector<double> start_seconds_;       // per row, non-decreasing
  std::vector<double> covered_until_;       // per row: the time it covers up to, non-decreasing
};

}  // namespace vigil::memory

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

#include "memory/kv_block.h"

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

// One stream's index: per layer, the blocks' summary keys (KvBlock::summary_keys: each key
// head's mean key, [kv_heads * head_dim] floats per block and layer; cosine: L2-normalised
// before they are stored).
//   * Grouped-query attention: a query head attends with its group's key head, so a summary
//     key "repeated over the query groups" (ReKV scores [attention_heads * head_dim]) scores
//     q . repeat(k) = sum over key heads g of (sum of g's query heads) . k_g. Queries are
//     folded that way (fold_queries), so the index stores no repeats: 7x fewer bytes for
//     Qwen2-7B (28 query heads, 4 key heads), and scores equal the repeated ones up to float
//     rounding. Cosine divides by ||q|| * sqrt(group) * ||k||, the repeated vectors' norms.
//   * A FAISS IndexFlatIP per layer in host RAM holds every key: the source of truth
//     (search_faiss()) and the storage that search() scores in place on the host.
//   * search()/retrieve() score with one matrix-vector product (a matmul for several queries)
//     plus topk, with torch. The newest blocks' keys are also kept on `device` (ReKV keeps the
//     summary matrix on the GPU), per layer, as fp32 [capacity, dimension], up to
//     `device_bytes` for all layers together: fp32 so that scores, and so the blocks and their
//     order, equal FAISS's up to float ties. Rows that no longer fit (the oldest) are scored
//     on the host from FAISS's storage, and the two top-k lists are merged: GPU memory stays
//     within device_bytes however long the stream, and a question over a longer stream spends
//     host time on the older blocks instead. Qwen2-7B: 57,344 bytes per block, so 1 GiB holds
//     18,724 blocks (5.2 h of 1-fps video). device_bytes = 0 (the default) keeps no device
//     copy: everything is scored on the host, which suits a CPU model.
//   * Device capacity doubles from 256 rows up to the budget; when full, the oldest eighth of
//     the rows is dropped from the device (one copy per layer, once per eighth).
//   * On a CPU (bench/memory_bench.cpp, Qwen2-7B's repeated 3,584 floats, before the fold):
//     torch's GEMV on FAISS's storage measured 3-5x faster than FAISS's flat search for one
//     query (3,600 blocks, 2 cores: 2.5-6.8 ms against 12-25 ms per layer). On an H200:
//     0.39 ms per layer at 3,600 blocks, 0.42 ms at 36,000, against FAISS's 19.7 / 148 ms.
//   * On CUDA, a process that enables TF32 for cuBLAS (at::globalContext().setAllowTF32CuBLAS)
//     lowers the precision of several-query search(); one query uses a GEMV, which is fp32.
//   * Time windows: each block has a time range, and blocks come in time order, so the blocks
//     of a window are a range of indices (blocks_in()) and searching them scores a contiguous
//     slice of rows, as before_block does.
// Not thread-safe for add() concurrent with search(); concurrent searches are fine.
class BlockIndex {
 public:
  BlockIndex(AttentionShape shape, BlockMetric metric, torch::Device device = torch::kCPU,
             int64_t device_bytes = 0);
  ~BlockIndex();
  BlockIndex(const BlockIndex&) = delete;
  BlockIndex& operator=(const BlockIndex&) = delete;

  // Adds a block: summary_keys fp32 [layers, kv_heads, head_dim] (KvBlock::summary_keys, any
  // device), shown over [start_seconds, end_seconds) of stream time. Block indices must be
  // added in increasing order, and start times must not decrease (time order).
  void add(int64_t block_index, const torch::Tensor& summary_keys, double start_seconds = 0.0,
           double end_seconds = 0.0);
  // add() for several blocks in order, with one copy to the device and one write per layer
  // for all of them (an ingestion step commits many).
  struct NewBlock {
    int64_t block_index = 0;
    torch::Tensor summary_keys;
    double start_seconds = 0.0;
    double end_seconds = 0.0;
  };
  void add_all(const std::vector<NewBlock>& blocks);
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
  // Floats per stored key (kv_heads * head_dim) and per query (attention_heads * head_dim).
  int64_t dimension() const { return shape_.kv_heads * shape_.head_dim; }
  int64_t query_dimension() const { return shape_.attention_heads * shape_.head_dim; }
  BlockMetric metric() const { return metric_; }
  torch::Device device() const { return device_; }
  // Blocks whose keys are on device() (the newest ones), and the bytes they hold there with
  // the unused capacity.
  int64_t device_rows() const { return size() - first_device_row_; }
  int64_t device_bytes_reserved() const;

  // Raw search in one layer: for each of the n queries (fp32 [n, query_dimension()], any
  // device) the best `k` blocks among those with an index below `before_block`, score
  // descending; fewer when fewer qualify. Scores with torch (device() for the rows kept there).
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
  // The answer's retrieval in one layer: query [query_dimension()] (the question's mean
  // pre-RoPE query of that layer, flattened over heads); the adaptive top-k of the blocks
  // below `before_block`, in time order.
  std::vector<ScoredBlock> retrieve(int layer, const torch::Tensor& query,
                                    const RetrievalConfig& config, int64_t before_block) const;
  // The same among the blocks of range.
  std::vector<ScoredBlock> retrieve(int layer, const torch::Tensor& query,
                                    const RetrievalConfig& config, const BlockRange& range) const;

 private:
  // Queries [n, query_dimension()] -> fp32 [n, dimension()] on `on`, folded over each key
  // head's query group (and scaled for cosine) so that their dot products with the stored
  // keys are the repeated keys' scores.
  torch::Tensor fold_queries(const torch::Tensor& queries, torch::Device on) const;
  // Scores rows [first, end) of layer `layer`, all kept on the host (FAISS's storage) or all
  // on the device, and appends each query's best k (row, score) to found.
  void score_rows(int layer, const torch::Tensor& folded, int64_t first, int64_t end, int64_t k,
                  std::vector<std::vector<std::pair<int64_t, float>>>& found) const;
  // The rows [first, end) holding the blocks of range.
  std::pair<int64_t, int64_t> rows_of(const BlockRange& range) const;

  AttentionShape shape_;
  BlockMetric metric_;
  torch::Device device_;
  int64_t max_device_rows_;  // device_bytes / (layers * dimension * 4)
  std::vector<std::unique_ptr<faiss::IndexFlatIP>> layers_;
  // Per layer fp32 [capacity, dimension] on device_: rows first_device_row_ .. size()-1.
  std::vector<torch::Tensor> device_keys_;
  int64_t first_device_row_ = 0;
  std::vector<int64_t> block_indices_;  // FAISS label -> block index, ascending
  std::vector<double> start_seconds_;   // per row, non-decreasing
  std::vector<double> covered_until_;   // per row: the time it covers up to, non-decreasing
};

}  // namespace vigil::memory

#include "memory/block_index.h"

#include <faiss/impl/IDSelector.h>
#include <faiss/utils/distances.h>

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <tuple>

namespace vigil::memory {

std::vector<ScoredBlock> select_adaptive(std::vector<ScoredBlock> candidates,
                                         const RetrievalConfig& config) {
  assert(config.min_blocks >= 0 && config.max_blocks >= config.min_blocks);
  if (static_cast<int64_t>(candidates.size()) > config.max_blocks) {
    candidates.resize(static_cast<size_t>(config.max_blocks));
  }
  if (!candidates.empty()) {
    const double best = candidates.front().score;
    const double floor = candidates.back().score;
    const double threshold = best - config.score_fraction * (best - floor);
    size_t kept = 0;
    while (kept < candidates.size() && candidates[kept].score >= threshold) ++kept;
    kept = std::max(kept, std::min(candidates.size(), static_cast<size_t>(config.min_blocks)));
    candidates.resize(kept);
  }
  std::sort(candidates.begin(), candidates.end(), [](const ScoredBlock& a, const ScoredBlock& b) {
    return a.block_index < b.block_index;
  });
  return candidates;
}

BlockIndex::BlockIndex(AttentionShape shape, BlockMetric metric, torch::Device device,
                       int64_t device_bytes)
    : shape_(shape), metric_(metric), device_(device) {
  if (shape_.layers < 1 || shape_.kv_heads < 1 || shape_.head_dim < 1 ||
      shape_.attention_heads < shape_.kv_heads || shape_.attention_heads % shape_.kv_heads != 0) {
    throw std::invalid_argument("BlockIndex: layers " + std::to_string(shape_.layers) +
                                ", attention heads " + std::to_string(shape_.attention_heads) +
                                ", key/value heads " + std::to_string(shape_.kv_heads) +
                                ", head_dim " + std::to_string(shape_.head_dim) +
                                ": need at least one of each, and whole query groups");
  }
  for (int64_t i = 0; i < shape_.layers; ++i) {
    layers_.push_back(std::make_unique<faiss::IndexFlatIP>(dimension()));
  }
  const int64_t row_bytes = shape_.layers * dimension() * static_cast<int64_t>(sizeof(float));
  max_device_rows_ = std::max<int64_t>(device_bytes, 0) / row_bytes;
  if (max_device_rows_ > 0) device_keys_.resize(static_cast<size_t>(shape_.layers));
}

BlockIndex::~BlockIndex() = default;

namespace {

// Device rows double from kInitialCapacity up to the budget; a full budget drops its oldest
// 1/kDropFraction of rows.
constexpr int64_t kInitialCapacity = 256, kDropFraction = 8;

// Contiguous fp32 rows on the CPU, L2-normalised for cosine.
torch::Tensor host_rows(const torch::Tensor& rows, int64_t dimension, BlockMetric metric) {
  torch::Tensor host =
      rows.to(torch::kCPU, torch::kFloat32).reshape({-1, dimension}).contiguous().clone();
  if (metric == BlockMetric::kCosine) {
    faiss::fvec_renorm_L2(static_cast<size_t>(dimension), static_cast<size_t>(host.size(0)),
                          host.data_ptr<float>());
  }
  return host;
}

}  // namespace

torch::Tensor BlockIndex::fold_queries(const torch::Tensor& queries, torch::Device on) const {
  const int64_t group = shape_.query_group();
  const torch::Tensor full = queries.to(on, torch::kFloat32).reshape({-1, query_dimension()});
  const int64_t n = full.size(0);
  torch::Tensor folded =
      full.reshape({n, shape_.kv_heads, group, shape_.head_dim}).sum(2).reshape({n, dimension()});
  if (metric_ == BlockMetric::kCosine) {
    // The repeated key's norm is sqrt(group) times the stored one's (which is 1). As
    // faiss::fvec_renorm_L2, a zero query stays zero.
    const torch::Tensor norms = full.norm(2, 1, true).clamp_min(std::numeric_limits<float>::min());
    folded = folded / (norms * std::sqrt(static_cast<double>(group)));
  }
  return folded.contiguous();
}

void BlockIndex::add(int64_t block_index, const torch::Tensor& summary_keys, double start_seconds,
                     double end_seconds) {
  add_all({{block_index, summary_keys, start_seconds, end_seconds}});
}

void BlockIndex::add_all(const std::vector<NewBlock>& blocks) {
  if (blocks.empty()) return;
  const auto count = static_cast<int64_t>(blocks.size());
  std::vector<torch::Tensor> summaries;
  for (const NewBlock& block : blocks) {
    assert(block.summary_keys.numel() == layers() * dimension());
    summaries.push_back(
        block.summary_keys.to(torch::kCPU, torch::kFloat32).reshape({layers(), dimension()}));
  }
  // [layers, count, dim]: each layer's new rows side by side.
  const torch::Tensor rows = host_rows(torch::stack(summaries, 1), dimension(), metric_)
                                 .view({layers(), count, dimension()});
  for (size_t layer = 0; layer < layers_.size(); ++layer) {
    layers_[layer]->add(count, rows[static_cast<int64_t>(layer)].data_ptr<float>());
  }
  if (max_device_rows_ > 0) {
    // The normalised host rows, so the device keys are bit-equal to FAISS's.
    torch::NoGradGuard no_grad;
    const torch::Tensor device_rows = rows.to(device_);
    int64_t written = 0;
    while (written < count) {
      const int64_t row = size() + written - first_device_row_;  // where the next row goes
      const int64_t capacity = device_keys_.front().defined() ? device_keys_.front().size(0) : 0;
      int64_t grown = capacity, drop = 0;
      if (row == capacity) {
        if (capacity < max_device_rows_) {
          grown = std::min(max_device_rows_, capacity == 0 ? kInitialCapacity : 2 * capacity);
        } else {
          drop = std::max<int64_t>(1, capacity / kDropFraction);
        }
      }
      const int64_t rows_now = std::min(count - written, grown - (row - drop));
      for (size_t layer = 0; layer < device_keys_.size(); ++layer) {
        torch::Tensor& keys = device_keys_[layer];
        if (grown != capacity || drop > 0) {
          // One layer at a time: at most one layer's capacity above the budget, briefly.
          torch::Tensor moved = torch::empty({grown, dimension()}, rows.options().device(device_));
          if (row - drop > 0) {
            moved.narrow(0, 0, row - drop).copy_(keys.narrow(0, drop, row - drop));
          }
          keys = moved;
        }
        keys.narrow(0, row - drop, rows_now)
            .copy_(device_rows[static_cast<int64_t>(layer)].narrow(0, written, rows_now));
      }
      first_device_row_ += drop;
      written += rows_now;
    }
  }
  for (const NewBlock& block : blocks) {
    assert(block_indices_.empty() || block.block_index > block_indices_.back());
    assert(start_seconds_.empty() || block.start_seconds >= start_seconds_.back());
    block_indices_.push_back(block.block_index);
    // The previous block covers the time up to this one (frames in between left no block).
    cover_until(block.start_seconds);
    const double previous = covered_until_.empty() ? block.end_seconds : covered_until_.back();
    start_seconds_.push_back(block.start_seconds);
    covered_until_.push_back(std::max(block.end_seconds, previous));
  }
  if (max_device_rows_ == 0) first_device_row_ = size();  // nothing on the device
}

int64_t BlockIndex::device_bytes_reserved() const {
  int64_t bytes = 0;
  for (const torch::Tensor& keys : device_keys_) {
    if (keys.defined()) bytes += keys.numel() * static_cast<int64_t>(keys.element_size());
  }
  return bytes;
}

void BlockIndex::cover_until(double until_seconds) {
  if (!covered_until_.empty()) {
    covered_until_.back() = std::max(covered_until_.back(), until_seconds);
  }
}

TimeWindow BlockIndex::time_covered() const {
  assert(!start_seconds_.empty());
  return {start_seconds_.front(), covered_until_.back()};
}

int64_t BlockIndex::count_in(const BlockRange& range) const {
  const auto [first, end] = rows_of(range);
  return end - first;
}

BlockRange BlockIndex::blocks_in(const TimeWindow& window) const {
  // A block [start, covered_until) overlaps [window start, window end] when it starts at or
  // before the window's end and covers past its start; both bounds are monotone over rows.
  const auto first = static_cast<size_t>(
      std::upper_bound(covered_until_.begin(), covered_until_.end(), window.start_seconds) -
      covered_until_.begin());
  const auto end = static_cast<size_t>(
      std::upper_bound(start_seconds_.begin(), start_seconds_.end(), window.end_seconds) -
      start_seconds_.begin());
  if (first >= end) return {0, 0};
  return {block_indices_[first], block_indices_[end - 1] + 1};
}

std::pair<int64_t, int64_t> BlockIndex::rows_of(const BlockRange& range) const {
  const int64_t first =
      std::lower_bound(block_indices_.begin(), block_indices_.end(), range.first_block) -
      block_indices_.begin();
  const int64_t end = std::max(first, count_before(range.end_block));
  return {first, end};
}

int64_t BlockIndex::count_before(int64_t before_block) const {
  return std::lower_bound(block_indices_.begin(), block_indices_.end(), before_block) -
         block_indices_.begin();
}

void BlockIndex::score_rows(int layer, const torch::Tensor& folded, int64_t first, int64_t end,
                            int64_t k,
                            std::vector<std::vector<std::pair<int64_t, float>>>& found) const {
  const int64_t count = end - first;
  if (count <= 0) return;
  const size_t l = static_cast<size_t>(layer);
  torch::Tensor rows;
  if (first >= first_device_row_ && max_device_rows_ > 0) {
    rows = device_keys_.at(l).narrow(0, first - first_device_row_, count);
  } else {
    // FAISS's storage in place (read only): ntotal rows of `dimension` floats.
    faiss::IndexFlatIP& index = *layers_.at(l);
    rows = torch::from_blob(index.get_xb(), {size(), dimension()}, torch::kFloat32)
               .narrow(0, first, count);
  }
  // One query: a GEMV (memory-bound, fp32 on CUDA whatever the TF32 setting).
  const torch::Tensor scores =
      folded.size(0) == 1 ? rows.mv(folded[0]).unsqueeze(0) : torch::mm(folded, rows.t());
  k = std::min(k, count);
  const std::tuple<torch::Tensor, torch::Tensor> top =
      scores.topk(k, /*dim=*/1, /*largest=*/true, /*sorted=*/true);
  const torch::Tensor values = std::get<0>(top).to(torch::kCPU).contiguous();
  const torch::Tensor labels = std::get<1>(top).to(torch::kCPU).contiguous();
  const float* value = values.data_ptr<float>();
  const int64_t* label = labels.data_ptr<int64_t>();
  for (size_t i = 0; i < found.size(); ++i) {
    for (int64_t j = 0; j < k; ++j) {
      const int64_t at = static_cast<int64_t>(i) * k + j;
      found[i].emplace_back(first + label[at], value[at]);
    }
  }
}

std::vector<std::vector<ScoredBlock>> BlockIndex::search(int layer, const torch::Tensor& queries,
                                                         int64_t k, int64_t before_block) const {
  return search(layer, queries, k, BlockRange{0, before_block});
}

std::vector<std::vector<ScoredBlock>> BlockIndex::search(int layer, const torch::Tensor& queries,
                                                         int64_t k, const BlockRange& range) const {
  const int64_t n = queries.numel() / query_dimension();
  // Labels are in time order, so a range of blocks is a slice of the rows.
  const auto [first_row, end_row] = rows_of(range);
  k = std::min(k, end_row - first_row);
  std::vector<std::vector<ScoredBlock>> results(static_cast<size_t>(n));
  if (k <= 0 || n == 0) return results;
  torch::NoGradGuard no_grad;
  // Rows below first_device_row_ are only on the host; the newer ones are on the device.
  const int64_t split = std::clamp(first_device_row_, first_row, end_row);
  std::vector<std::vector<std::pair<int64_t, float>>> found(static_cast<size_t>(n));
  if (split > first_row) {
    score_rows(layer, fold_queries(queries, torch::kCPU), first_row, split, k, found);
  }
  if (end_row > split) score_rows(layer, fold_queries(queries, device_), split, end_row, k, found);
  for (size_t i = 0; i < found.size(); ++i) {
    std::vector<std::pair<int64_t, float>>& candidates = found[i];
    if (split > first_row && end_row > split) {
      // Two sorted lists: the best k of both, score descending (the older block first on ties).
      std::stable_sort(candidates.begin(), candidates.end(),
                       [](const auto& a, const auto& b) { return a.second > b.second; });
      candidates.resize(static_cast<size_t>(k));
    }
    results[i].reserve(candidates.size());
    for (const auto& [row, score] : candidates) {
      results[i].push_back({block_indices_[static_cast<size_t>(row)], score});
    }
  }
  return results;
}

std::vector<std::vector<ScoredBlock>> BlockIndex::search_faiss(int layer,
                                                               const torch::Tensor& queries,
                                                               int64_t k,
                                                               int64_t before_block) const {
  return search_faiss(layer, queries, k, BlockRange{0, before_block});
}

std::vector<std::vector<ScoredBlock>> BlockIndex::search_faiss(int layer,
                                                               const torch::Tensor& queries,
                                                               int64_t k,
                                                               const BlockRange& range) const {
  const torch::Tensor rows = fold_queries(queries, torch::kCPU);
  const int64_t n = rows.size(0);
  // Labels are in time order, so a range of blocks is a range of labels.
  const auto [first_row, end_row] = rows_of(range);
  const int64_t candidates = end_row - first_row;
  k = std::min(k, candidates);
  std::vector<std::vector<ScoredBlock>> results(static_cast<size_t>(n));
  if (k <= 0) return results;
  std::vector<float> scores(static_cast<size_t>(n * k));
  std::vector<faiss::Index::idx_t> labels(static_cast<size_t>(n * k));
  faiss::IDSelectorRange selected(first_row, end_row);
  faiss::SearchParameters parameters;
  parameters.sel = &selected;
  layers_.at(static_cast<size_t>(layer))
      ->search(n, rows.data_ptr<float>(), k, scores.data(), labels.data(),
               candidates < size() ? &parameters : nullptr);
  for (int64_t q = 0; q < n; ++q) {
    for (int64_t j = 0; j < k; ++j) {
      const faiss::Index::idx_t label = labels[static_cast<size_t>(q * k + j)];
      if (label < 0) continue;
      results[static_cast<size_t>(q)].push_back(
          {block_indices_[static_cast<size_t>(label)], scores[static_cast<size_t>(q * k + j)]});
    }
  }
  return results;
}

std::vector<ScoredBlock> BlockIndex::retrieve(int layer, const torch::Tensor& query,
                                              const RetrievalConfig& config,
                                              int64_t before_block) const {
  return retrieve(layer, query, config, BlockRange{0, before_block});
}

std::vector<ScoredBlock> BlockIndex::retrieve(int layer, const torch::Tensor& query,
                                              const RetrievalConfig& config,
                                              const BlockRange& range) const {
  std::vector<std::vector<ScoredBlock>> found =
      search(layer, query.reshape({1, query_dimension()}), config.max_blocks, range);
  return select_adaptive(std::move(found.front()), config);
}

}  // namespace vigil::memory

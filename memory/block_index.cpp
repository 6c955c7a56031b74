#include "memory/block_index.h"

#include <faiss/impl/IDSelector.h>
#include <faiss/utils/distances.h>

#include <algorithm>
#include <cassert>
#include <limits>
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

BlockIndex::BlockIndex(int64_t layers, int64_t dimension, BlockMetric metric, torch::Device device)
    : dimension_(dimension), metric_(metric), device_(device) {
  for (int64_t i = 0; i < layers; ++i) {
    layers_.push_back(std::make_unique<faiss::IndexFlatIP>(dimension));
  }
  if (device_.is_cuda()) device_keys_.resize(static_cast<size_t>(layers));
}

BlockIndex::~BlockIndex() = default;

namespace {

// Device rows: doubling up to kLinearGrowth, then kLinearGrowth at a time (block_index.h).
constexpr int64_t kInitialCapacity = 256, kLinearGrowth = 4096;

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

void BlockIndex::add(int64_t block_index, const torch::Tensor& summary_keys, double start_seconds,
                     double end_seconds) {
  assert(summary_keys.size(0) == layers());
  assert(block_indices_.empty() || block_index > block_indices_.back());
  assert(start_seconds_.empty() || start_seconds >= start_seconds_.back());
  const torch::Tensor rows = host_rows(summary_keys, dimension_, metric_);  // [layers, dim]
  for (size_t layer = 0; layer < layers_.size(); ++layer) {
    layers_[layer]->add(1, rows[static_cast<int64_t>(layer)].data_ptr<float>());
  }
  if (device_.is_cuda()) {
    // The normalised host rows, so the device keys are bit-equal to FAISS's.
    torch::NoGradGuard no_grad;
    const torch::Tensor device_rows = rows.to(device_);
    const int64_t row = size();
    for (size_t layer = 0; layer < device_keys_.size(); ++layer) {
      torch::Tensor& keys = device_keys_[layer];
      const int64_t capacity = keys.defined() ? keys.size(0) : 0;
      if (row == capacity) {
        const int64_t grown =
            capacity == 0 ? kInitialCapacity : capacity + std::min(capacity, kLinearGrowth);
        torch::Tensor larger = torch::empty({grown, dimension_}, rows.options().device(device_));
        if (capacity > 0) larger.narrow(0, 0, capacity).copy_(keys);
        keys = larger;
      }
      keys[row].copy_(device_rows[static_cast<int64_t>(layer)]);
    }
  }
  block_indices_.push_back(block_index);
  // The previous block covers the time up to this one (frames in between left no block).
  cover_until(start_seconds);
  const double previous = covered_until_.empty() ? end_seconds : covered_until_.back();
  start_seconds_.push_back(start_seconds);
  covered_until_.push_back(std::max(end_seconds, previous));
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

torch::Tensor BlockIndex::keys(int layer) const {
  const size_t l = static_cast<size_t>(layer);
  if (device_.is_cuda()) return device_keys_.at(l).narrow(0, 0, size());
  // FAISS's storage in place (read only): ntotal rows of `dimension` floats.
  faiss::IndexFlatIP& index = *layers_.at(l);
  return torch::from_blob(index.get_xb(), {size(), dimension_}, torch::kFloat32);
}

std::vector<std::vector<ScoredBlock>> BlockIndex::search(int layer, const torch::Tensor& queries,
                                                         int64_t k, int64_t before_block) const {
  return search(layer, queries, k, BlockRange{0, before_block});
}

std::vector<std::vector<ScoredBlock>> BlockIndex::search(int layer, const torch::Tensor& queries,
                                                         int64_t k, const BlockRange& range) const {
  const int64_t n = queries.numel() / dimension_;
  // Labels are in time order, so a range of blocks is a slice of the rows.
  const auto [first_row, end_row] = rows_of(range);
  const int64_t candidates = end_row - first_row;
  k = std::min(k, candidates);
  std::vector<std::vector<ScoredBlock>> results(static_cast<size_t>(n));
  if (k <= 0 || n == 0) return results;
  torch::NoGradGuard no_grad;
  torch::Tensor q;
  if (device_.is_cuda()) {
    q = queries.to(device_, torch::kFloat32).reshape({n, dimension_});
    if (metric_ == BlockMetric::kCosine) {
      // As faiss::fvec_renorm_L2: a zero vector stays zero.
      q = q / q.norm(2, 1, true).clamp_min(std::numeric_limits<float>::min());
    }
  } else {
    q = host_rows(queries, dimension_, metric_);
  }
  const torch::Tensor rows = keys(layer).narrow(0, first_row, candidates);
  // One query: a GEMV (memory-bound, fp32 on CUDA whatever the TF32 setting).
  const torch::Tensor scores = n == 1 ? rows.mv(q[0]).unsqueeze(0) : torch::mm(q, rows.t());
  const std::tuple<torch::Tensor, torch::Tensor> top =
      scores.topk(k, /*dim=*/1, /*largest=*/true, /*sorted=*/true);
  const torch::Tensor values = std::get<0>(top).to(torch::kCPU).contiguous();
  const torch::Tensor labels = std::get<1>(top).to(torch::kCPU).contiguous();
  const float* value = values.data_ptr<float>();
  const int64_t* label = labels.data_ptr<int64_t>();
  for (int64_t i = 0; i < n; ++i) {
    std::vector<ScoredBlock>& found = results[static_cast<size_t>(i)];
    found.reserve(static_cast<size_t>(k));
    for (int64_t j = 0; j < k; ++j) {
      found.push_back(
          {block_indices_[static_cast<size_t>(first_row + label[i * k + j])], value[i * k + j]});
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
  const torch::Tensor rows = host_rows(queries, dimension_, metric_);
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
      search(layer, query.reshape({1, dimension_}), config.max_blocks, range);
  return select_adaptive(std::move(found.front()), config);
}

}  // namespace vigil::memory

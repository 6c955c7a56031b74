#include "memory/answer_kv_cache.h"

#include <cassert>
#include <limits>

namespace vigil::memory {

AnswerKvCache::AnswerKvCache(const StreamingKvCache& stream, const BlockIndex& index,
                             TieredBlockStore& store, AnswerConfig config)
    : stream_(stream),
      index_(index),
      store_(store),
      config_(config),
      layout_(stream.config().layout),
      retrieved_done_(static_cast<size_t>(stream.layers()), false),
      retrieved_blocks_(static_cast<size_t>(stream.layers())),
      retrieved_(static_cast<size_t>(stream.layers())),
      fixed_(static_cast<size_t>(stream.layers())),
      retrieved_positions_(static_cast<size_t>(stream.layers())),
      question_(static_cast<int>(stream.layers())) {
  const BlockRange in_window = index_.blocks_in(config_.window);
  const std::deque<KvBlock>& window = stream.window();
  int64_t recent_tokens = 0;
  for (auto it = window.rbegin(); it != window.rend() && config_.recent_tokens > 0; ++it) {
    if (it->index >= in_window.end_block) continue;  // after the question's time window
    if (it->index < in_window.first_block) break;
    if (!recent_.empty() && recent_tokens + it->tokens() > config_.recent_tokens) break;
    recent_tokens += it->tokens();
    recent_.insert(recent_.begin(), &*it);
  }
  int64_t recent_span = 0;
  for (const KvBlock* block : recent_) {
    recent_indices_.push_back(block->index);
    recent_span += block_span(layout_, block->tokens(), block->frame_tokens);
  }
  candidates_ = {in_window.first_block,
                 recent_.empty() ? in_window.end_block : recent_.front()->index};
  const int64_t candidates = std::min(config_.retrieval.max_blocks, index_.count_in(candidates_));
  const int64_t largest_span =
      layout_ == PositionLayout::kPacked ? store_.max_tokens() : store_.max_frame_tokens();
  reserved_span_ = candidates * largest_span;
  question_position_ = stream.sinks().tokens() + reserved_span_ + recent_span;
}

void AnswerKvCache::observe_queries(int layer, const torch::Tensor& queries) {
  const size_t l = static_cast<size_t>(layer);
  if (retrieved_done_.at(l)) return;
  retrieved_done_[l] = true;
  // The question's mean query over its tokens, flattened over heads (ReKV).
  const torch::Tensor query = queries.to(torch::kFloat32).mean(1).reshape({-1});
  retrieved_blocks_[l] = index_.retrieve(layer, query, config_.retrieval, candidates_);
  if (retrieved_blocks_[l].empty()) return;
  std::vector<int64_t> indices;
  for (const ScoredBlock& block : retrieved_blocks_[l]) indices.push_back(block.block_index);
  const std::vector<LayerKv> fetched = store_.fetch(layer, indices);
  int64_t span = 0;
  for (const LayerKv& kv : fetched) span += block_span(layout_, kv.keys.size(1), kv.frame_tokens);
  assert(span <= reserved_span_);
  int64_t first = stream_.sinks().tokens() + reserved_span_ - span;  // right-aligned
  std::vector<torch::Tensor> keys, values, positions;
  const int64_t region_start = first;
  for (const LayerKv& kv : fetched) {
    keys.push_back(kv.keys);
    values.push_back(kv.values);
    if (layout_ != PositionLayout::kPacked) {
      positions.push_back(block_positions(layout_, kv.token_offsets, first, torch::kCPU));
    }
    first += block_span(layout_, kv.keys.size(1), kv.frame_tokens);
  }
  // Packed blocks follow one another: their positions are one range.
  retrieved_positions_[l] = layout_ == PositionLayout::kPacked
                                ? torch::arange(region_start, first, torch::kInt64)
                                : torch::cat(positions, 0);
  retrieved_[l] = {torch::cat(keys, 1), torch::cat(values, 1),
                   upload(retrieved_positions_[l], keys.front().device())};
}

void AnswerKvCache::append(int layer, const torch::Tensor& keys, const torch::Tensor& values,
                           const torch::Tensor& positions) {
  question_.append(layer, keys, values, positions);
}

llm::KvView AnswerKvCache::view(int layer) const {
  const size_t l = static_cast<size_t>(layer);
  if (!fixed_[l].keys.defined()) {
    llm::KvView fixed = fixed_part(layer);
    // Before its retrieval a layer's context is incomplete: not kept.
    if (!retrieved_done_[l]) return join(fixed, question_.view(layer));
    fixed_[l] = std::move(fixed);
  }
  return join(fixed_[l], question_.view(layer));
}

torch::Tensor AnswerKvCache::upload(const torch::Tensor& positions, torch::Device device) {
  if (!device.is_cuda()) return positions.to(device);
  // From pinned memory the copy is queued behind the work before it, without waiting for it.
  return positions.pin_memory().to(device, /*non_blocking=*/true);
}

llm::KvView AnswerKvCache::join(const llm::KvView& fixed, const llm::KvView& question) {
  if (!question.keys.defined()) return fixed;
  return {torch::cat({fixed.keys, question.keys}, 1),
          torch::cat({fixed.values, question.values}, 1),
          torch::cat({fixed.positions, question.positions}, 0)};
}

llm::KvView AnswerKvCache::fixed_part(int layer) const {
  const size_t l = static_cast<size_t>(layer);
  const SinkKv& sinks = stream_.sinks();
  const torch::Device device = sinks.keys[l].device();
  std::vector<torch::Tensor> keys = {sinks.keys[l]};
  std::vector<torch::Tensor> values = {sinks.values[l]};
  // Positions are put together on the host and uploaded once: one copy, not a kernel per block.
  std::vector<torch::Tensor> positions = {sinks.positions(torch::kCPU)};
  const llm::KvView& retrieved = retrieved_[l];
  if (retrieved.keys.defined()) {
    keys.push_back(retrieved.keys);
    values.push_back(retrieved.values);
    positions.push_back(retrieved_positions_[l]);
  }
  int64_t first = sinks.tokens() + reserved_span_;
  const int64_t recent_start = first;
  for (const KvBlock* block : recent_) {
    keys.push_back(block->keys[l]);
    values.push_back(block->values[l]);
    if (layout_ != PositionLayout::kPacked) {
      positions.push_back(block_positions(layout_, block->token_offsets, first, torch::kCPU));
    }
    first += block_span(layout_, block->tokens(), block->frame_tokens);
  }
  if (layout_ == PositionLayout::kPacked && first > recent_start) {
    positions.push_back(torch::arange(recent_start, first, torch::kInt64));  // one range
  }
  return {torch::cat(keys, 1), torch::cat(values, 1), upload(torch::cat(positions, 0), device)};
}

int64_t AnswerKvCache::length() const {
  return question_position_ + question_.length();
}

std::optional<int64_t> AnswerKvCache::ordered_end() const {
  if (question_.length() > 0) return std::nullopt;
  return question_position_;
}

void AnswerKvCache::truncate(int64_t length) {
  question_.truncate(length - question_position_);
}

}  // namespace vigil::memory

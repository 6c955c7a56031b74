#include "memory/streaming_kv_cache.h"

#include <algorithm>
#include <cassert>

namespace vigil::memory {

StreamingKvCache::StreamingKvCache(SinkKv sinks, StreamingConfig config)
    : sinks_(std::move(sinks)), config_(config), held_(static_cast<size_t>(sinks_.layers()), 0) {
  assert(sinks_.layers() >= 1 && sinks_.tokens() >= 1);
  sink_keys_ = torch::stack(sinks_.keys, 0);
  sink_values_ = torch::stack(sinks_.values, 0);
  sink_positions_ = sinks_.positions(sink_keys_.device());
  reserve(0);
}

int64_t StreamingKvCache::window_span() const {
  int64_t span = 0;
  for (const KvBlock& block : window_) {
    span += block_span(config_.layout, block.tokens(), block.frame_tokens);
  }
  return span;
}

int64_t StreamingKvCache::live_tokens() const {
  return sinks_.tokens() + window_tokens_ + *std::max_element(held_.begin(), held_.end());
}

void StreamingKvCache::reserve(int64_t tokens) {
  const int64_t live = live_tokens();
  if (keys_.defined() && begin_ + live + tokens <= keys_.size(2)) return;
  // Room to grow: doubling while the window is small, then a quarter of the window, so the live
  // tokens move about once per quarter window of new tokens.
  const int64_t needed = live + tokens;
  const int64_t slack = std::max<int64_t>(64, config_.window_tokens / 4);
  const int64_t capacity = needed + std::min(needed, slack);
  std::vector<int64_t> shape = sink_keys_.sizes().vec();
  shape[2] = capacity;
  torch::Tensor keys = torch::empty(shape, sink_keys_.options());
  torch::Tensor values = torch::empty(shape, sink_values_.options());
  torch::Tensor positions = torch::empty({capacity}, sink_positions_.options());
  if (keys_.defined()) {
    keys.narrow(2, 0, live).copy_(keys_.narrow(2, begin_, live));
    values.narrow(2, 0, live).copy_(values_.narrow(2, begin_, live));
    positions.narrow(0, 0, live).copy_(positions_.narrow(0, begin_, live));
  } else {
    const int64_t sink_tokens = sinks_.tokens();
    keys.narrow(2, 0, sink_tokens).copy_(sink_keys_);
    values.narrow(2, 0, sink_tokens).copy_(sink_values_);
    positions.narrow(0, 0, sink_tokens).copy_(sink_positions_);
  }
  keys_ = keys;
  values_ = values;
  positions_ = positions;
  begin_ = 0;
  int64_t offset = sinks_.tokens();
  for (KvBlock& block : window_) {
    block.keys = keys_.narrow(2, offset, block.tokens()).unbind(0);
    block.values = values_.narrow(2, offset, block.tokens()).unbind(0);
    offset += block.tokens();
  }
}

int64_t StreamingKvCache::next_position() const {
  return sinks_.tokens() + window_span();
}

torch::Tensor StreamingKvCache::frame_positions(const std::vector<FrameInfo>& frames) const {
  std::vector<torch::Tensor> parts;
  int64_t first = next_position();
  for (const FrameInfo& frame : frames) {
    parts.push_back(block_positions(config_.layout, frame.token_offsets, first, torch::kCPU));
    first += block_span(config_.layout, frame.token_offsets.size(0), frame.frame_tokens);
  }
  return parts.empty() ? torch::empty({0}, torch::kInt64) : torch::cat(parts);
}

void StreamingKvCache::append(int layer, const torch::Tensor& keys, const torch::Tensor& values,
                              const torch::Tensor& positions) {
  const size_t l = static_cast<size_t>(layer);
  const int64_t tokens = keys.size(1);
  assert(l < held_.size() && values.size(1) == tokens && positions.numel() == tokens);
  if (held_.at(l) + tokens > *std::max_element(held_.begin(), held_.end())) reserve(tokens);
  const int64_t at = begin_ + sinks_.tokens() + window_tokens_ + held_[l];
  keys_.select(0, layer).narrow(1, at, tokens).copy_(keys);
  values_.select(0, layer).narrow(1, at, tokens).copy_(values);
  // Every layer holds the same positions: the first layer to hold these tokens writes them.
  if (held_[l] + tokens > held_positions_) {
    assert(held_[l] == held_positions_);
    positions_.narrow(0, at, tokens).copy_(positions.reshape({-1}));
    held_positions_ += tokens;
  }
  held_[l] += tokens;
}

llm::KvView StreamingKvCache::view(int layer) const {
  const int64_t length = sinks_.tokens() + window_tokens_ + held_.at(static_cast<size_t>(layer));
  return {keys_.select(0, layer).narrow(1, begin_, length),
          values_.select(0, layer).narrow(1, begin_, length), positions_.narrow(0, begin_, length)};
}

int64_t StreamingKvCache::length() const {
  if (held_positions_ == 0) return next_position();
  const int64_t last = begin_ + sinks_.tokens() + window_tokens_ + held_positions_ - 1;
  return positions_[last].item<int64_t>() + 1;
}

std::optional<int64_t> StreamingKvCache::ordered_end() const {
  if (held_positions_ > 0) return std::nullopt;
  return next_position();
}

void StreamingKvCache::truncate(int64_t length) {
  if (held_positions_ == 0) return;
  const int64_t first = begin_ + sinks_.tokens() + window_tokens_;
  const int64_t keep =
      (positions_.narrow(0, first, held_positions_) < length).sum().item<int64_t>();
  for (int64_t& held : held_) held = std::min(held, keep);
  held_positions_ = std::min(held_positions_, keep);
}

std::vector<KvBlock> StreamingKvCache::commit_frames(const std::vector<FrameInfo>& frames) {
  const int64_t held = held_.front();
  assert(std::all_of(held_.begin(), held_.end(), [&](int64_t h) { return h == held; }));
  const int64_t first = begin_ + sinks_.tokens() + window_tokens_;
  std::vector<KvBlock> blocks;
  int64_t offset = 0;
  for (const FrameInfo& frame : frames) {
    KvBlock block;
    block.index = frame.index;
    block.start_seconds = frame.start_seconds;
    block.end_seconds = frame.end_seconds;
    block.frame_tokens = frame.frame_tokens;
    block.token_offsets = frame.token_offsets.to(torch::kCPU, torch::kInt64).contiguous();
    const int64_t tokens = block.tokens();
    assert(tokens >= 1);
    const torch::Tensor keys = keys_.narrow(2, first + offset, tokens);  // [L, H, T, D]
    block.keys = keys.unbind(0);
    block.values = values_.narrow(2, first + offset, tokens).unbind(0);
    // As compute_summary_keys, from the layers' stacked view it already has.
    block.summary_keys = keys.to(torch::kFloat32).mean(2);
    assert(window_.empty() || block.index > window_.back().index);
    offset += tokens;
    counters_.tokens_committed += tokens;
    ++counters_.frames_committed;
    window_.push_back(block);
    blocks.push_back(std::move(block));
  }
  assert(offset == held);
  window_tokens_ += held;
  std::fill(held_.begin(), held_.end(), 0);
  held_positions_ = 0;
  int64_t left_tokens = 0, left_span = 0;
  while (window_.size() > 1 && window_tokens_ > config_.window_tokens) {
    const KvBlock& oldest = window_.front();
    left_tokens += oldest.tokens();
    left_span += block_span(config_.layout, oldest.tokens(), oldest.frame_tokens);
    window_tokens_ -= oldest.tokens();
    window_.pop_front();
    ++counters_.blocks_left_window;
  }
  if (left_tokens > 0) {
    // The sinks go just before the new oldest block, and the window's positions move down by
    // the span that left: three small copies and one subtraction for every layer at once.
    begin_ += left_tokens;
    const int64_t sink_tokens = sinks_.tokens();
    keys_.narrow(2, begin_, sink_tokens).copy_(sink_keys_);
    values_.narrow(2, begin_, sink_tokens).copy_(sink_values_);
    positions_.narrow(0, begin_, sink_tokens).copy_(sink_positions_);
    positions_.narrow(0, begin_ + sink_tokens, window_tokens_).sub_(left_span);
  }
  return blocks;
}

StreamingCounters StreamingKvCache::counters() const {
  StreamingCounters counters = counters_;
  counters.window_blocks = static_cast<int64_t>(window_.size());
  counters.window_tokens = window_tokens_;
  counters.window_bytes = 0;
  for (const KvBlock& block : window_) counters.window_bytes += block.kv_bytes();
  return counters;
}

}  // namespace vigil::memory

#include "memory/streaming_kv_cache.h"

#include <cassert>

namespace vigil::memory {

StreamingKvCache::StreamingKvCache(SinkKv sinks, StreamingConfig config)
    : sinks_(std::move(sinks)), config_(config), held_(static_cast<size_t>(sinks_.layers())) {
  assert(sinks_.layers() >= 1 && sinks_.tokens() >= 1);
}

int64_t StreamingKvCache::window_span() const {
  int64_t span = 0;
  for (const KvBlock& block : window_) {
    span += block_span(config_.layout, block.tokens(), block.frame_tokens);
  }
  return span;
}

const torch::Tensor& StreamingKvCache::window_positions() const {
  if (!window_positions_.defined()) {
    std::vector<torch::Tensor> parts = {sinks_.positions(torch::kCPU)};
    int64_t first = sinks_.tokens();
    for (const KvBlock& block : window_) {
      parts.push_back(block_positions(config_.layout, block.token_offsets, first, torch::kCPU));
      first += block_span(config_.layout, block.tokens(), block.frame_tokens);
    }
    window_positions_ = torch::cat(parts, 0).to(sinks_.keys.front().device());
  }
  return window_positions_;
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
  Held& held = held_.at(static_cast<size_t>(layer));
  held.keys.push_back(keys);
  held.values.push_back(values);
  held.positions.push_back(positions.to(keys.device(), torch::kInt64));
  held.tokens += keys.size(1);
}

llm::KvView StreamingKvCache::view(int layer) const {
  const size_t l = static_cast<size_t>(layer);
  std::vector<torch::Tensor> keys = {sinks_.keys[l]};
  std::vector<torch::Tensor> values = {sinks_.values[l]};
  std::vector<torch::Tensor> positions = {window_positions()};
  for (const KvBlock& block : window_) {
    keys.push_back(block.keys[l]);
    values.push_back(block.values[l]);
  }
  const Held& held = held_.at(l);
  keys.insert(keys.end(), held.keys.begin(), held.keys.end());
  values.insert(values.end(), held.values.begin(), held.values.end());
  positions.insert(positions.end(), held.positions.begin(), held.positions.end());
  return {torch::cat(keys, 1), torch::cat(values, 1), torch::cat(positions, 0)};
}

int64_t StreamingKvCache::length() const {
  const Held& held = held_.front();
  if (held.tokens == 0) return next_position();
  return held.positions.back()[-1].item<int64_t>() + 1;
}

void StreamingKvCache::truncate(int64_t length) {
  for (Held& held : held_) {
    if (held.tokens == 0) continue;
    const torch::Tensor positions = torch::cat(held.positions, 0);
    const int64_t keep = (positions < length).sum().item<int64_t>();
    const torch::Tensor keys = torch::cat(held.keys, 1).narrow(1, 0, keep);
    const torch::Tensor values = torch::cat(held.values, 1).narrow(1, 0, keep);
    held = Held{{keys}, {values}, {positions.narrow(0, 0, keep)}, keep};
  }
}

std::vector<KvBlock> StreamingKvCache::commit_frames(const std::vector<FrameInfo>& frames) {
  // Per layer, all held tokens in one new tensor (the held chunks are views of the model's
  // projections, which must not be kept alive); the blocks' keys and values are views of it.
  std::vector<torch::Tensor> keys, values;
  for (const Held& held : held_) {
    keys.push_back(torch::cat(held.keys, 1));
    values.push_back(torch::cat(held.values, 1));
  }
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
    for (size_t layer = 0; layer < keys.size(); ++layer) {
      block.keys.push_back(keys[layer].narrow(1, offset, tokens));
      block.values.push_back(values[layer].narrow(1, offset, tokens));
    }
    compute_summary_keys(block);
    assert(window_.empty() || block.index > window_.back().index);
    offset += tokens;
    window_tokens_ += tokens;
    counters_.tokens_committed += tokens;
    ++counters_.frames_committed;
    window_.push_back(block);
    blocks.push_back(std::move(block));
  }
  for (size_t layer = 0; layer < keys.size(); ++layer) assert(keys[layer].size(1) == offset);
  for (Held& held : held_) held = Held{};
  window_positions_ = torch::Tensor();  // the window changes
  while (window_.size() > 1 && window_tokens_ > config_.window_tokens) {
    window_tokens_ -= window_.front().tokens();
    window_.pop_front();
    ++counters_.blocks_left_window;
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

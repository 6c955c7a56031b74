// The KV cache a stream's frames are encoded with (ReKV's video prefill): each new frame's
// tokens attend to the sinks and a sliding window of the most recent blocks, never to the whole
// stream. Positions are assigned at use: sinks 0..S-1, then the window's blocks one after
// another (block_layout.h), then the new tokens. After a forward the new tokens are cut into
// one KvBlock per frame (commit_frames); blocks older than the window leave the GPU.
//
// Storage: the sinks, the window and the new tokens lie in one contiguous buffer per layer, in
// that order, so a forward's view of a layer is a slice of it (no copy); new tokens are written
// once, at append, and a block is a view of its tokens there. When blocks leave the window the
// sinks are copied again just before the new oldest block; when the buffer's end is reached the
// live part moves to the front of a new buffer (docs/optimisation-notes.md: assembling the
// window for every layer of every forward cost more than the forward's matrix products).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <deque>
#include <vector>

#include "llm/kv_cache.h"
#include "memory/block_layout.h"
#include "memory/kv_block.h"
#include "memory/sink_kv.h"

namespace vigil::memory {

struct StreamingConfig {
  // Tokens of recent blocks new frames attend to, besides the sinks (ReKV's n_local: 15000
  // for 7B models, ~76 frames of 196 tokens). The newest blocks whose tokens fit are kept;
  // at least the newest block is always kept.
  int64_t window_tokens = 15000;
  PositionLayout layout = PositionLayout::kPacked;
};

// What commit_frames needs to know of each frame encoded in the last forward(s).
struct FrameInfo {
  int64_t index = 0;  // KvBlock::index: increasing along the stream
  double start_seconds = 0.0;
  double end_seconds = 0.0;
  int64_t frame_tokens = 0;     // tokens before Differential Token Drop
  torch::Tensor token_offsets;  // int64 [T]: kept tokens' places in the frame, ascending
};

struct StreamingCounters {
  int64_t frames_committed = 0;
  int64_t tokens_committed = 0;
  int64_t blocks_left_window = 0;
  int64_t window_blocks = 0;
  int64_t window_tokens = 0;
  int64_t window_bytes = 0;
};

// Not thread-safe: one encoder uses it at a time; answer caches read its window between
// encodes (the engine serialises them per stream).
class StreamingKvCache final : public llm::KvCache {
 public:
  // sinks: on the model's device.
  StreamingKvCache(SinkKv sinks, StreamingConfig config);

  // The first position after the sinks and the window: where new tokens go.
  int64_t next_position() const;
  // Positions for the tokens of `frames` encoded in one forward, in order, under the layout
  // (packed: consecutive; frame gaps: each frame's span is its frame_tokens). int64 [sum T].
  torch::Tensor frame_positions(const std::vector<FrameInfo>& frames) const;

  // llm::KvCache. append() holds new tokens until commit_frames(); view() is sinks + window +
  // held tokens; length() is the position after the held tokens; truncate() drops held tokens.
  void append(int layer, const torch::Tensor& keys, const torch::Tensor& values,
              const torch::Tensor& positions) override;
  llm::KvView view(int layer) const override;
  int64_t length() const override;
  void truncate(int64_t length) override;
  // next_position() while no tokens are held: sinks and window positions ascend below it.
  std::optional<int64_t> ordered_end() const override;

  // Cuts the held tokens into one block per frame, in order (the frames' T must add up to the
  // held tokens in every layer), with summary keys; pushes them into the window, drops the
  // oldest blocks beyond window_tokens, and returns the new blocks. Their tensors are views of
  // the window's buffer: the caller copies them down the tiers (work queued on the device's
  // current stream, or a copy that this stream waits for) and must not modify them; once a
  // block leaves the window its tokens there are overwritten.
  std::vector<KvBlock> commit_frames(const std::vector<FrameInfo>& frames);

  const SinkKv& sinks() const { return sinks_; }
  // The window, oldest first, on the model's device.
  const std::deque<KvBlock>& window() const { return window_; }
  const StreamingConfig& config() const { return config_; }
  int64_t layers() const { return sinks_.layers(); }
  StreamingCounters counters() const;

 private:
  int64_t window_span() const;
  // Tokens in the buffer from begin_: sinks, window, and the most any layer holds.
  int64_t live_tokens() const;
  // Makes room for `tokens` more after the live ones, moving them to a new, larger buffer when
  // they do not fit (the window's blocks are re-pointed at it).
  void reserve(int64_t tokens);

  SinkKv sinks_;
  StreamingConfig config_;
  std::deque<KvBlock> window_;
  int64_t window_tokens_ = 0;
  // [layers, kv_heads, capacity, head_dim] in the sinks' dtype, on their device: from begin_
  // on, a copy of the sinks, the window's tokens, then the held tokens of each layer.
  torch::Tensor keys_, values_;
  torch::Tensor positions_;  // int64 [capacity]: each buffered token's position
  int64_t begin_ = 0;
  std::vector<int64_t> held_;   // per layer: tokens appended since the last commit
  int64_t held_positions_ = 0;  // held tokens whose positions are written (the most of any layer)
  torch::Tensor sink_keys_, sink_values_;  // [layers, kv_heads, S, head_dim]
  torch::Tensor sink_positions_;           // int64 [S] = 0..S-1
  StreamingCounters counters_;
};

}  // namespace vigil::memory

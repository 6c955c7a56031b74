// The KV cache a stream's frames are encoded with (ReKV's video prefill): each new frame's
// tokens attend to the sinks and a sliding window of the most recent blocks, never to the whole
// stream. Positions are assigned at use: sinks 0..S-1, then the window's blocks one after
// another (block_layout.h), then the new tokens. After a forward the new tokens are cut into
// one KvBlock per frame (commit_frames); blocks older than the window leave the GPU.
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

  // Cuts the held tokens into one block per frame, in order (the frames' T must add up to the
  // held tokens in every layer), with summary keys; pushes them into the window, drops the
  // oldest blocks beyond window_tokens, and returns the new blocks (their tensors are shared
  // with the window: the caller copies them down the tiers and must not modify them).
  std::vector<KvBlock> commit_frames(const std::vector<FrameInfo>& frames);

  const SinkKv& sinks() const { return sinks_; }
  // The window, oldest first, on the model's device.
  const std::deque<KvBlock>& window() const { return window_; }
  const StreamingConfig& config() const { return config_; }
  int64_t layers() const { return sinks_.layers(); }
  StreamingCounters counters() const;

 private:
  struct Held {
    std::vector<torch::Tensor> keys, values, positions;  // appended chunks
    int64_t tokens = 0;
  };
  int64_t window_span() const;
  // Positions of the sinks' and the window's tokens, int64 on the sinks' device: made on the
  // host once per window (the blocks' token offsets live there) and copied to the device once,
  // then shared by every layer's view. Per block and layer, each view cost a device copy that
  // waited for the device (measured: docs/optimisation-notes.md).
  const torch::Tensor& window_positions() const;

  SinkKv sinks_;
  StreamingConfig config_;
  std::deque<KvBlock> window_;
  int64_t window_tokens_ = 0;
  std::vector<Held> held_;                  // per layer
  mutable torch::Tensor window_positions_;  // undefined until asked for after a change
  StreamingCounters counters_;
};

}  // namespace vigil::memory

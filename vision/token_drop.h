// Differential Token Drop (DTD, TimeChat-Online): a video token that barely changed since the
// last token kept at the same spatial position carries nothing new, so it is dropped before
// the LLM reads it. On static camera footage this removes most video tokens, which is what
// makes hours of KV memory affordable; the per-frame drop ratio is the scene-change signal.
//
// Unlike TimeChat-Online's code, which compares with the previous frame's full features, each
// position is compared with the last token *kept* there (issue 4): slow drift accumulates until
// it crosses the threshold instead of being dropped frame after frame forever.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace vigil::vision {

struct TokenDropSettings {
  bool enabled = true;
  // A token is dropped when its cosine similarity with the last kept token at its position is
  // above this. 0.5 is TimeChat-Online's evaluation setting; 1 keeps every token.
  double threshold = 0.5;
};

// What survived of one frame.
struct FrameTokenDrop {
  torch::Tensor kept_offsets;  // int64 [K], ascending: kept tokens' places in the frame (0..N-1)
  torch::Tensor kept_tokens;   // [K, D], the frame's tokens at those places (input dtype/device)
  int64_t tokens_in = 0;       // N
  int64_t tokens_kept = 0;     // K
  // Fraction of the frame's tokens dropped, 0..1 (0 for a stream's first frame).
  double drop_ratio() const;
};

// One stream's token drop state. Frames must be given in stream order. Not thread-safe: one
// ingestion pipeline owns it.
class DifferentialTokenDrop {
 public:
  explicit DifferentialTokenDrop(TokenDropSettings settings);

  // Drops the unchanged tokens of frames [F, N, D] (the projected, pooled video tokens the LLM
  // reads; any float dtype, CPU or CUDA). The stream's first frame keeps every token. Throws
  // std::invalid_argument when N or D differ from earlier frames.
  std::vector<FrameTokenDrop> apply(const torch::Tensor& frames);

  // Forgets the reference tokens: the next frame is treated as a stream's first.
  void reset();

  const TokenDropSettings& settings() const { return settings_; }
  // Totals since construction (not cleared by reset): for /metrics and tests.
  int64_t tokens_in() const { return tokens_in_; }
  int64_t tokens_kept() const { return tokens_kept_; }

 private:
  FrameTokenDrop apply_frame(const torch::Tensor& frame);

  TokenDropSettings settings_;
  torch::Tensor reference_;  // fp32 [N, D]: the last kept token at each position
  int64_t tokens_in_ = 0;
  int64_t tokens_kept_ = 0;
};

}  // namespace vigil::vision

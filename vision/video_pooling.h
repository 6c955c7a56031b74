// LLaVA-OneVision's video pooling: each frame's grid of projected tokens is shrunk to half its
// side (rounded up) by *bilinear interpolation* (align_corners = false), not by averaging, as
// transformers' LlavaOnevisionModel.apply_pooling does: 27x27 -> 14x14 = 196 tokens per frame
// for the released checkpoints, 5x5 -> 3x3 for the tiny test model.
#pragma once

#include <torch/torch.h>

#include <cstdint>

namespace vigil::vision {

// The pooled side for a side of `side` tokens: ceil(side / 2).
inline int64_t pooled_side(int64_t side) {
  return (side + 1) / 2;
}

// Tokens [F, rows * cols, D] (row-major grid per frame, any float dtype and device) to
// [F, pooled_side(rows) * pooled_side(cols), D], same dtype and device. Throws
// VisionInputError when the token count is not rows * cols.
torch::Tensor pool_video_tokens(const torch::Tensor& tokens, int64_t rows, int64_t cols);

}  // namespace vigil::vision

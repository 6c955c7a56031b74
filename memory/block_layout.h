// How a block's tokens get positions when a context is assembled. Blocks carry no absolute
// positions (keys are stored before RoPE): each context lays its blocks out one after another
// from some first position, and the block's tokens take positions inside its span.
#pragma once

#include <torch/torch.h>

#include <cstdint>

namespace vigil::memory {

enum class PositionLayout {
  // The kept tokens take consecutive positions: a block spans T positions (ReKV re-packing).
  kPacked,
  // The block spans the frame's tokens before Differential Token Drop (frame_tokens) and each
  // kept token sits at its token offset, gaps left where tokens were dropped (TimeChat-Online).
  kFrameGaps,
};

// Positions a block's span takes in a context.
inline int64_t block_span(PositionLayout layout, int64_t tokens, int64_t frame_tokens) {
  return layout == PositionLayout::kPacked ? tokens : frame_tokens;
}

// int64 [T] on `device`: the positions of a block's tokens when its span starts at `first`.
// token_offsets: int64 [T] (KvBlock::token_offsets).
inline torch::Tensor block_positions(PositionLayout layout, const torch::Tensor& token_offsets,
                                     int64_t first, torch::Device device) {
  const auto options = torch::TensorOptions().dtype(torch::kInt64).device(device);
  if (layout == PositionLayout::kPacked) {
    return torch::arange(first, first + token_offsets.size(0), options);
  }
  return token_offsets.to(device, torch::kInt64) + first;
}

}  // namespace vigil::memory

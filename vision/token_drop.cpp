#include "vision/token_drop.h"

#include <stdexcept>
#include <string>

namespace vigil::vision {

double FrameTokenDrop::drop_ratio() const {
  if (tokens_in == 0) return 0.0;
  return static_cast<double>(tokens_in - tokens_kept) / static_cast<double>(tokens_in);
}

DifferentialTokenDrop::DifferentialTokenDrop(TokenDropSettings settings) : settings_(settings) {}

void DifferentialTokenDrop::reset() {
  reference_ = torch::Tensor();
}

std::vector<FrameTokenDrop> DifferentialTokenDrop::apply(const torch::Tensor& frames) {
  if (frames.dim() != 3) {
    throw std::invalid_argument("token drop: frames must be [F, N, D], got " +
                                std::to_string(frames.dim()) + " dimensions");
  }
  std::vector<FrameTokenDrop> results;
  results.reserve(static_cast<size_t>(frames.size(0)));
  // Each frame's reference depends on what the previous frames kept: frames go one by one,
  // each as a few whole-frame tensor operations.
  for (int64_t f = 0; f < frames.size(0); ++f) results.push_back(apply_frame(frames[f]));
  return results;
}

FrameTokenDrop DifferentialTokenDrop::apply_frame(const torch::Tensor& frame) {
  const int64_t positions = frame.size(0);
  FrameTokenDrop result;
  result.tokens_in = positions;
  const torch::Tensor current = frame.to(torch::kFloat32);
  if (reference_.defined() && !reference_.sizes().equals(current.sizes())) {
    throw std::invalid_argument("token drop: frame has " + std::to_string(positions) + "x" +
                                std::to_string(frame.size(1)) + " tokens, earlier frames " +
                                std::to_string(reference_.size(0)) + "x" +
                                std::to_string(reference_.size(1)));
  }
  if (!settings_.enabled || !reference_.defined()) {
    result.kept_offsets = torch::arange(positions, frame.options().dtype(torch::kInt64));
    result.kept_tokens = frame;
    reference_ = current.clone();
  } else {
    // Clamped so that rounding never lifts a similarity above 1: threshold 1 keeps everything.
    const torch::Tensor similarity =
        torch::cosine_similarity(current, reference_, /*dim=*/1, /*eps=*/1e-8).clamp(-1.0, 1.0);
    const torch::Tensor keep = similarity <= settings_.threshold;
    result.kept_offsets = keep.nonzero().flatten();
    result.kept_tokens = frame.index_select(0, result.kept_offsets);
    reference_.index_copy_(0, result.kept_offsets, current.index_select(0, result.kept_offsets));
  }
  result.tokens_kept = result.kept_offsets.size(0);
  tokens_in_ += result.tokens_in;
  tokens_kept_ += result.tokens_kept;
  return result;
}

}  // namespace vigil::vision

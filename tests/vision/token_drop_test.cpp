// Differential Token Drop on synthetic token grids: which tokens survive, counters, ratios.
// (The same properties on real decoded video through the vision encoder are in
// token_drop_video_test.cpp.)
#include "vision/token_drop.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

namespace vigil::vision {
namespace {

constexpr int64_t kPositions = 16;
constexpr int64_t kDim = 8;

torch::Tensor random_frame(int64_t seed) {
  torch::manual_seed(static_cast<uint64_t>(seed));
  return torch::randn({kPositions, kDim});
}

std::vector<int64_t> offsets(const FrameTokenDrop& drop) {
  const torch::Tensor o = drop.kept_offsets.contiguous();
  return {o.data_ptr<int64_t>(), o.data_ptr<int64_t>() + o.numel()};
}

TEST(TokenDrop, FirstFrameKeepsEverythingAndStaticFramesDropEverything) {
  DifferentialTokenDrop drop({});
  const torch::Tensor frame = random_frame(1);
  const auto results = drop.apply(torch::stack({frame, frame, frame}));
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[0].tokens_kept, kPositions);
  EXPECT_DOUBLE_EQ(results[0].drop_ratio(), 0.0);
  EXPECT_TRUE(torch::equal(results[0].kept_tokens, frame));
  for (int f = 1; f < 3; ++f) {
    EXPECT_EQ(results[f].tokens_kept, 0);
    EXPECT_DOUBLE_EQ(results[f].drop_ratio(), 1.0);
    EXPECT_EQ(results[f].kept_tokens.size(0), 0);
    EXPECT_EQ(results[f].kept_tokens.size(1), kDim);
  }
  EXPECT_EQ(drop.tokens_in(), 3 * kPositions);
  EXPECT_EQ(drop.tokens_kept(), kPositions);
}

TEST(TokenDrop, KeepsExactlyTheChangedPositionsWithTheirPlaces) {
  DifferentialTokenDrop drop({});
  const torch::Tensor first = random_frame(2);
  torch::Tensor second = first.clone();
  // Positions 3 and 11 become orthogonal-ish (negated: similarity -1); position 7 is only
  // rescaled (similarity 1: a brightness change of the same content is not news).
  second[3] = -first[3];
  second[11] = -first[11];
  second[7] = first[7] * 3.0;
  const auto results = drop.apply(torch::stack({first, second}));
  EXPECT_EQ(offsets(results[1]), (std::vector<int64_t>{3, 11}));
  EXPECT_TRUE(torch::equal(results[1].kept_tokens[0], second[3]));
  EXPECT_TRUE(torch::equal(results[1].kept_tokens[1], second[11]));
  EXPECT_NEAR(results[1].drop_ratio(), 14.0 / 16.0, 1e-12);
}

TEST(TokenDrop, ThresholdDecidesAtTheBoundary) {
  // Unit tokens at a chosen angle from the reference: similarity 0.6 is above the threshold
  // 0.5 (dropped), 0.4 is not (kept).
  const torch::Tensor reference = torch::tensor({{1.0f, 0.0f}, {1.0f, 0.0f}});
  const torch::Tensor next = torch::tensor({{0.6f, 0.8f}, {0.4f, 0.9165151f}});
  DifferentialTokenDrop drop({true, 0.5});
  const auto results = drop.apply(torch::stack({reference, next}));
  EXPECT_EQ(offsets(results[1]), (std::vector<int64_t>{1}));
}

TEST(TokenDrop, ComparesWithTheLastKeptTokenNotThePreviousFrame) {
  // A token that drifts a little each frame: each step alone is below the change threshold,
  // but the drift since the last kept token crosses it, so it is kept again eventually.
  DifferentialTokenDrop drop({true, 0.9});
  std::vector<torch::Tensor> frames;
  for (int f = 0; f < 6; ++f) {
    const double angle = 0.3 * f;  // radians; cos(0.3) = 0.955 > 0.9 per step
    frames.push_back(torch::tensor(
        {{static_cast<float>(std::cos(angle)), static_cast<float>(std::sin(angle))}}));
  }
  const auto results = drop.apply(torch::stack(frames));
  std::vector<int64_t> kept_per_frame;
  for (const auto& r : results) kept_per_frame.push_back(r.tokens_kept);
  // Angles since the last kept: f1 0.3 (drop), f2 0.6 (cos 0.825: keep), f3 0.3 (drop),
  // f4 0.6 (keep), f5 0.3 (drop).
  EXPECT_EQ(kept_per_frame, (std::vector<int64_t>{1, 0, 1, 0, 1, 0}));
}

TEST(TokenDrop, HardCutKeepsNearlyEverything) {
  // A cut: the next frame's tokens are unrelated to the last kept ones (independent random
  // directions in 1024 dimensions: similarities near 0).
  DifferentialTokenDrop drop({});
  torch::manual_seed(7);
  const torch::Tensor before = torch::randn({196, 1024});
  const torch::Tensor after = torch::randn({196, 1024});
  const auto results = drop.apply(torch::stack({before, before, after}));
  EXPECT_EQ(results[1].tokens_kept, 0);
  EXPECT_GE(results[2].tokens_kept, 196 * 9 / 10);
}

TEST(TokenDrop, ThresholdOneAndDisabledKeepEverything) {
  for (const TokenDropSettings settings :
       {TokenDropSettings{true, 1.0}, TokenDropSettings{false, 0.5}}) {
    DifferentialTokenDrop drop(settings);
    const torch::Tensor frame = random_frame(3);
    const auto results = drop.apply(torch::stack({frame, frame, frame * 2.0}));
    for (const auto& r : results) {
      EXPECT_EQ(r.tokens_kept, kPositions);
      EXPECT_EQ(offsets(r).back(), kPositions - 1);
    }
  }
}

TEST(TokenDrop, StateCarriesAcrossCallsAndResetStartsAStream) {
  DifferentialTokenDrop drop({});
  const torch::Tensor frame = random_frame(4);
  EXPECT_EQ(drop.apply(frame.unsqueeze(0))[0].tokens_kept, kPositions);
  EXPECT_EQ(drop.apply(frame.unsqueeze(0))[0].tokens_kept, 0);
  drop.reset();
  EXPECT_EQ(drop.apply(frame.unsqueeze(0))[0].tokens_kept, kPositions);
}

TEST(TokenDrop, KeepsInputDtype) {
  DifferentialTokenDrop drop({});
  const torch::Tensor frame = random_frame(5).to(torch::kBFloat16);
  const auto results = drop.apply(torch::stack({frame, -frame}));
  EXPECT_EQ(results[1].kept_tokens.scalar_type(), torch::kBFloat16);
  EXPECT_EQ(results[1].tokens_kept, kPositions);
}

TEST(TokenDrop, RejectsAChangedGrid) {
  DifferentialTokenDrop drop({});
  drop.apply(random_frame(6).unsqueeze(0));
  EXPECT_THROW(drop.apply(torch::zeros({1, kPositions + 1, kDim})), std::invalid_argument);
  EXPECT_THROW(drop.apply(torch::zeros({kPositions, kDim})), std::invalid_argument);
}

}  // namespace
}  // namespace vigil::vision

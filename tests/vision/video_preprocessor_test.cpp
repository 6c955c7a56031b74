// Frames to pixel values: normalised values of known pixels, the [N, 3, H, W] layout, equality
// with transformers' LlavaOnevisionVideoProcessor output on real frames, plan sharing counters,
// and typed errors for frames that cannot be stacked.
#include "vision/video_preprocessor.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "tests/vision/fixture_tensors.h"
#include "vision/preprocess_error.h"

namespace vigil::vision {
namespace {

using testing::fixture_image;
using testing::preprocess_fixture;

TEST(VideoPreprocessorTest, NormalisesKnownPixels) {
  const VideoPreprocessor half{VideoPreprocessorConfig{}};  // mean = std = 0.5
  for (int c = 0; c < 3; ++c) {
    EXPECT_EQ(half.normalized(c, 0), -1.0f);
    EXPECT_EQ(half.normalized(c, 255), 1.0f);
    EXPECT_EQ(half.normalized(c, 128), (128.0f - 127.5f) / 127.5f);
    EXPECT_NEAR(half.normalized(c, 64), (64 / 255.0 - 0.5) / 0.5, 1e-6);
  }
  const VideoPreprocessor clip{VideoPreprocessorConfig::transformers_class_defaults()};
  for (int c = 0; c < 3; ++c) {
    for (int x : {0, 17, 128, 255}) {
      const double expected = (x / 255.0 - kOpenAiClipMean[c]) / kOpenAiClipStd[c];
      EXPECT_NEAR(clip.normalized(c, static_cast<uint8_t>(x)), expected, 2e-6) << c << " " << x;
    }
  }
  EXPECT_NEAR(clip.normalized(0, 0), -1.7922625, 1e-6);  // -0.48145466 / 0.26862954

  VideoPreprocessorConfig rescale_only;
  rescale_only.do_normalize = false;
  EXPECT_EQ(VideoPreprocessor{rescale_only}.normalized(1, 255),
            255.0f * static_cast<float>(1.0 / 255.0));
  VideoPreprocessorConfig raw = rescale_only;
  raw.do_rescale = false;
  EXPECT_EQ(VideoPreprocessor{raw}.normalized(2, 200), 200.0f);
}

TEST(VideoPreprocessorTest, WritesChannelPlanesFramesFirst) {
  VideoPreprocessorConfig config;
  config.size = {2, 1};
  const VideoPreprocessor preprocessor{config};
  const std::vector<uint8_t> a = {0, 255, 128, 255, 0, 64};  // two pixels: (0,255,128) (255,0,64)
  const std::vector<uint8_t> b = {255, 255, 255, 0, 0, 0};
  std::vector<float> out(VideoPreprocessor::output_floats(2, config.size));
  const PreprocessStats stats = preprocessor.preprocess(
      {RgbImageView{a.data(), {2, 1}}, RgbImageView{b.data(), {2, 1}}}, out.data(), out.size());
  EXPECT_EQ(stats.frames, 2);
  EXPECT_EQ(stats.frames_resized, 0);
  EXPECT_EQ(stats.resize_plans, 0);
  auto v = [&](uint8_t x) { return preprocessor.normalized(0, x); };
  const std::vector<float> expected = {
      v(0),   v(255), v(255), v(0), v(128), v(64),  // frame a: R G B
      v(255), v(0),   v(255), v(0), v(255), v(0)};  // frame b
  EXPECT_EQ(out, expected);
}

// pixel_values_videos[0] of transformers' processor vs ours, element for element.
void expect_equal_to_transformers(const VideoPreprocessorConfig& config, int frame,
                                  const std::string& tensor_name) {
  const auto frames = llm::SafetensorsFile::open(preprocess_fixture("reference.safetensors"));
  const auto expected_file =
      llm::SafetensorsFile::open(preprocess_fixture("transformers.safetensors"));
  const testing::FixtureImage input = fixture_image(frames, "frame_" + std::to_string(frame));
  const llm::TensorView& expected = expected_file.tensor(tensor_name);
  ASSERT_EQ(expected.dtype, llm::DType::kF32);
  ASSERT_EQ(expected.shape, (std::vector<int64_t>{1, 1, 3, config.size.height, config.size.width}));

  const VideoPreprocessor preprocessor{config};
  std::vector<float> out(VideoPreprocessor::output_floats(1, config.size));
  preprocessor.preprocess({RgbImageView{input.rgb.data(), input.size}}, out.data(), out.size());
  const float* reference = reinterpret_cast<const float*>(expected.data);
  size_t differing = 0;
  double max_difference = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] != reference[i]) ++differing;
    max_difference = std::max(max_difference, std::abs(static_cast<double>(out[i]) - reference[i]));
  }
  EXPECT_EQ(differing, 0u) << tensor_name << ": " << differing << " of " << out.size()
                           << " values differ, max difference " << max_difference;
}

TEST(VideoPreprocessorTest, EqualsTransformersProcessorWithClassDefaultsAt70) {
  VideoPreprocessorConfig config = VideoPreprocessorConfig::transformers_class_defaults();
  config.size = {70, 70};
  for (int frame = 0; frame < 3; ++frame) {
    expect_equal_to_transformers(config, frame,
                                 "pixel_values_" + std::to_string(frame) + "_70_clip");
  }
}

TEST(VideoPreprocessorTest, EqualsTransformersProcessorWithReleasedCheckpointConfig) {
  expect_equal_to_transformers(VideoPreprocessorConfig{}, 1, "pixel_values_1_384_half");
}

TEST(VideoPreprocessorTest, SharesOneResizePlanPerInputSize) {
  VideoPreprocessorConfig config;
  config.size = {32, 32};
  const VideoPreprocessor preprocessor{config};
  std::vector<decoder::Frame> frames(4);
  const int sizes[4][2] = {{64, 48}, {80, 60}, {64, 48}, {32, 32}};
  for (int i = 0; i < 4; ++i) {
    frames[i].width = sizes[i][0];
    frames[i].height = sizes[i][1];
    frames[i].rgb.assign(static_cast<size_t>(sizes[i][0]) * sizes[i][1] * 3,
                         static_cast<uint8_t>(40 * i));
  }
  std::vector<float> out;
  const PreprocessStats stats = preprocessor.preprocess(frames, out);
  EXPECT_EQ(stats.frames, 4);
  EXPECT_EQ(stats.frames_resized, 3);
  EXPECT_EQ(stats.resize_plans, 2);
  ASSERT_EQ(out.size(), 4u * 3 * 32 * 32);
  for (int i = 0; i < 4; ++i) {  // flat frames stay flat through the resize
    EXPECT_EQ(out[static_cast<size_t>(i) * 3 * 32 * 32 + 5],
              preprocessor.normalized(0, static_cast<uint8_t>(40 * i)));
  }
}

TEST(VideoPreprocessorTest, FrameViewsAndDecodedFramesGiveTheSameValues) {
  const auto file = llm::SafetensorsFile::open(preprocess_fixture("reference.safetensors"));
  const testing::FixtureImage image = fixture_image(file, "frame_1");
  decoder::Frame frame;
  frame.width = image.size.width;
  frame.height = image.size.height;
  frame.rgb = image.rgb;
  const VideoPreprocessor preprocessor{VideoPreprocessorConfig{}};
  std::vector<float> from_frames;
  preprocessor.preprocess(std::vector<decoder::Frame>{frame, frame}, from_frames);
  std::vector<float> from_views(VideoPreprocessor::output_floats(2, {384, 384}));
  preprocessor.preprocess(
      {RgbImageView{image.rgb.data(), image.size}, RgbImageView{image.rgb.data(), image.size}},
      from_views.data(), from_views.size());
  EXPECT_EQ(from_frames, from_views);
}

TEST(VideoPreprocessorTest, FramesThatCannotBeStackedAreTypedErrors) {
  const VideoPreprocessor preprocessor{VideoPreprocessorConfig{}};
  std::vector<decoder::Frame> frames(1);
  frames[0].width = 4;
  frames[0].height = 4;
  frames[0].rgb.resize(47);
  std::vector<float> out;
  try {
    preprocessor.preprocess(frames, out);
    FAIL() << "no error for a short frame";
  } catch (const PreprocessError& error) {
    EXPECT_NE(std::string(error.what()).find("expected 48"), std::string::npos) << error.what();
  }

  const std::vector<uint8_t> pixels(48);
  std::vector<float> small(10);
  EXPECT_THROW(
      preprocessor.preprocess({RgbImageView{pixels.data(), {4, 4}}}, small.data(), small.size()),
      PreprocessError);
  EXPECT_THROW(preprocessor.preprocess({RgbImageView{nullptr, {4, 4}}}, small.data(), small.size()),
               PreprocessError);

  VideoPreprocessorConfig keep_size;
  keep_size.do_resize = false;
  const VideoPreprocessor no_resize{keep_size};
  std::vector<float> room(3 * 16 * 2);
  EXPECT_THROW(no_resize.preprocess(
                   {RgbImageView{pixels.data(), {4, 4}}, RgbImageView{pixels.data(), {2, 8}}},
                   room.data(), room.size()),
               PreprocessError);
  const PreprocessStats stats = no_resize.preprocess(
      {RgbImageView{pixels.data(), {4, 4}}, RgbImageView{pixels.data(), {4, 4}}}, room.data(),
      room.size());
  EXPECT_EQ(stats.frames, 2);
  EXPECT_EQ(stats.frames_resized, 0);

  EXPECT_EQ(preprocessor.preprocess(std::vector<RgbImageView>{}, nullptr, 0).frames, 0);
}

}  // namespace
}  // namespace vigil::vision

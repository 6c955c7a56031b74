// DevicePreprocessor (preprocessing as float64 matrix products) against VideoPreprocessor (the
// CPU's integer resize): bit-identical floats on real frames (the preprocess fixtures, and
// against transformers' own processor output), on random noise (the bicubic's negative lobes
// clamp) for down- and upscales, one-axis resizes, mixed input sizes, do_resize off; typed
// errors. Runs on the CPU here; the CUDA variant runs where a device is present.
#include "vision/device_preprocessor.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <random>
#include <string>
#include <vector>

#include "llm/safetensors_file.h"
#include "tests/vision/fixture_tensors.h"
#include "vision/preprocess_error.h"

namespace vigil::vision {
namespace {

std::vector<uint8_t> noise(ImageSize size, uint32_t seed) {
  std::mt19937 generator(seed);
  std::vector<uint8_t> rgb(size.rgb_bytes());
  for (uint8_t& byte : rgb) byte = static_cast<uint8_t>(generator() & 0xff);
  return rgb;
}

std::vector<torch::Device> devices() {
  std::vector<torch::Device> result = {torch::kCPU};
  if (torch::cuda::is_available()) result.push_back(torch::kCUDA);
  return result;
}

// Both paths on the same frames; every float must be equal.
void expect_same_as_cpu(const VideoPreprocessorConfig& config,
                        const std::vector<RgbImageView>& frames, const std::string& what) {
  const VideoPreprocessor cpu{config};
  const ImageSize output = cpu.output_size(frames.front().size);
  std::vector<float> expected(VideoPreprocessor::output_floats(frames.size(), output));
  cpu.preprocess(frames, expected.data(), expected.size());
  for (const torch::Device device : devices()) {
    const DevicePreprocessor on_device(cpu, device);
    const torch::Tensor actual = on_device.preprocess(frames).to(torch::kCPU);
    ASSERT_EQ(actual.sizes(), (std::vector<int64_t>{static_cast<int64_t>(frames.size()), 3,
                                                    output.height, output.width}))
        << what;
    ASSERT_EQ(actual.scalar_type(), torch::kFloat32) << what;
    const float* a = actual.data_ptr<float>();
    size_t differing = 0;
    for (size_t i = 0; i < expected.size(); ++i) differing += a[i] != expected[i];
    EXPECT_EQ(differing, 0u) << what << " on " << device << ": " << differing << " of "
                             << expected.size() << " values differ";
  }
}

TEST(DevicePreprocessorTest, EqualsTheCpuPathOnRealFrames) {
  const auto file =
      llm::SafetensorsFile::open(testing::preprocess_fixture("reference.safetensors"));
  std::vector<testing::FixtureImage> images;
  for (int frame = 0; frame < 3; ++frame) {
    images.push_back(testing::fixture_image(file, "frame_" + std::to_string(frame)));
  }
  for (const testing::FixtureImage& image : images) {
    ASSERT_FALSE(image.rgb.empty());
    expect_same_as_cpu(VideoPreprocessorConfig{}, {RgbImageView{image.rgb.data(), image.size}},
                       "fixture frame " + std::to_string(image.size.width) + "x" +
                           std::to_string(image.size.height));
  }
  expect_same_as_cpu(VideoPreprocessorConfig::transformers_class_defaults(),
                     {RgbImageView{images[0].rgb.data(), images[0].size},
                      RgbImageView{images[1].rgb.data(), images[1].size}},
                     "two fixture frames, CLIP statistics");
}

TEST(DevicePreprocessorTest, EqualsTransformersProcessorOutput) {
  const auto frames =
      llm::SafetensorsFile::open(testing::preprocess_fixture("reference.safetensors"));
  const auto expected_file =
      llm::SafetensorsFile::open(testing::preprocess_fixture("transformers.safetensors"));
  const testing::FixtureImage input = testing::fixture_image(frames, "frame_1");
  const llm::TensorView& expected = expected_file.tensor("pixel_values_1_384_half");
  ASSERT_EQ(expected.dtype, llm::DType::kF32);
  const VideoPreprocessor cpu{VideoPreprocessorConfig{}};
  const DevicePreprocessor on_device(cpu, torch::kCPU);
  const torch::Tensor actual = on_device.preprocess({RgbImageView{input.rgb.data(), input.size}});
  ASSERT_EQ(actual.numel(), 3 * 384 * 384);
  const float* reference = reinterpret_cast<const float*>(expected.data);
  const float* a = actual.data_ptr<float>();
  size_t differing = 0;
  for (int64_t i = 0; i < actual.numel(); ++i) differing += a[i] != reference[i];
  EXPECT_EQ(differing, 0u);
}

TEST(DevicePreprocessorTest, EqualsTheCpuPathOnNoiseAtManySizes) {
  VideoPreprocessorConfig config;
  config.size = {48, 40};
  const std::vector<ImageSize> sizes = {
      {640, 360},  // downscale both axes (wide taps)
      {17, 11},    // upscale both axes
      {48, 97},    // height only
      {101, 40},   // width only
      {48, 40},    // no resize
      {1, 1},      // a single pixel
  };
  uint32_t seed = 1;
  for (const ImageSize size : sizes) {
    const std::vector<uint8_t> a = noise(size, seed++), b = noise(size, seed++);
    expect_same_as_cpu(config, {RgbImageView{a.data(), size}, RgbImageView{b.data(), size}},
                       std::to_string(size.width) + "x" + std::to_string(size.height));
  }
}

TEST(DevicePreprocessorTest, MixedSizesKeepTheirOrder) {
  VideoPreprocessorConfig config;
  config.size = {32, 32};
  const std::vector<uint8_t> a = noise({64, 48}, 7), b = noise({80, 60}, 8), c = noise({64, 48}, 9);
  // 20 frames of one size cross the 16-frame pass boundary.
  std::vector<RgbImageView> frames = {{a.data(), {64, 48}}, {b.data(), {80, 60}}};
  for (int i = 0; i < 20; ++i) frames.push_back({i % 2 ? a.data() : c.data(), {64, 48}});
  expect_same_as_cpu(config, frames, "mixed sizes");
}

TEST(DevicePreprocessorTest, WithoutResizeOnlyNormalises) {
  VideoPreprocessorConfig config;
  config.do_resize = false;
  const std::vector<uint8_t> a = noise({9, 5}, 3);
  expect_same_as_cpu(config, {RgbImageView{a.data(), {9, 5}}}, "do_resize off");
}

TEST(DevicePreprocessorTest, RejectsWhatTheCpuPathRejects) {
  VideoPreprocessorConfig config;
  config.do_resize = false;
  const VideoPreprocessor cpu{config};
  const DevicePreprocessor on_device(cpu, torch::kCPU);
  const std::vector<uint8_t> a = noise({9, 5}, 3), b = noise({5, 9}, 4);
  EXPECT_THROW(on_device.preprocess({{a.data(), {9, 5}}, {b.data(), {5, 9}}}), PreprocessError);
  EXPECT_THROW(on_device.preprocess({{nullptr, {9, 5}}}), PreprocessError);

  VideoPreprocessorConfig float_resize;
  float_resize.resize_arithmetic = ResizeArithmetic::kTorchFloat32;
  EXPECT_FALSE(DevicePreprocessor::supports(float_resize));
  EXPECT_TRUE(DevicePreprocessor::supports(VideoPreprocessorConfig{}));
  const VideoPreprocessor float_cpu{float_resize};
  const DevicePreprocessor unsupported(float_cpu, torch::kCPU);
  EXPECT_THROW(unsupported.preprocess({{a.data(), {9, 5}}}), PreprocessError);
}

}  // namespace
}  // namespace vigil::vision

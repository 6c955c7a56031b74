// The resize byte for byte against torch on real decoded frames (two 320x240, one 720x528) at
// 384x384 (upscaling one axis, downscaling the other) and 70x70 (downscaling both):
//   kTorchUint8   vs transformers.safetensors frame_{i}_native_{size}: torchvision v2 resize on
//                 uint8, what transformers' LLaVA-OneVision processor runs;
//   kTorchFloat32 vs reference.safetensors frame_{i}_resized_{size}: torchvision v1 resize on
//                 uint8 (float32 round trip), what tools/make_fixtures.py used.
#include <gtest/gtest.h>

#include <string>
#include <tuple>

#include "tests/vision/fixture_tensors.h"
#include "vision/image_resize.h"

namespace vigil::vision {
namespace {

using testing::compare_bytes;
using testing::fixture_image;
using testing::preprocess_fixture;

struct Case {
  ResizeArithmetic arithmetic;
  const char* file;
  const char* pattern;  // expected tensor name: frame_<i>_<pattern>_<size>
};

const Case kUint8{ResizeArithmetic::kTorchUint8, "transformers.safetensors", "native"};
const Case kFloat32{ResizeArithmetic::kTorchFloat32, "reference.safetensors", "resized"};

class ResizeReferenceTest : public ::testing::TestWithParam<std::tuple<bool, int, int>> {};

TEST_P(ResizeReferenceTest, BytesEqualTorch) {
  const auto [uint8_arithmetic, frame, size] = GetParam();
  const Case& c = uint8_arithmetic ? kUint8 : kFloat32;
  const auto frames = llm::SafetensorsFile::open(preprocess_fixture("reference.safetensors"));
  const auto expected_file = llm::SafetensorsFile::open(preprocess_fixture(c.file));
  const testing::FixtureImage input = fixture_image(frames, "frame_" + std::to_string(frame));
  const std::string expected_name =
      "frame_" + std::to_string(frame) + "_" + c.pattern + "_" + std::to_string(size);
  const testing::FixtureImage expected = fixture_image(expected_file, expected_name);
  ASSERT_EQ(expected.size, (ImageSize{size, size}));

  const std::vector<uint8_t> actual =
      resize_rgb24(input.rgb, input.size, ImageSize{size, size}, c.arithmetic);
  const testing::ByteDiff diff = compare_bytes(actual, expected.rgb);
  EXPECT_EQ(diff.differing, 0u) << to_string(c.arithmetic) << " " << input.size.width << "x"
                                << input.size.height << " -> " << size << ": " << diff.differing
                                << " of " << actual.size() << " bytes differ from " << c.file << " "
                                << expected_name << ", max difference " << diff.max_difference;
}

std::string case_name(const ::testing::TestParamInfo<std::tuple<bool, int, int>>& info) {
  return std::string(std::get<0>(info.param) ? "uint8" : "float32") + "_frame" +
         std::to_string(std::get<1>(info.param)) + "_to" + std::to_string(std::get<2>(info.param));
}

INSTANTIATE_TEST_SUITE_P(Fixtures, ResizeReferenceTest,
                         ::testing::Combine(::testing::Bool(), ::testing::Values(0, 1, 2),
                                            ::testing::Values(384, 70)),
                         case_name);

// The control: the two torch paths really differ on these frames, so each comparison above
// can tell them apart (transformers' bytes are not the v1 fixture's).
TEST(ResizeReferenceTest, TheTwoTorchPathsDifferOnRealFrames) {
  const auto reference = llm::SafetensorsFile::open(preprocess_fixture("reference.safetensors"));
  const auto native = llm::SafetensorsFile::open(preprocess_fixture("transformers.safetensors"));
  for (int frame = 0; frame < 3; ++frame) {
    const std::string prefix = "frame_" + std::to_string(frame);
    const testing::ByteDiff diff =
        compare_bytes(fixture_image(native, prefix + "_native_384").rgb,
                      fixture_image(reference, prefix + "_resized_384").rgb);
    EXPECT_GT(diff.differing, 1000u) << prefix;
    EXPECT_GE(diff.max_difference, 2) << prefix;
  }
}

}  // namespace
}  // namespace vigil::vision

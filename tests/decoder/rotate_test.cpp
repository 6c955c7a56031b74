// Display rotation of packed RGB24 (rotate_rgb) on images small enough to write out by hand,
// and FrameConverter's rotated output size. The rotated clips of the golden tests check the
// same against the ffmpeg CLI's autorotation.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "decoder/ffmpeg_handles.h"
#include "decoder/frame_converter.h"

namespace vigil::testing {
namespace {

using decoder::rotate_rgb;

// An image whose pixels are letters, rows top to bottom: "ABC", "DEF" is 3 wide, 2 tall.
// Each pixel is (letter, letter + 1, letter + 2), so a swapped channel shows too.
std::vector<uint8_t> image_of(const std::vector<std::string>& rows) {
  std::vector<uint8_t> rgb;
  for (const std::string& row : rows) {
    for (const char letter : row) {
      rgb.push_back(static_cast<uint8_t>(letter));
      rgb.push_back(static_cast<uint8_t>(letter + 1));
      rgb.push_back(static_cast<uint8_t>(letter + 2));
    }
  }
  return rgb;
}

std::vector<uint8_t> rotated(const std::vector<uint8_t>& rgb, int width, int height, int degrees) {
  std::vector<uint8_t> out(rgb.size());
  rotate_rgb(rgb.data(), width, height, degrees, out.data());
  return out;
}

TEST(RotateRgbTest, NinetyDegreesClockwise) {
  // The left column becomes the top row, read bottom to top.
  EXPECT_EQ(rotated(image_of({"ABC", "DEF"}), 3, 2, 90), image_of({"DA", "EB", "FC"}));
}

TEST(RotateRgbTest, OneHundredEightyDegrees) {
  EXPECT_EQ(rotated(image_of({"ABC", "DEF"}), 3, 2, 180), image_of({"FED", "CBA"}));
}

TEST(RotateRgbTest, TwoHundredSeventyDegreesClockwise) {
  // The right column becomes the top row, read top to bottom.
  EXPECT_EQ(rotated(image_of({"ABC", "DEF"}), 3, 2, 270), image_of({"CF", "BE", "AD"}));
}

TEST(RotateRgbTest, SinglePixelAndSingleRow) {
  EXPECT_EQ(rotated(image_of({"A"}), 1, 1, 90), image_of({"A"}));
  EXPECT_EQ(rotated(image_of({"ABCD"}), 4, 1, 90), image_of({"A", "B", "C", "D"}));
  EXPECT_EQ(rotated(image_of({"ABCD"}), 4, 1, 270), image_of({"D", "C", "B", "A"}));
  EXPECT_EQ(rotated(image_of({"ABCD"}), 4, 1, 180), image_of({"DCBA"}));
}

TEST(RotateRgbTest, TurnsCompose) {
  const int width = 7, height = 5;
  std::vector<uint8_t> image(static_cast<size_t>(width) * height * 3);
  std::mt19937 noise(7);
  for (uint8_t& byte : image) byte = static_cast<uint8_t>(noise());
  // Four quarter turns, a quarter turn and three more, two half turns: the identity.
  std::vector<uint8_t> turned = image;
  for (int i = 0; i < 4; ++i) {
    const bool tall = i % 2 == 1;
    turned = rotated(turned, tall ? height : width, tall ? width : height, 90);
  }
  EXPECT_EQ(turned, image);
  EXPECT_EQ(rotated(rotated(image, width, height, 90), height, width, 270), image);
  EXPECT_EQ(rotated(rotated(image, width, height, 180), width, height, 180), image);
  EXPECT_EQ(rotated(rotated(image, width, height, 90), height, width, 90),
            rotated(image, width, height, 180));
}

// A packed RGB24 AVFrame holding `rgb`.
decoder::FramePtr rgb_frame(const std::vector<uint8_t>& rgb, int width, int height) {
  decoder::FramePtr frame = decoder::make_frame();
  frame->format = AV_PIX_FMT_RGB24;
  frame->width = width;
  frame->height = height;
  EXPECT_EQ(av_frame_get_buffer(frame.get(), 0), 0);
  for (int row = 0; row < height; ++row) {
    std::copy_n(rgb.data() + static_cast<size_t>(row) * width * 3, width * 3,
                frame->data[0] + static_cast<size_t>(row) * frame->linesize[0]);
  }
  return frame;
}

TEST(FrameConverterTest, NativeSizeIsDisplayRotated) {
  const std::vector<uint8_t> image = image_of({"ABCD", "EFGH"});
  const decoder::FramePtr frame = rgb_frame(image, 4, 2);
  for (const int degrees : {0, 90, 180, 270}) {
    SCOPED_TRACE(std::to_string(degrees) + " degrees");
    decoder::FrameConverter converter(decoder::OutputSize{}, degrees);
    std::vector<uint8_t> rgb;
    int width = 0, height = 0;
    converter.convert(*frame, rgb, width, height);
    EXPECT_EQ(width, degrees % 180 == 0 ? 4 : 2);
    EXPECT_EQ(height, degrees % 180 == 0 ? 2 : 4);
    EXPECT_EQ(rgb, degrees == 0 ? image : rotated(image, 4, 2, degrees));
  }
}

TEST(FrameConverterTest, RequestedSizeIsTheDisplayedSize) {
  const decoder::FramePtr frame = rgb_frame(image_of({"ABCD", "EFGH"}), 4, 2);
  for (const int degrees : {0, 90, 180, 270}) {
    SCOPED_TRACE(std::to_string(degrees) + " degrees");
    decoder::FrameConverter converter(decoder::OutputSize{6, 10}, degrees);
    std::vector<uint8_t> rgb;
    int width = 0, height = 0;
    converter.convert(*frame, rgb, width, height);
    EXPECT_EQ(width, 6);
    EXPECT_EQ(height, 10);
    EXPECT_EQ(rgb.size(), 6u * 10 * 3);
  }
}

}  // namespace
}  // namespace vigil::testing

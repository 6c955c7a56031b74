// Properties of the resize that hold for any correct antialiased bicubic, on synthetic images:
// the identity size copies, a flat image stays flat, a linear ramp stays a ramp (monotonic, and
// equal to the line inside the image where no tap is cut off), per-axis taps are well formed,
// one resizer serves many frames, and bad sizes are typed errors.
#include "vision/image_resize.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <numeric>
#include <vector>

#include "vision/preprocess_error.h"

namespace vigil::vision {
namespace {

const ResizeArithmetic kBoth[] = {ResizeArithmetic::kTorchUint8, ResizeArithmetic::kTorchFloat32};

std::vector<uint8_t> noise_image(ImageSize size, uint32_t seed) {
  std::vector<uint8_t> rgb(size.rgb_bytes());
  uint32_t state = seed;
  for (uint8_t& byte : rgb) {
    state = state * 1664525u + 1013904223u;  // LCG: reproducible, no <random> distribution drift
    byte = static_cast<uint8_t>(state >> 24);
  }
  return rgb;
}

// value(x, y) in every channel.
template <typename F>
std::vector<uint8_t> image_of(ImageSize size, F value) {
  std::vector<uint8_t> rgb(size.rgb_bytes());
  for (int y = 0; y < size.height; ++y) {
    for (int x = 0; x < size.width; ++x) {
      for (int c = 0; c < 3; ++c)
        rgb[(static_cast<size_t>(y) * size.width + x) * 3 + c] = value(x, y);
    }
  }
  return rgb;
}

uint8_t at(const std::vector<uint8_t>& rgb, ImageSize size, int x, int y, int c = 0) {
  return rgb[(static_cast<size_t>(y) * size.width + x) * 3 + c];
}

TEST(ImageResizeTest, IdentitySizeReturnsTheInput) {
  const ImageSize size{37, 23};
  const std::vector<uint8_t> input = noise_image(size, 7);
  for (ResizeArithmetic arithmetic : kBoth) {
    EXPECT_EQ(resize_rgb24(input, size, size, arithmetic), input) << to_string(arithmetic);
    const ImageResizer resizer(size, size, arithmetic);
    EXPECT_TRUE(resizer.horizontal().weights_i16.empty() &&
                resizer.horizontal().weights_f32.empty());
    EXPECT_TRUE(resizer.vertical().weights_i16.empty() && resizer.vertical().weights_f32.empty());
  }
}

TEST(ImageResizeTest, FlatImageStaysFlat) {
  const std::vector<std::pair<ImageSize, ImageSize>> pairs = {
      {{320, 240}, {384, 384}}, {{640, 360}, {70, 70}}, {{5, 3}, {384, 384}}, {{99, 1}, {7, 5}}};
  for (ResizeArithmetic arithmetic : kBoth) {
    for (const auto& [from, to] : pairs) {
      for (uint8_t level : {uint8_t{0}, uint8_t{1}, uint8_t{128}, uint8_t{200}, uint8_t{255}}) {
        const std::vector<uint8_t> out =
            resize_rgb24(image_of(from, [&](int, int) { return level; }), from, to, arithmetic);
        ASSERT_EQ(out.size(), to.rgb_bytes());
        for (uint8_t byte : out) {
          ASSERT_EQ(byte, level) << to_string(arithmetic) << " " << from.width << "x" << from.height
                                 << " -> " << to.width << "x" << to.height;
        }
      }
    }
  }
}

// How far apart two outputs of equal inputs may be: none for the integer arithmetic; one level
// in float32, whose weights sum to 1 only up to rounding (torch's too), so 63.5 - 1e-6 and
// 63.5 + 1e-6 can round apart.
int equal_input_tolerance(ResizeArithmetic arithmetic) {
  return arithmetic == ResizeArithmetic::kTorchUint8 ? 0 : 1;
}

// A horizontal ramp value(x) = x * step resized along x (and along y, which must change nothing
// across a row): every row equal, non-decreasing, and within one level of the line through the
// output pixel's centre wherever its taps are not cut off by the image border.
void check_horizontal_ramp(ImageSize from, ImageSize to, int step, ResizeArithmetic arithmetic) {
  SCOPED_TRACE(std::string(to_string(arithmetic)) + " " + std::to_string(from.width) + "x" +
               std::to_string(from.height) + " -> " + std::to_string(to.width) + "x" +
               std::to_string(to.height));
  const auto ramp = image_of(from, [&](int x, int) { return static_cast<uint8_t>(x * step); });
  const std::vector<uint8_t> out = resize_rgb24(ramp, from, to, arithmetic);
  const ImageResizer resizer(from, to, arithmetic);
  const double scale = static_cast<double>(from.width) / to.width;
  const double support = 2.0 * std::max(scale, 1.0);
  int interior = 0;
  for (int y = 0; y < to.height; ++y) {
    for (int x = 0; x < to.width; ++x) {
      for (int c = 0; c < 3; ++c) {
        ASSERT_NEAR(at(out, to, x, y, c), at(out, to, x, 0, 0), equal_input_tolerance(arithmetic))
            << x << "," << y;
      }
      if (x > 0) {
        ASSERT_GE(at(out, to, x, y), at(out, to, x - 1, y)) << "not monotonic at x=" << x;
      }
      const double centre = scale * (x + 0.5);  // in input pixel units
      if (centre - support >= 0 && centre + support <= from.width) {
        const double line = (centre - 0.5) * step;
        EXPECT_NEAR(at(out, to, x, y), line, 1.0) << "x=" << x;
        ++interior;
      }
    }
  }
  EXPECT_GT(interior, to.width / 2);
}

TEST(ImageResizeTest, UpscaledRampIsMonotonicAndOnTheLine) {
  for (ResizeArithmetic arithmetic : kBoth) {
    check_horizontal_ramp({64, 48}, {384, 384}, 4, arithmetic);  // both axes up
    check_horizontal_ramp({64, 48}, {384, 48}, 4, arithmetic);   // width only
  }
}

TEST(ImageResizeTest, DownscaledRampIsMonotonicAndOnTheLine) {
  for (ResizeArithmetic arithmetic : kBoth) {
    check_horizontal_ramp({256, 240}, {70, 70}, 1, arithmetic);   // both axes down (antialiased)
    check_horizontal_ramp({256, 100}, {70, 300}, 1, arithmetic);  // width down, height up
  }
}

TEST(ImageResizeTest, VerticalRampIsMonotonicAndOnTheLine) {
  const ImageSize from{48, 256}, to{384, 70};
  for (ResizeArithmetic arithmetic : kBoth) {
    SCOPED_TRACE(to_string(arithmetic));
    const auto ramp = image_of(from, [](int, int y) { return static_cast<uint8_t>(y); });
    const std::vector<uint8_t> out = resize_rgb24(ramp, from, to, arithmetic);
    const double scale = static_cast<double>(from.height) / to.height;
    for (int y = 0; y < to.height; ++y) {
      for (int x = 0; x < to.width; ++x) {
        ASSERT_NEAR(at(out, to, x, y), at(out, to, 0, y), equal_input_tolerance(arithmetic));
      }
      if (y > 0) {
        ASSERT_GE(at(out, to, 0, y), at(out, to, 0, y - 1)) << "y=" << y;
      }
      const double centre = scale * (y + 0.5);
      if (centre - 2 * scale >= 0 && centre + 2 * scale <= from.height) {
        EXPECT_NEAR(at(out, to, 0, y), centre - 0.5, 1.0) << "y=" << y;
      }
    }
  }
}

TEST(ImageResizeTest, DownscalingAveragesAwayFineDetail) {
  // A one-pixel checkerboard has no energy a 10x smaller image can show: antialiasing must
  // turn it into mid grey (a resize without it would alias into stripes).
  const ImageSize from{400, 300}, to{40, 30};
  const auto checker = image_of(from, [](int x, int y) { return (x + y) % 2 ? 255 : 0; });
  for (ResizeArithmetic arithmetic : kBoth) {
    for (uint8_t byte : resize_rgb24(checker, from, to, arithmetic)) {
      ASSERT_NEAR(byte, 127.5, 2.0) << to_string(arithmetic);
    }
  }
}

TEST(ImageResizeTest, TapsAreWellFormed) {
  // 720 -> 70: support 2 * 720/70 = 20.6 input pixels each side, 43 taps; 240 -> 384: 5 taps.
  const ImageResizer down({720, 240}, {70, 384}, ResizeArithmetic::kTorchUint8);
  EXPECT_EQ(down.horizontal().taps_per_output, 43);
  EXPECT_EQ(down.vertical().taps_per_output, 5);
  for (const ResizeAxis* axis : {&down.horizontal(), &down.vertical()}) {
    EXPECT_GT(axis->precision, 0);
    EXPECT_LE(axis->precision, 22);
    for (int i = 0; i < axis->output_size; ++i) {
      ASSERT_GE(axis->first[i], 0);
      ASSERT_GT(axis->count[i], 0);
      ASSERT_LE(axis->count[i], axis->taps_per_output);
      ASSERT_LE(axis->first[i] + axis->count[i], axis->input_size);
      const int16_t* w = &axis->weights_i16[static_cast<size_t>(i) * axis->taps_per_output];
      const int sum = std::accumulate(w, w + axis->taps_per_output, 0);
      // Each weight is rounded once: the sum is 1.0 in fixed point up to half a unit per tap.
      ASSERT_NEAR(sum, 1 << axis->precision, axis->count[i]) << "output " << i;
      for (int j = axis->count[i]; j < axis->taps_per_output; ++j) {
        ASSERT_EQ(w[j], 0);
      }
    }
  }
  const ImageResizer float_down({720, 240}, {70, 384}, ResizeArithmetic::kTorchFloat32);
  for (int i = 0; i < 70; ++i) {
    const float* w = &float_down.horizontal().weights_f32[static_cast<size_t>(i) * 43];
    EXPECT_NEAR(std::accumulate(w, w + 43, 0.0), 1.0, 1e-5);
  }
}

TEST(ImageResizeTest, OneResizerServesManyFrames) {
  const ImageSize from{160, 90}, to{48, 48};
  for (ResizeArithmetic arithmetic : kBoth) {
    const ImageResizer resizer(from, to, arithmetic);
    ResizeScratch scratch;
    for (uint32_t seed = 1; seed <= 4; ++seed) {
      const std::vector<uint8_t> frame = noise_image(from, seed);
      std::vector<uint8_t> out(to.rgb_bytes());
      resizer.resize(frame.data(), out.data(), scratch);
      EXPECT_EQ(out, resize_rgb24(frame, from, to, arithmetic)) << "seed " << seed;
    }
  }
}

TEST(ImageResizeTest, ChannelsAreIndependent) {
  const ImageSize from{90, 70}, to{33, 129};
  std::vector<uint8_t> rgb = noise_image(from, 3);
  std::vector<uint8_t> red_only = rgb;
  for (size_t i = 0; i < red_only.size(); i += 3) red_only[i + 1] = red_only[i + 2] = 0;
  for (ResizeArithmetic arithmetic : kBoth) {
    const std::vector<uint8_t> all = resize_rgb24(rgb, from, to, arithmetic);
    const std::vector<uint8_t> red = resize_rgb24(red_only, from, to, arithmetic);
    for (size_t i = 0; i < all.size(); i += 3) {
      ASSERT_EQ(all[i], red[i]) << i;
    }
  }
}

TEST(ImageResizeTest, BadSizesAreTypedErrors) {
  EXPECT_THROW(ImageResizer({0, 10}, {10, 10}), PreprocessError);
  EXPECT_THROW(ImageResizer({10, 10}, {10, -1}), PreprocessError);
  EXPECT_THROW(ImageResizer({10, (1 << 20) + 1}, {10, 10}), PreprocessError);
  try {
    resize_rgb24(std::vector<uint8_t>(10), {4, 4}, {2, 2});
    FAIL() << "no error for 10 bytes of a 4x4 image";
  } catch (const PreprocessError& error) {
    EXPECT_NE(std::string(error.what()).find("48 bytes"), std::string::npos) << error.what();
  }
}

}  // namespace
}  // namespace vigil::vision

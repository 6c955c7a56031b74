// Antialiased bicubic resize of packed RGB24 images, byte for byte as torch computes it on CPU.
//
// Both arithmetics are separable: a horizontal pass (width) over every input row, then a
// vertical pass (height); a pass whose size does not change is skipped. Per axis, with
// scale = in / out: support = 2 * max(scale, 1) input pixels, output pixel i is centred on
// scale * (i + 0.5), its taps are Keys' cubic (a = -0.5) at (input pixel centre - centre) /
// max(scale, 1), normalised to sum 1. The arithmetics differ in rounding:
//   kTorchUint8   torchvision.transforms.v2.functional.resize on a uint8 tensor (what the
//                 transformers video processors call): torch's integer kernel. Weights in double,
//                 quantised to int16 at one precision per axis (the largest that keeps the
//                 biggest weight under 2^15), int32 sums with a rounding offset, each pass
//                 shifted, clamped to 0..255 and stored as uint8 (so the vertical pass reads
//                 rounded bytes).
//   kTorchFloat32 torchvision.transforms.functional.resize (v1) on a uint8 tensor: the image
//                 goes to float32, both passes run in float32 with float32 weights (fused
//                 multiply-adds, as torch's AVX2/AVX-512 build computes them), then it is
//                 clamped to 0..255 and rounded half to even. tools/make_fixtures.py's
//                 preprocess and llava_ov_tiny fixtures were made this way.
// The two differ by a few levels on real frames (up to 11 on the fixtures).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace vigil::vision {

enum class ResizeArithmetic { kTorchUint8, kTorchFloat32 };

const char* to_string(ResizeArithmetic arithmetic);

struct ImageSize {
  int width = 0;
  int height = 0;
  size_t rgb_bytes() const { return static_cast<size_t>(width) * height * 3; }
  bool operator==(const ImageSize& other) const {
    return width == other.width && height == other.height;
  }
  bool operator!=(const ImageSize& other) const { return !(*this == other); }
};

// The taps of one axis, computed once per (input, output) size pair.
struct ResizeAxis {
  int input_size = 0;
  int output_size = 0;
  int taps_per_output = 0;           // stride of the weight rows (torch's max_interp_size)
  std::vector<int32_t> first;        // [output_size] first input index of each output pixel
  std::vector<int32_t> count;        // [output_size] number of taps, first + count <= input_size
  std::vector<int16_t> weights_i16;  // [output_size * taps_per_output], kTorchUint8 only
  int precision = 0;                 // fixed-point bits of weights_i16, kTorchUint8 only
  std::vector<float> weights_f32;    // [output_size * taps_per_output], kTorchFloat32 only
};

// Buffers one resize needs between its passes; reuse one per thread across frames.
struct ResizeScratch {
  std::vector<uint8_t> bytes;     // kTorchUint8: the image after the width pass
  std::vector<uint8_t> tile;      // kTorchUint8: a block of input rows, column by column
  std::vector<int32_t> sums;      // kTorchUint8: one output row's sums in the height pass
  std::vector<float> floats;      // kTorchFloat32: the image after the width pass
  std::vector<float> float_sums;  // kTorchFloat32: one output row's sums in the height pass
};

// A resize from one size to another. Immutable after construction: one instance serves any
// number of frames and threads (each thread with its own ResizeScratch).
class ImageResizer {
 public:
  // Computes both axes' taps. Throws PreprocessError if a size is not positive or too large
  // (over 1 << 20 pixels a side).
  ImageResizer(ImageSize input, ImageSize output,
               ResizeArithmetic arithmetic = ResizeArithmetic::kTorchUint8);

  ImageSize input() const { return input_; }
  ImageSize output() const { return output_; }
  ResizeArithmetic arithmetic() const { return arithmetic_; }
  const ResizeAxis& horizontal() const { return horizontal_; }  // empty when widths are equal
  const ResizeAxis& vertical() const { return vertical_; }      // empty when heights are equal

  // src: input().rgb_bytes() bytes of packed RGB24, rows top to bottom; dst:
  // output().rgb_bytes() bytes, written in full (a copy of src when the sizes are equal). src
  // and dst must not overlap. Does not throw.
  void resize(const uint8_t* src, uint8_t* dst, ResizeScratch& scratch) const;

 private:
  ImageSize input_;
  ImageSize output_;
  ResizeArithmetic arithmetic_;
  ResizeAxis horizontal_;
  ResizeAxis vertical_;
};

// One-off convenience: builds an ImageResizer and resizes one image. Throws PreprocessError for
// bad sizes or a src whose size is not input.rgb_bytes().
std::vector<uint8_t> resize_rgb24(const std::vector<uint8_t>& src, ImageSize input,
                                  ImageSize output,
                                  ResizeArithmetic arithmetic = ResizeArithmetic::kTorchUint8);

}  // namespace vigil::vision

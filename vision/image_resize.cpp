#include "vision/image_resize.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstring>
#include <string>

#include "vision/preprocess_error.h"

// Every floating-point step below mirrors one expression of torch's
// aten/src/ATen/native/cpu/UpSampleKernel.cpp (the antialiased separable kernels and
// _compute_indices_min_size_weights_aa) with the same types, including where torch mixes float
// and double. Torch's x86 builds of that file (AVX2, AVX-512) let the compiler fuse a * b + c
// into one rounding; std::fma does so here explicitly, and this target is built with
// -ffp-contract=off so that nothing else is fused.

namespace vigil::vision {
namespace {

constexpr int kMaxSide = 1 << 20;
constexpr int kCubicInterpSize = 4;  // torch's HelperInterpCubic::interp_size
constexpr int kMaxWeightPrecision = 22;

// Keys' cubic convolution kernel with a = -0.5 (torch's antialias bicubic, as Pillow's), in the
// fused form torch's x86 build evaluates: ((a + 2)|x| - (a + 3))|x|^2 + 1 for |x| < 1,
// ((a|x| - 5a)|x| + 8a)|x| - 4a for |x| < 2, else 0.
template <typename Real>
Real keys_cubic(Real x) {
  constexpr Real a = static_cast<Real>(-0.5);
  x = std::abs(x);
  if (x < Real(1)) return std::fma(std::fma(a + 2, x, -(a + 3)) * x, x, Real(1));
  if (x < Real(2)) return std::fma(std::fma(std::fma(a, x, -5 * a), x, 8 * a), x, -4 * a);
  return Real(0);
}

// Fills axis.first/count/taps_per_output and returns the normalised weights, taps_per_output per
// output pixel (zero past count), computed in Real as torch computes them for its scalar type
// (double for uint8 images, float for float32 ones). max_weight gets the largest weight.
template <typename Real>
std::vector<Real> cubic_taps(int input_size, int output_size, ResizeAxis& axis, Real& max_weight) {
  const int64_t in = input_size;
  const Real scale = static_cast<Real>(in) / static_cast<Real>(output_size);
  const Real support =
      static_cast<Real>(scale >= 1.0 ? (kCubicInterpSize * 0.5) * static_cast<double>(scale)
                                     : kCubicInterpSize * 0.5);
  const int taps = static_cast<int>(std::ceil(support)) * 2 + 1;
  const Real inverse_scale =
      static_cast<Real>(scale >= 1.0 ? 1.0 / static_cast<double>(scale) : 1.0);

  axis.input_size = input_size;
  axis.output_size = output_size;
  axis.taps_per_output = taps;
  axis.first.assign(output_size, 0);
  axis.count.assign(output_size, 0);
  std::vector<Real> weights(static_cast<size_t>(output_size) * taps, Real(0));
  max_weight = Real(0);
  for (int64_t i = 0; i < output_size; ++i) {
    const Real center =
        static_cast<Real>(static_cast<double>(scale) * (static_cast<double>(i) + 0.5));
    const int64_t first =
        std::max(static_cast<int64_t>(static_cast<double>(center - support) + 0.5), int64_t{0});
    int64_t count =
        std::min(static_cast<int64_t>(static_cast<double>(center + support) + 0.5), in) - first;
    count = std::clamp(count, int64_t{0}, static_cast<int64_t>(taps));  // torch's guard too
    Real* w = &weights[static_cast<size_t>(i) * taps];
    Real total = 0;
    for (int64_t j = 0; j < count; ++j) {
      const double distance = static_cast<double>(static_cast<Real>(j + first) - center) +
                              0.5;  // input centre - centre
      w[j] = keys_cubic<Real>(static_cast<Real>(distance * static_cast<double>(inverse_scale)));
      total += w[j];
    }
    if (total != Real(0)) {
      for (int64_t j = 0; j < count; ++j) {
        w[j] /= total;
        max_weight = std::max(max_weight, w[j]);
      }
    }
    axis.first[i] = static_cast<int32_t>(first);
    axis.count[i] = static_cast<int32_t>(count);
  }
  return weights;
}

ResizeAxis make_axis(int input_size, int output_size, ResizeArithmetic arithmetic) {
  ResizeAxis axis;
  if (arithmetic == ResizeArithmetic::kTorchFloat32) {
    float max_weight = 0;
    axis.weights_f32 = cubic_taps<float>(input_size, output_size, axis, max_weight);
    return axis;
  }
  double max_weight = 0;
  const std::vector<double> weights = cubic_taps<double>(input_size, output_size, axis, max_weight);
  // The precision: the largest (at most 22) whose doubled value still keeps the biggest
  // weight, rounded, under 2^15; one per axis, not per output pixel.
  int precision = 0;
  for (; precision < kMaxWeightPrecision; ++precision) {
    const int next = static_cast<int>(0.5 + max_weight * (1 << (precision + 1)));
    if (next >= (1 << 15)) break;
  }
  axis.precision = precision;
  axis.weights_i16.resize(weights.size());
  for (size_t k = 0; k < weights.size(); ++k) {
    const double v = weights[k] * (1 << precision);
    axis.weights_i16[k] =
        static_cast<int16_t>(v < 0 ? static_cast<int>(-0.5 + v) : static_cast<int>(0.5 + v));
  }
  assert(axis.precision > 0);
  return axis;
}

inline uint8_t fixed_to_byte(int32_t sum, int precision) {
  // Arithmetic shift as torch's srai; anything negative clamps to 0 either way.
  return static_cast<uint8_t>(std::clamp(sum >> precision, 0, 255));
}

inline uint8_t float_to_byte(float value) {
  // torch: clamp(0, 255), round (half to even), cast.
  return static_cast<uint8_t>(std::nearbyint(std::clamp(value, 0.0f, 255.0f)));
}

// The pass kernels are also built for x86-64-v3 (AVX2, FMA) and picked at load time: integer
// sums and std::fma give the same bits on every path, only faster. Define
// VIGIL_RESIZE_PORTABLE_ONLY to build the baseline path alone (to test it on an AVX2 machine).
#if defined(__x86_64__) && defined(__linux__) && defined(__GNUC__) && !defined(__clang__) && \
    !defined(VIGIL_RESIZE_PORTABLE_ONLY)
#define VIGIL_RESIZE_KERNEL __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define VIGIL_RESIZE_KERNEL
#endif

// ---- kTorchUint8 ---------------------------------------------------------------------------

constexpr int kRowBlock = 16;               // rows of one width-pass block
constexpr int kBlockLanes = kRowBlock * 3;  // bytes of one input column of a block

// Width pass over `rows` rows: src rows of axis.input_size pixels, dst rows of axis.output_size.
// kRowBlock rows at a time, transposed into `tile` so that the block's pixels of one input column
// are contiguous: each tap is then one multiply-add over kBlockLanes bytes, which vectorises. The
// sums per row and channel are the same as one row at a time.
VIGIL_RESIZE_KERNEL void horizontal_uint8(const uint8_t* src, int rows, const ResizeAxis& axis,
                                          uint8_t* dst, std::vector<uint8_t>& tile) {
  const int in_width = axis.input_size;
  const size_t in_row = static_cast<size_t>(in_width) * 3;
  const size_t out_row = static_cast<size_t>(axis.output_size) * 3;
  const int32_t rounding = 1 << (axis.precision - 1);
  // Rows past the image's end in the last block keep the previous block's bytes: their sums are
  // computed and dropped.
  tile.resize(static_cast<size_t>(in_width) * kBlockLanes);
  for (int top = 0; top < rows; top += kRowBlock) {
    const int block_rows = std::min(kRowBlock, rows - top);
    for (int r = 0; r < block_rows; ++r) {
      const uint8_t* in = src + (top + r) * in_row;
      uint8_t* column = tile.data() + 3 * r;
      for (int x = 0; x < in_width; ++x, in += 3, column += kBlockLanes) {
        column[0] = in[0];
        column[1] = in[1];
        column[2] = in[2];
      }
    }
    for (int x = 0; x < axis.output_size; ++x) {
      const int16_t* w = &axis.weights_i16[static_cast<size_t>(x) * axis.taps_per_output];
      const uint8_t* column = tile.data() + static_cast<size_t>(axis.first[x]) * kBlockLanes;
      int32_t sums[kBlockLanes];
      for (int i = 0; i < kBlockLanes; ++i) sums[i] = rounding;
      for (int j = 0, n = axis.count[x]; j < n; ++j, column += kBlockLanes) {
        const int16_t weight = w[j];
        for (int i = 0; i < kBlockLanes; ++i) sums[i] += weight * column[i];
      }
      uint8_t* out = dst + top * out_row + 3 * static_cast<size_t>(x);
      for (int r = 0; r < block_rows; ++r, out += out_row) {
        out[0] = fixed_to_byte(sums[3 * r + 0], axis.precision);
        out[1] = fixed_to_byte(sums[3 * r + 1], axis.precision);
        out[2] = fixed_to_byte(sums[3 * r + 2], axis.precision);
      }
    }
  }
}

// Height pass: src has axis.input_size rows of row_bytes, dst axis.output_size rows.
VIGIL_RESIZE_KERNEL void vertical_uint8(const uint8_t* src, size_t row_bytes,
                                        const ResizeAxis& axis, uint8_t* dst,
                                        std::vector<int32_t>& sums) {
  sums.resize(row_bytes);
  int32_t* __restrict acc = sums.data();
  const int32_t rounding = 1 << (axis.precision - 1);
  for (int y = 0; y < axis.output_size; ++y) {
    std::fill(sums.begin(), sums.end(), rounding);
    const int16_t* w = &axis.weights_i16[static_cast<size_t>(y) * axis.taps_per_output];
    for (int j = 0, n = axis.count[y]; j < n; ++j) {
      const uint8_t* __restrict row = src + static_cast<size_t>(axis.first[y] + j) * row_bytes;
      const int16_t weight = w[j];
      for (size_t i = 0; i < row_bytes; ++i) acc[i] += weight * row[i];
    }
    uint8_t* out = dst + static_cast<size_t>(y) * row_bytes;
    for (size_t i = 0; i < row_bytes; ++i) out[i] = fixed_to_byte(acc[i], axis.precision);
  }
}

// ---- kTorchFloat32 -------------------------------------------------------------------------

// Width pass in float32: out = p0 * w0, then out = fma(pj, wj, out), as torch's separable loop.
VIGIL_RESIZE_KERNEL void horizontal_float(const uint8_t* src, int rows, const ResizeAxis& axis,
                                          float* dst) {
  const size_t in_row = static_cast<size_t>(axis.input_size) * 3;
  const size_t out_row = static_cast<size_t>(axis.output_size) * 3;
  for (int y = 0; y < rows; ++y) {
    const uint8_t* in = src + y * in_row;
    float* out = dst + y * out_row;
    for (int x = 0; x < axis.output_size; ++x) {
      const float* w = &axis.weights_f32[static_cast<size_t>(x) * axis.taps_per_output];
      const uint8_t* p = in + static_cast<size_t>(axis.first[x]) * 3;
      float r = static_cast<float>(p[0]) * w[0];
      float g = static_cast<float>(p[1]) * w[0];
      float b = static_cast<float>(p[2]) * w[0];
      p += 3;
      for (int j = 1, n = axis.count[x]; j < n; ++j, p += 3) {
        r = std::fma(static_cast<float>(p[0]), w[j], r);
        g = std::fma(static_cast<float>(p[1]), w[j], g);
        b = std::fma(static_cast<float>(p[2]), w[j], b);
      }
      out[3 * x + 0] = r;
      out[3 * x + 1] = g;
      out[3 * x + 2] = b;
    }
  }
}

// Height pass in float32 over uint8 or float rows, rounded to bytes at the end.
template <typename In>
VIGIL_RESIZE_KERNEL void vertical_float(const In* src, size_t row_values, const ResizeAxis& axis,
                                        uint8_t* dst, std::vector<float>& row_sums) {
  row_sums.resize(row_values);
  float* acc = row_sums.data();
  for (int y = 0; y < axis.output_size; ++y) {
    const float* w = &axis.weights_f32[static_cast<size_t>(y) * axis.taps_per_output];
    const In* row = src + static_cast<size_t>(axis.first[y]) * row_values;
    for (size_t i = 0; i < row_values; ++i) acc[i] = static_cast<float>(row[i]) * w[0];
    for (int j = 1, n = axis.count[y]; j < n; ++j) {
      row = src + static_cast<size_t>(axis.first[y] + j) * row_values;
      for (size_t i = 0; i < row_values; ++i)
        acc[i] = std::fma(static_cast<float>(row[i]), w[j], acc[i]);
    }
    uint8_t* out = dst + static_cast<size_t>(y) * row_values;
    for (size_t i = 0; i < row_values; ++i) out[i] = float_to_byte(acc[i]);
  }
}

void check_size(ImageSize size, const char* which) {
  if (size.width <= 0 || size.height <= 0 || size.width > kMaxSide || size.height > kMaxSide) {
    throw PreprocessError(std::string("resize: ") + which + " size " + std::to_string(size.width) +
                          "x" + std::to_string(size.height) + " is not between 1 and " +
                          std::to_string(kMaxSide) + " pixels a side");
  }
}

}  // namespace

const char* to_string(ResizeArithmetic arithmetic) {
  switch (arithmetic) {
    case ResizeArithmetic::kTorchUint8:
      return "torch_uint8";
    case ResizeArithmetic::kTorchFloat32:
      return "torch_float32";
  }
  return "unknown";
}

ImageResizer::ImageResizer(ImageSize input, ImageSize output, ResizeArithmetic arithmetic)
    : input_(input), output_(output), arithmetic_(arithmetic) {
  check_size(input, "input");
  check_size(output, "output");
  if (input.width != output.width) horizontal_ = make_axis(input.width, output.width, arithmetic);
  if (input.height != output.height) vertical_ = make_axis(input.height, output.height, arithmetic);
}

void ImageResizer::resize(const uint8_t* src, uint8_t* dst, ResizeScratch& scratch) const {
  const bool widths_differ = input_.width != output_.width;
  const bool heights_differ = input_.height != output_.height;
  if (!widths_differ && !heights_differ) {
    std::memcpy(dst, src, input_.rgb_bytes());
    return;
  }
  // Rows after the width pass: input height, output width.
  const size_t mid_row = static_cast<size_t>(output_.width) * 3;
  const size_t mid_values = mid_row * input_.height;
  if (arithmetic_ == ResizeArithmetic::kTorchUint8) {
    if (!heights_differ) {
      horizontal_uint8(src, input_.height, horizontal_, dst, scratch.tile);
    } else if (!widths_differ) {
      vertical_uint8(src, mid_row, vertical_, dst, scratch.sums);
    } else {
      scratch.bytes.resize(mid_values);
      horizontal_uint8(src, input_.height, horizontal_, scratch.bytes.data(), scratch.tile);
      vertical_uint8(scratch.bytes.data(), mid_row, vertical_, dst, scratch.sums);
    }
    return;
  }
  if (!widths_differ) {
    vertical_float(src, mid_row, vertical_, dst, scratch.float_sums);
    return;
  }
  scratch.floats.resize(mid_values);
  horizontal_float(src, input_.height, horizontal_, scratch.floats.data());
  if (!heights_differ) {
    for (size_t i = 0; i < mid_values; ++i) dst[i] = float_to_byte(scratch.floats[i]);
    return;
  }
  vertical_float(scratch.floats.data(), mid_row, vertical_, dst, scratch.float_sums);
}

std::vector<uint8_t> resize_rgb24(const std::vector<uint8_t>& src, ImageSize input,
                                  ImageSize output, ResizeArithmetic arithmetic) {
  const ImageResizer resizer(input, output, arithmetic);
  if (src.size() != input.rgb_bytes()) {
    throw PreprocessError("resize: an RGB24 image of " + std::to_string(input.width) + "x" +
                          std::to_string(input.height) + " needs " +
                          std::to_string(input.rgb_bytes()) + " bytes, got " +
                          std::to_string(src.size()));
  }
  std::vector<uint8_t> dst(output.rgb_bytes());
  ResizeScratch scratch;
  resizer.resize(src.data(), dst.data(), scratch);
  return dst;
}

}  // namespace vigil::vision

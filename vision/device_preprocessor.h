// LLaVA-OneVision's video preprocessing (vision/video_preprocessor.h) as tensor operations on
// the model's device, so that the CUDA encoder does not wait for the CPU's resize: the frames go
// up as bytes and come out as the same float32 values, bit for bit.
//
// How it stays exact. torchvision's uint8 resize (ResizeArithmetic::kTorchUint8) is, per axis,
// integer sums of int16 weights times bytes plus a rounding offset, shifted right by the axis'
// precision and clamped to 0..255. Each pass here is one matrix product with the axis' integer
// weights laid out as a dense [input, output] matrix, in float64: every product and partial
// sum is an integer below 2^31, so float64 holds all of them exactly in any order of
// summation, and floor(sum / 2^precision) is the arithmetic shift. The width pass runs first
// and its clamped bytes feed the height pass, as on the CPU. The bytes then index the same
// normalisation table VideoPreprocessor uses.
//
// Only kTorchUint8 is reproduced (float32 sums are order-dependent); callers check
// supports(). Runs on any device, so the CPU tests compare it with VideoPreprocessor.
#pragma once

#include <torch/torch.h>

#include <map>
#include <mutex>
#include <utility>
#include <vector>

#include "vision/video_preprocessor.h"

namespace vigil::vision {

class DevicePreprocessor {
 public:
  // Borrows `preprocessor` (config and normalisation table), which must outlive this.
  DevicePreprocessor(const VideoPreprocessor& preprocessor, torch::Device device);

  // Whether this config is reproduced exactly (its resize arithmetic is kTorchUint8).
  static bool supports(const VideoPreprocessorConfig& config);

  torch::Device device() const { return device_; }

  // float32 [N, 3, H, W] on device(), equal to VideoPreprocessor::preprocess of the same
  // frames. The frames' bytes are copied into one (pinned, on CUDA) host buffer and uploaded
  // once. Thread-safe. Throws PreprocessError for what VideoPreprocessor rejects (an empty
  // frame, sizes that cannot be stacked without do_resize) or an unsupported config.
  torch::Tensor preprocess(const std::vector<RgbImageView>& frames) const;

 private:
  // The dense float64 weight matrices [input, output] of both axes for one input size, on
  // device(); undefined for an axis whose size does not change.
  struct Plan {
    torch::Tensor width_weights, height_weights;
    double width_scale = 1.0, height_scale = 1.0;    // 2^-precision
    double width_offset = 0.0, height_offset = 0.0;  // the rounding offsets
  };
  const Plan& plan_for(ImageSize input) const;
  // N frames of one size, float32 [N, 3, H, W] on device().
  torch::Tensor preprocess_same_size(const std::vector<RgbImageView>& frames) const;

  const VideoPreprocessor& preprocessor_;
  torch::Device device_;
  torch::Tensor table_;  // float32 [3 * 256]: channel c's byte b at c * 256 + b, on device()
  mutable std::mutex mutex_;
  mutable std::map<std::pair<int, int>, Plan> plans_;
};

}  // namespace vigil::vision

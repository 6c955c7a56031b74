#include "vision/device_preprocessor.h"

#include <ATen/Parallel.h>

#include <cmath>
#include <cstring>
#include <string>

#include "llm/device_stream.h"
#include "vision/image_resize.h"
#include "vision/preprocess_error.h"

namespace vigil::vision {
namespace {

constexpr int64_t kFramesPerPass = 16;  // bounds the float64 intermediates (16 x 1080p: 0.8 GB)

std::string describe(ImageSize size) {
  return std::to_string(size.width) + "x" + std::to_string(size.height);
}

// The axis' int16 weights as a dense float64 [input, output] matrix on `device`.
torch::Tensor dense_weights(const ResizeAxis& axis, torch::Device device) {
  torch::Tensor weights = torch::zeros({axis.input_size, axis.output_size}, torch::kFloat64);
  auto w = weights.accessor<double, 2>();
  for (int o = 0; o < axis.output_size; ++o) {
    for (int j = 0; j < axis.count[o]; ++j) {
      w[axis.first[o] + j][o] = axis.weights_i16[static_cast<size_t>(o) * axis.taps_per_output + j];
    }
  }
  return weights.to(device);
}

// One resize pass along the last dimension: bytes (float64 [..., input]) to bytes (float64
// [..., output]), as torch's uint8 kernel computes them: clamp((offset + sum) >> precision).
torch::Tensor resize_pass(const torch::Tensor& bytes, const torch::Tensor& weights, double scale,
                          double offset) {
  return torch::floor((torch::matmul(bytes, weights) + offset) * scale).clamp_(0, 255);
}

}  // namespace

DevicePreprocessor::DevicePreprocessor(const VideoPreprocessor& preprocessor, torch::Device device)
    : preprocessor_(preprocessor), device_(device) {
  torch::Tensor table = torch::empty({3 * 256}, torch::kFloat32);
  float* t = table.data_ptr<float>();
  for (int c = 0; c < 3; ++c) {
    for (int b = 0; b < 256; ++b)
      t[c * 256 + b] = preprocessor_.normalized(c, static_cast<uint8_t>(b));
  }
  table_ = table.to(device_);
}

bool DevicePreprocessor::supports(const VideoPreprocessorConfig& config) {
  return config.resize_arithmetic == ResizeArithmetic::kTorchUint8;
}

const DevicePreprocessor::Plan& DevicePreprocessor::plan_for(ImageSize input) const {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto key = std::make_pair(input.width, input.height);
  auto it = plans_.find(key);
  if (it != plans_.end()) return it->second;
  Plan plan;
  const ImageSize output = preprocessor_.output_size(input);
  if (output != input) {
    const ImageResizer resizer(input, output, ResizeArithmetic::kTorchUint8);
    if (resizer.horizontal().output_size > 0) {
      plan.width_weights = dense_weights(resizer.horizontal(), device_);
      plan.width_scale = std::ldexp(1.0, -resizer.horizontal().precision);
      plan.width_offset = std::ldexp(1.0, resizer.horizontal().precision - 1);
    }
    if (resizer.vertical().output_size > 0) {
      plan.height_weights = dense_weights(resizer.vertical(), device_);
      plan.height_scale = std::ldexp(1.0, -resizer.vertical().precision);
      plan.height_offset = std::ldexp(1.0, resizer.vertical().precision - 1);
    }
  }
  // Sessions read the plan on their own streams (llm/device_stream.h): its upload is done first.
  llm::synchronize_current_stream(device_);
  return plans_.emplace(key, std::move(plan)).first->second;
}

torch::Tensor DevicePreprocessor::preprocess_same_size(
    const std::vector<RgbImageView>& frames) const {
  const ImageSize input = frames.front().size;
  const Plan& plan = plan_for(input);
  const int64_t count = static_cast<int64_t>(frames.size());
  const size_t frame_bytes = input.rgb_bytes();
  torch::Tensor host =
      torch::empty({count, input.height, input.width, 3},
                   torch::TensorOptions().dtype(torch::kUInt8).pinned_memory(device_.is_cuda()));
  uint8_t* out = host.data_ptr<uint8_t>();
  at::parallel_for(0, count, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      std::memcpy(out + static_cast<size_t>(i) * frame_bytes, frames[i].rgb, frame_bytes);
    }
  });
  // non_blocking from pinned memory: the copy runs on the device's stream, ahead of the work
  // below; the caching host allocator keeps the buffer until the copy is done.
  const torch::Tensor bytes = host.to(device_, /*non_blocking=*/true).permute({0, 3, 1, 2});
  const torch::Tensor channel_offsets =
      torch::arange(0, 3 * 256, 256, torch::TensorOptions().dtype(torch::kInt64).device(device_))
          .view({1, 3, 1, 1});
  std::vector<torch::Tensor> parts;
  for (int64_t first = 0; first < count; first += kFramesPerPass) {
    torch::Tensor x = bytes.narrow(0, first, std::min(kFramesPerPass, count - first));  // [n,3,H,W]
    if (plan.width_weights.defined() || plan.height_weights.defined()) {
      x = x.to(torch::kFloat64);
      if (plan.width_weights.defined()) {
        x = resize_pass(x, plan.width_weights, plan.width_scale, plan.width_offset);
      }
      if (plan.height_weights.defined()) {
        x = resize_pass(x.transpose(2, 3), plan.height_weights, plan.height_scale,
                        plan.height_offset)
                .transpose(2, 3);
      }
    }
    parts.push_back(table_.take(x.to(torch::kInt64) + channel_offsets).contiguous());
  }
  return parts.size() == 1 ? parts.front() : torch::cat(parts, 0);
}

torch::Tensor DevicePreprocessor::preprocess(const std::vector<RgbImageView>& frames) const {
  const VideoPreprocessorConfig& config = preprocessor_.config();
  if (!supports(config)) {
    throw PreprocessError(std::string("device preprocessing reproduces the ") +
                          to_string(ResizeArithmetic::kTorchUint8) + " resize only, not " +
                          to_string(config.resize_arithmetic));
  }
  const ImageSize size = config.size;
  if (frames.empty()) {
    return torch::empty({0, 3, size.height, size.width}, table_.options());
  }
  const ImageSize output = preprocessor_.output_size(frames.front().size);
  for (size_t i = 0; i < frames.size(); ++i) {
    const RgbImageView& frame = frames[i];
    if (frame.rgb == nullptr || frame.size.width <= 0 || frame.size.height <= 0) {
      throw PreprocessError("preprocess: frame " + std::to_string(i) + " (" + describe(frame.size) +
                            ") is empty");
    }
    if (preprocessor_.output_size(frame.size) != output) {
      throw PreprocessError("preprocess: frame " + std::to_string(i) + " is " +
                            describe(frame.size) + ", frame 0 is " + describe(frames.front().size) +
                            "; without do_resize all frames must have one size");
    }
  }
  torch::NoGradGuard no_grad;
  // Runs of frames of one input size share one upload and one plan.
  std::vector<torch::Tensor> runs;
  size_t start = 0;
  for (size_t i = 1; i <= frames.size(); ++i) {
    if (i < frames.size() && frames[i].size == frames[start].size) continue;
    runs.push_back(preprocess_same_size(
        std::vector<RgbImageView>(frames.begin() + static_cast<std::ptrdiff_t>(start),
                                  frames.begin() + static_cast<std::ptrdiff_t>(i))));
    start = i;
  }
  return runs.size() == 1 ? runs.front() : torch::cat(runs, 0);
}

}  // namespace vigil::vision

// LLaVA-OneVision's video preprocessing, as transformers' LlavaOnevisionVideoProcessor does it:
// every frame resized to config.size (aspect ratio not kept, nothing cropped) with torchvision's
// antialiased bicubic on uint8 (vision/image_resize.h), then rescaled and normalised in one fused
// float32 step, (x - mean / rescale_factor) / (std / rescale_factor), i.e. (x - 255·mean) /
// (255·std) for the usual 1/255: the same float32 operations transformers runs, so the values
// are equal, not merely close.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "decoder/frame.h"
#include "vision/image_resize.h"

namespace vigil::vision {

// transformers' class defaults for LlavaOnevisionVideoProcessor (OpenAI CLIP's statistics).
inline constexpr std::array<double, 3> kOpenAiClipMean = {0.48145466, 0.4578275, 0.40821073};
inline constexpr std::array<double, 3> kOpenAiClipStd = {0.26862954, 0.26130258, 0.27577711};
// The released llava-hf LLaVA-OneVision checkpoints' values (their processor is SigLIP's).
inline constexpr std::array<double, 3> kSiglipMean = {0.5, 0.5, 0.5};
inline constexpr std::array<double, 3> kSiglipStd = {0.5, 0.5, 0.5};

// What a checkpoint's (video_)preprocessor_config.json says, typed. The defaults are the
// released checkpoints' values (384x384, mean = std = 0.5), not transformers' class defaults
// (OpenAI-CLIP mean/std, see transformers_class_defaults()): vigil serves those checkpoints, and
// every one of them ships a config that sets 0.5, so a checkpoint folder without a config file
// (e.g. tests/fixtures/llava_ov_tiny) is taken to be one of them.
struct VideoPreprocessorConfig {
  ImageSize size{384, 384};  // output width x height when do_resize
  bool do_resize = true;
  bool do_rescale = true;
  double rescale_factor = 1.0 / 255.0;
  bool do_normalize = true;
  std::array<double, 3> mean = kSiglipMean;  // per channel R, G, B, in rescaled units
  std::array<double, 3> std = kSiglipStd;
  // Not in the JSON: which torch arithmetic the resize reproduces (kTorchFloat32 matches
  // fixtures made with torchvision's v1 resize, see image_resize.h).
  ResizeArithmetic resize_arithmetic = ResizeArithmetic::kTorchUint8;
  std::string source;  // the file it was read from; empty for defaults

  // transformers' LlavaOnevisionVideoProcessor() with no arguments: OpenAI-CLIP mean/std.
  static VideoPreprocessorConfig transformers_class_defaults();
};

// Parses the JSON object of a video_preprocessor_config.json or preprocessor_config.json;
// `where` names the file in errors. Reads size ({"height","width"} or one integer for a
// square), image_mean / image_std (three numbers or one), rescale_factor, do_resize,
// do_rescale, do_normalize; other keys are ignored. Throws PreprocessError naming the key for
// a wrong type or value, and for settings this path does not implement (a size by
// shortest_edge, resample other than 3 = bicubic, do_center_crop true).
VideoPreprocessorConfig parse_video_preprocessor_config(const nlohmann::json& json,
                                                        const std::string& where);

// Reads checkpoint_dir/video_preprocessor_config.json, else checkpoint_dir/
// preprocessor_config.json (transformers' order), else returns the defaults. Throws
// PreprocessError naming the file when one exists but cannot be read or parsed.
VideoPreprocessorConfig load_video_preprocessor_config(const std::string& checkpoint_dir);

// A borrowed packed-RGB24 image: size.rgb_bytes() bytes, rows top to bottom.
struct RgbImageView {
  const uint8_t* rgb = nullptr;
  ImageSize size;
};

// Counters of one preprocess call.
struct PreprocessStats {
  int64_t frames = 0;          // frames written to the output
  int64_t frames_resized = 0;  // of those, frames whose size differed from the output size
  int64_t resize_plans = 0;    // ImageResizers built: one per distinct input size
};

// Immutable after construction; preprocess() is thread-safe.
class VideoPreprocessor {
 public:
  // Throws PreprocessError for an invalid config (size not positive, rescale_factor or a std
  // not positive and finite).
  explicit VideoPreprocessor(VideoPreprocessorConfig config);

  const VideoPreprocessorConfig& config() const { return config_; }

  // The float32 value a byte of channel c (0 = R) becomes.
  float normalized(int channel, uint8_t value) const { return table_[channel][value]; }

  // Number of floats preprocess() writes for `frames` frames of output size `size`.
  static size_t output_floats(size_t frames, ImageSize size) {
    return frames * 3 * size.width * size.height;
  }

  // Writes N frames as float32 [N, 3, H, W] (channels R, G, B; pixel_values_videos[0] of the
  // transformers processor) to out, which holds out_floats = N * 3 * H * W floats; H x W is
  // config().size, or the frames' own size when do_resize is off (then all must match).
  // Frames of one size share one resize plan. Throws PreprocessError naming the frame for a
  // null or empty frame, or sizes that cannot be stacked, and for a wrong out_floats.
  PreprocessStats preprocess(const std::vector<RgbImageView>& frames, float* out,
                             size_t out_floats) const;

  // The same for decoded frames; resizes out to N * 3 * H * W. Throws PreprocessError also for a
  // frame whose rgb byte count does not match its width and height.
  PreprocessStats preprocess(const std::vector<decoder::Frame>& frames,
                             std::vector<float>& out) const;

  // The output size for frames of `input` size.
  ImageSize output_size(ImageSize input) const { return config_.do_resize ? config_.size : input; }

 private:
  VideoPreprocessorConfig config_;
  std::array<std::array<float, 256>, 3> table_{};
};

}  // namespace vigil::vision

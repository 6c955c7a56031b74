// The one interface between decoded frames and the tokens a video-LLM reads. A VisionEncoder
// preprocesses frames the way its model was trained, runs its vision tower and projector, and
// returns the video tokens in the language model's width, grouped by time: what a model's
// prompt builder splices in at its video placeholders (LLaVA-OneVision adds one image_newline
// after them; Qwen2-VL wraps them in <|vision_start|> ... <|vision_end|>) and what Differential
// Token Drop (vision/token_drop.h) compares position by position.
//
// Variants: SiglipEncoder (LLaVA-OneVision: one group per frame, 14x14 tokens); later
// Qwen2VlEncoder (one group per 2 frames, a grid that follows the frame size). Callers hold a
// VisionEncoder& and never need to know which.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "llm/checkpoint.h"
#include "vision/image_resize.h"
#include "vision/video_preprocessor.h"

namespace vigil::vision {

// Where video tokens come from: `groups` time steps, each a rows x cols grid (row-major).
struct VideoTokenLayout {
  int64_t groups = 0;            // SigLIP: one per frame; Qwen2-VL: one per 2 frames
  int64_t frames_per_group = 1;  // input frames that make one group
  int64_t rows = 0;
  int64_t cols = 0;
  int64_t tokens_per_group() const { return rows * cols; }
  int64_t tokens() const { return groups * rows * cols; }
};

// An encoder's output for one video (or one chunk of a stream).
struct VideoTokens {
  torch::Tensor tokens;  // [groups, rows * cols, output_dim], the encoder's dtype and device
  VideoTokenLayout layout;
};

// Totals since load, over all threads: for tests and /metrics.
struct VisionEncoderCounters {
  int64_t frames = 0;   // frames encoded
  int64_t tokens = 0;   // video tokens produced
  int64_t batches = 0;  // tower passes (a call is split into batches of at most max_batch)
};

// Implementations are immutable after load (but for atomic counters): every method is const
// and thread-safe; concurrent calls share the device.
class VisionEncoder {
 public:
  virtual ~VisionEncoder() = default;

  virtual std::string name() const = 0;  // "siglip", ...
  virtual torch::Device device() const = 0;
  virtual torch::ScalarType dtype() const = 0;
  // Width of each token: the language model's hidden size.
  virtual int64_t output_dim() const = 0;

  // The layout `frames` frames of size frame_size (as decoded, before preprocessing) encode to,
  // known before encoding: prompts reserve their placeholder tokens with it.
  virtual VideoTokenLayout layout(int64_t frames, ImageSize frame_size) const = 0;

  // Preprocesses and encodes RGB24 frames of one video, in time order. Throws PreprocessError
  // for a bad frame (null, wrong byte count).
  virtual VideoTokens encode_frames(const std::vector<RgbImageView>& frames) const = 0;

  // Encodes already preprocessed pixel values, in the layout the encoder's own preprocessing
  // produces (SigLIP: float32 [F, 3, S, S], transformers' pixel_values_videos[0]). Throws
  // VisionInputError naming the shape expected for any other shape.
  virtual VideoTokens encode_pixels(const torch::Tensor& pixel_values) const = 0;

  virtual VisionEncoderCounters counters() const = 0;
  // FLOPs to encode one frame (tower, projector, pooling), for throughput reports.
  virtual double flops_per_frame() const = 0;
};

struct VisionEncoderOptions {
  // Frames per tower pass at most (bounds activation memory; 0 = all frames of a call).
  int64_t max_batch = 32;
};

// The encoder of a checkpoint, chosen by config.json's model_type (llava_onevision ->
// SiglipEncoder). Throws llm::ModelLoadError for a model type without a vision encoder here,
// a bad vision config or missing weights (naming the file and tensor).
std::unique_ptr<VisionEncoder> load_vision_encoder(const llm::Checkpoint& checkpoint,
                                                   torch::Device device, torch::ScalarType dtype,
                                                   const VisionEncoderOptions& options = {});

}  // namespace vigil::vision

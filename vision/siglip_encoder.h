// LLaVA-OneVision's video encoder behind the VisionEncoder interface: preprocessing (384x384
// antialiased bicubic on uint8, rescale and normalise; vision/video_preprocessor.h), the SigLIP
// tower's features before post_layernorm, the two-layer GELU projector on all patches, then the
// bilinear 2x pooling: [F, 3, 384, 384] -> [F, 196, hidden of the LLM].
#pragma once

#include <atomic>
#include <memory>

#include "vision/device_preprocessor.h"
#include "vision/llava_onevision_config.h"
#include "vision/multimodal_projector.h"
#include "vision/siglip_tower.h"
#include "vision/video_preprocessor.h"
#include "vision/vision_encoder.h"

namespace vigil::vision {

class SiglipEncoder final : public VisionEncoder {
 public:
  // Loads the tower (hub "vision_tower.vision_model.", v5 "vision_tower." or
  // "model.vision_tower." names) and the projector, and reads the checkpoint's
  // (video_)preprocessor_config.json; a folder without one gets the released checkpoints'
  // settings at the tower's image_size. Throws llm::ModelLoadError for missing weights, or a
  // preprocessor size that differs from the tower's image_size (naming both).
  static std::unique_ptr<SiglipEncoder> load(const llm::Checkpoint& checkpoint,
                                             const LlavaOnevisionConfig& config,
                                             torch::Device device, torch::ScalarType dtype,
                                             const VisionEncoderOptions& options = {});

  std::string name() const override { return "siglip"; }
  torch::Device device() const override { return tower_->device(); }
  torch::ScalarType dtype() const override { return tower_->dtype(); }
  int64_t output_dim() const override { return projector_->out_features(); }
  VideoTokenLayout layout(int64_t frames, ImageSize frame_size) const override;
  VideoTokens encode_frames(const std::vector<RgbImageView>& frames) const override;
  VideoTokens encode_pixels(const torch::Tensor& pixel_values) const override;
  VisionEncoderCounters counters() const override;
  double flops_per_frame() const override;

  // The stages, for tests and benchmarks: tower features [F, 729, 1152], projected
  // [F, 729, H], pooled [F, 196, H] (all in dtype() on device()).
  const SiglipVisionTower& tower() const { return *tower_; }
  const MultimodalProjector& projector() const { return *projector_; }
  torch::Tensor pool(const torch::Tensor& projected) const;
  const VideoPreprocessor& preprocessor() const { return preprocessor_; }
  // Preprocessed pixels float32 [F, 3, S, S] of RGB24 frames (pinned host memory when the
  // encoder runs on CUDA); frames are preprocessed in parallel on torch's intra-op threads.
  torch::Tensor preprocess(const std::vector<RgbImageView>& frames) const;
  // The pixels encode_frames() feeds the tower: on CUDA, preprocessed there from the frames'
  // bytes (DevicePreprocessor: the same values, no CPU resize); elsewhere, or for a config it
  // does not reproduce, preprocess().
  torch::Tensor pixels_for(const std::vector<RgbImageView>& frames) const;

 private:
  SiglipEncoder(const LlavaOnevisionConfig& config, VideoPreprocessorConfig preprocessing,
                const VisionEncoderOptions& options);

  LlavaOnevisionConfig config_;
  VideoPreprocessor preprocessor_;
  VisionEncoderOptions options_;
  std::unique_ptr<SiglipVisionTower> tower_;
  std::unique_ptr<MultimodalProjector> projector_;
  std::unique_ptr<DevicePreprocessor> device_preprocessor_;  // on CUDA only
  mutable std::atomic<int64_t> frames_{0}, tokens_{0}, batches_{0};
};

}  // namespace vigil::vision

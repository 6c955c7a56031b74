// LLaVA-OneVision (SigLIP + projector + Qwen2) for video, as transformers'
// LlavaOnevisionForConditionalGeneration runs it: the prompt's ids are embedded, the video's
// tokens (F frames x 196, then ONE image_newline for the whole video) replace the prompt's
// <video> placeholders in order, and the Qwen2 decoder runs over the result with plain 1-D
// positions. A processor expands each <video> of the chat template into
// video_placeholder_count(F) copies of the id; so does vigil ask.
#pragma once

#include <torch/torch.h>

#include <memory>

#include "llm/checkpoint.h"
#include "llm/kv_cache.h"
#include "llm/qwen2_model.h"
#include "vision/llava_onevision_config.h"
#include "vision/siglip_encoder.h"

namespace vigil::vision {

// Immutable after load; const methods are thread-safe (a KvCache is not: one per sequence).
class LlavaOnevisionModel {
 public:
  // Loads the language model, the SigLIP encoder and image_newline from a llava_onevision
  // checkpoint onto device in dtype. Throws llm::ModelLoadError naming config.json's key (e.g.
  // a missing vision_config) or the checkpoint's tensor.
  static std::unique_ptr<LlavaOnevisionModel> load(const llm::Checkpoint& checkpoint,
                                                   torch::Device device, torch::ScalarType dtype,
                                                   const VisionEncoderOptions& options = {});

  const LlavaOnevisionConfig& config() const { return config_; }
  const llm::Qwen2Model& language_model() const { return *language_model_; }
  const SiglipEncoder& vision_encoder() const { return *vision_encoder_; }
  int64_t video_token_id() const { return config_.video_token_id; }
  // The learned row [hidden] that follows a video's tokens (model dtype, on its device).
  const torch::Tensor& image_newline() const { return image_newline_; }

  // How many <video> ids a prompt holds for a video of `frames` frames: frames x tokens per
  // frame, plus the one image_newline.
  int64_t video_placeholder_count(int64_t frames) const;

  // The sequence rows of one encoded video: [groups * N + 1, hidden], its tokens frame by frame,
  // then image_newline; in the language model's dtype on its device.
  torch::Tensor video_sequence(const VideoTokens& video) const;

  // Embeddings [L, hidden] of ids (int64 [L]) with video_rows ([T, hidden]: the
  // video_sequence of every video of the prompt, concatenated in prompt order) written at the
  // <video> ids, in order. video_rows undefined: plain token embeddings. Throws
  // VisionInputError when the prompt's <video> count differs from T (naming both).
  torch::Tensor embed(const torch::Tensor& ids, const torch::Tensor& video_rows) const;

  // One forward over a prompt with one video of pixel values [F, 3, S, S] (or [1, F, 3, S, S],
  // pixel_values_videos as transformers takes it): embeds, places the video, runs the decoder
  // at positions cache.length() .. and returns the final hidden states [L, hidden] (appending
  // to cache). Throws VisionInputError for a pixel shape or <video> count that does not fit.
  torch::Tensor forward(const torch::Tensor& ids, const torch::Tensor& pixel_values,
                        llm::KvCache& cache) const;

 private:
  LlavaOnevisionModel() = default;

  LlavaOnevisionConfig config_;
  std::unique_ptr<llm::Qwen2Model> language_model_;
  std::unique_ptr<SiglipEncoder> vision_encoder_;
  torch::Tensor image_newline_;  // [hidden]
  std::vector<std::shared_ptr<const void>> mappings_;
};

}  // namespace vigil::vision

#include "vision/llava_onevision_model.h"

#include <sstream>

#include "llm/model_error.h"
#include "vision/vision_error.h"
#include "vision/weight_loader.h"

namespace vigil::vision {

std::unique_ptr<LlavaOnevisionModel> LlavaOnevisionModel::load(
    const llm::Checkpoint& checkpoint, torch::Device device, torch::ScalarType dtype,
    const VisionEncoderOptions& options) {
  const std::string where = checkpoint.directory() + "/config.json";
  std::unique_ptr<LlavaOnevisionModel> model(new LlavaOnevisionModel());
  model->config_ = parse_llava_onevision_config(checkpoint.config(), where);
  const llm::Qwen2Config text_config = llm::qwen2_config_of_checkpoint(checkpoint.config(), where);
  if (model->config_.video_token_id >= text_config.vocab_size) {
    throw llm::ModelLoadError(
        where + ": video_token_index " + std::to_string(model->config_.video_token_id) +
        " is outside the vocabulary of " + std::to_string(text_config.vocab_size));
  }
  model->mappings_ = checkpoint.mappings();
  model->language_model_ = llm::Qwen2Model::load(checkpoint, text_config, device, dtype);
  model->vision_encoder_ = SiglipEncoder::load(checkpoint, model->config_, device, dtype, options);
  const WeightLoader weights(checkpoint, {"", "model."}, device, dtype);
  model->image_newline_ = weights.load("image_newline", {text_config.hidden_size});
  return model;
}

int64_t LlavaOnevisionModel::video_placeholder_count(int64_t frames) const {
  return vision_encoder_->layout(frames, ImageSize{}).tokens() + 1;
}

torch::Tensor LlavaOnevisionModel::video_sequence(const VideoTokens& video) const {
  const int64_t hidden = language_model_->config().hidden_size;
  if (!video.tokens.defined() || video.tokens.dim() != 3 || video.tokens.size(2) != hidden) {
    std::ostringstream message;
    message << "video tokens have shape "
            << (video.tokens.defined() ? video.tokens.sizes() : torch::IntArrayRef{})
            << ", expected [groups, tokens, " << hidden << "]";
    throw VisionInputError(message.str());
  }
  const torch::Tensor rows =
      video.tokens.reshape({-1, hidden}).to(language_model_->device(), language_model_->dtype());
  return torch::cat({rows, image_newline_.unsqueeze(0)}, 0);
}

torch::Tensor LlavaOnevisionModel::embed(const torch::Tensor& ids,
                                         const torch::Tensor& video_rows) const {
  torch::NoGradGuard no_grad;
  torch::Tensor embeddings = language_model_->embed(ids);
  if (!video_rows.defined()) return embeddings;
  const torch::Tensor positions =
      (ids.to(torch::kCPU) == config_.video_token_id).nonzero().squeeze(1);
  const int64_t placeholders = positions.size(0);
  if (video_rows.dim() != 2 || placeholders != video_rows.size(0)) {
    std::ostringstream message;
    message << "the prompt has " << placeholders << " <video> tokens (id " << config_.video_token_id
            << ") but the video gives " << (video_rows.dim() == 2 ? video_rows.size(0) : -1)
            << " rows (frames x tokens per frame + 1 newline); shape " << video_rows.sizes();
    throw VisionInputError(message.str());
  }
  embeddings.index_copy_(0, positions.to(embeddings.device()),
                         video_rows.to(embeddings.device(), embeddings.scalar_type()));
  return embeddings;
}

torch::Tensor LlavaOnevisionModel::forward(const torch::Tensor& ids,
                                           const torch::Tensor& pixel_values,
                                           llm::KvCache& cache) const {
  torch::Tensor pixels = pixel_values;
  if (pixels.dim() == 5) {
    if (pixels.size(0) != 1) {
      std::ostringstream message;
      message << "pixel_values_videos has shape " << pixels.sizes()
              << "; one video at a time: expected [1, frames, 3, H, W]";
      throw VisionInputError(message.str());
    }
    pixels = pixels.squeeze(0);
  }
  const torch::Tensor rows = video_sequence(vision_encoder_->encode_pixels(pixels));
  const torch::Tensor embeddings = embed(ids, rows);
  const int64_t start = cache.length();
  return language_model_->forward(embeddings, torch::arange(start, start + ids.size(0)), cache);
}

}  // namespace vigil::vision

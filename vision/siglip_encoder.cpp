#include "vision/siglip_encoder.h"

#include <ATen/Parallel.h>

#include <sstream>

#include "llm/model_error.h"
#include "vision/video_pooling.h"
#include "vision/vision_error.h"

namespace vigil::vision {

SiglipEncoder::SiglipEncoder(const LlavaOnevisionConfig& config,
                             VideoPreprocessorConfig preprocessing,
                             const VisionEncoderOptions& options)
    : config_(config), preprocessor_(std::move(preprocessing)), options_(options) {}

std::unique_ptr<SiglipEncoder> SiglipEncoder::load(const llm::Checkpoint& checkpoint,
                                                   const LlavaOnevisionConfig& config,
                                                   torch::Device device, torch::ScalarType dtype,
                                                   const VisionEncoderOptions& options) {
  VideoPreprocessorConfig preprocessing = load_video_preprocessor_config(checkpoint.directory());
  const int64_t size = config.vision.image_size;
  if (preprocessing.source.empty()) {
    preprocessing.size = ImageSize{static_cast<int>(size), static_cast<int>(size)};
  } else if (preprocessing.size.width != size || preprocessing.size.height != size) {
    throw llm::ModelLoadError(
        preprocessing.source + ": size " + std::to_string(preprocessing.size.width) + "x" +
        std::to_string(preprocessing.size.height) + " differs from the SigLIP tower's image_size " +
        std::to_string(size) + " (config.json)");
  }
  if (options.max_batch < 0) throw llm::ModelLoadError("VisionEncoderOptions: max_batch < 0");
  std::unique_ptr<SiglipEncoder> encoder(
      new SiglipEncoder(config, std::move(preprocessing), options));
  encoder->tower_ =
      SiglipVisionTower::load(checkpoint,
                              {"vision_tower.vision_model.", "vision_tower.", "model.vision_tower.",
                               "model.vision_tower.vision_model."},
                              config.vision, config.feature_layers, device, dtype);
  encoder->projector_ = MultimodalProjector::load(
      checkpoint, {"multi_modal_projector.", "model.multi_modal_projector."},
      config.vision.hidden_size, config.text_hidden_size, config.projector_bias,
      config.projector_act, device, dtype);
  if (device.is_cuda() && DevicePreprocessor::supports(encoder->preprocessor_.config())) {
    encoder->device_preprocessor_ =
        std::make_unique<DevicePreprocessor>(encoder->preprocessor_, device);
  }
  return encoder;
}

VideoTokenLayout SiglipEncoder::layout(int64_t frames, ImageSize /*frame_size*/) const {
  // Every frame is resized to the tower's square input, so its size does not matter.
  VideoTokenLayout layout;
  layout.groups = frames;
  layout.rows = layout.cols = pooled_side(config_.vision.patches_per_side());
  return layout;
}

torch::Tensor SiglipEncoder::pool(const torch::Tensor& projected) const {
  const int64_t side = config_.vision.patches_per_side();
  return pool_video_tokens(projected, side, side);
}

torch::Tensor SiglipEncoder::preprocess(const std::vector<RgbImageView>& frames) const {
  const int64_t size = config_.vision.image_size;
  const int64_t count = static_cast<int64_t>(frames.size());
  const bool pin = device().is_cuda();
  torch::Tensor pixels = torch::empty(
      {count, 3, size, size}, torch::TensorOptions().dtype(torch::kFloat32).pinned_memory(pin));
  const size_t per_frame = static_cast<size_t>(3 * size * size);
  float* out = pixels.data_ptr<float>();
  at::parallel_for(0, count, 1, [&](int64_t begin, int64_t end) {
    const std::vector<RgbImageView> part(frames.begin() + begin, frames.begin() + end);
    preprocessor_.preprocess(part, out + begin * per_frame,
                             static_cast<size_t>(end - begin) * per_frame);
  });
  return pixels;
}

torch::Tensor SiglipEncoder::pixels_for(const std::vector<RgbImageView>& frames) const {
  return device_preprocessor_ ? device_preprocessor_->preprocess(frames) : preprocess(frames);
}

VideoTokens SiglipEncoder::encode_frames(const std::vector<RgbImageView>& frames) const {
  return encode_pixels(pixels_for(frames));
}

VideoTokens SiglipEncoder::encode_pixels(const torch::Tensor& pixel_values) const {
  const int64_t size = config_.vision.image_size;
  if (pixel_values.dim() != 4 || pixel_values.size(1) != 3 || pixel_values.size(2) != size ||
      pixel_values.size(3) != size || pixel_values.size(0) == 0) {
    std::ostringstream message;
    message << "pixel values have shape " << pixel_values.sizes()
            << ", the SigLIP encoder expects float [frames >= 1, 3, " << size << ", " << size
            << "]";
    throw VisionInputError(message.str());
  }
  torch::NoGradGuard no_grad;
  const int64_t frames = pixel_values.size(0);
  const int64_t batch = options_.max_batch > 0 ? options_.max_batch : frames;
  std::vector<torch::Tensor> pooled;
  for (int64_t first = 0; first < frames; first += batch) {
    const torch::Tensor chunk = pixel_values.narrow(0, first, std::min(batch, frames - first));
    // non_blocking: pinned host pixels overlap their copy with the previous batch's work.
    const torch::Tensor on_device = chunk.to(device(), /*non_blocking=*/true);
    pooled.push_back(pool(projector_->forward(tower_->forward(on_device))));
    batches_.fetch_add(1);
  }
  VideoTokens result;
  result.tokens = pooled.size() == 1 ? pooled[0] : torch::cat(pooled, 0);
  result.layout = layout(frames, ImageSize{});
  frames_.fetch_add(frames);
  tokens_.fetch_add(result.layout.tokens());
  return result;
}

VisionEncoderCounters SiglipEncoder::counters() const {
  return {frames_.load(), tokens_.load(), batches_.load()};
}

double SiglipEncoder::flops_per_frame() const {
  // Pooling is a few adds per output value: left out.
  return tower_->flops_per_frame() +
         projector_->flops_per_row() * static_cast<double>(config_.vision.num_patches());
}

}  // namespace vigil::vision

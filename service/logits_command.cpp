#include <torch/torch.h>

#include <iostream>

#include "llm/checkpoint.h"
#include "llm/kv_cache.h"
#include "llm/model_error.h"
#include "llm/qwen2_model.h"
#include "llm/safetensors_writer.h"
#include "llm/torch_tensors.h"
#include "service/command_line.h"
#include "service/commands.h"
#include "service/model_options.h"
#include "vision/llava_onevision_model.h"

namespace vigil::service {
namespace {}  // namespace

// vigil logits --model DIR --inputs IN.safetensors --output OUT.safetensors [--generate N]
//              [--device cpu|cuda] [--dtype f32|bf16|f16]
// Reads input_ids (int64 [1, L]) and, for a LLaVA-OneVision checkpoint, optionally
// pixel_values_videos (float32 [1, F, 3, S, S], normalised as transformers' processor does;
// the prompt then holds F x tokens-per-frame + 1 <video> ids). Writes logits (float32 [1, L, V]),
// with --generate N greedy_ids (int64 [1, L + N]) decoded token by token with the KV cache,
// and with a video its pooled tokens video_features (float32 [F, N, hidden]).
int run_logits_command(const std::vector<std::string>& args) {
  const CommandLine line(
      args, {"--model", "--inputs", "--output", "--generate", "--device", "--dtype"}, {});
  if (!line.positional().empty()) throw UsageError("logits takes no positional arguments");
  for (const char* flag : {"--model", "--inputs", "--output"}) {
    if (!line.has(flag)) throw UsageError(std::string("logits needs ") + flag);
  }
  const ModelPlacement placement =
      parse_model_placement(line.value("--device", "cpu"), line.value("--dtype", "f32"));
  const torch::Device device = placement.device;
  const torch::ScalarType dtype = placement.dtype;
  const int generate = line.integer("--generate", 0);
  if (generate < 0) throw UsageError("--generate must be >= 0");

  const llm::Checkpoint checkpoint = llm::Checkpoint::open(line.value("--model"));
  const llm::SafetensorsFile inputs = llm::SafetensorsFile::open(line.value("--inputs"));
  const llm::TensorView& ids_view = inputs.tensor("input_ids");
  if (ids_view.dtype != llm::DType::kI64 || ids_view.shape.size() != 2 || ids_view.shape[0] != 1) {
    throw llm::ModelLoadError(inputs.path() + ": input_ids must be int64 [1, L]");
  }
  // With a video the whole LLaVA-OneVision model loads; without one only its language model.
  torch::Tensor pixel_values;
  std::unique_ptr<vision::LlavaOnevisionModel> multimodal;
  std::unique_ptr<llm::Qwen2Model> text_model;
  if (inputs.contains("pixel_values_videos")) {
    const llm::TensorView& pixels_view = inputs.tensor("pixel_values_videos");
    if (pixels_view.dtype != llm::DType::kF32 || pixels_view.shape.size() != 5 ||
        pixels_view.shape[0] != 1) {
      throw llm::ModelLoadError(inputs.path() +
                                ": pixel_values_videos must be float32 [1, frames, 3, H, W]");
    }
    pixel_values = llm::to_torch(pixels_view, torch::kCPU, torch::kFloat32).clone();
    multimodal = vision::LlavaOnevisionModel::load(checkpoint, device, dtype);
  } else {
    text_model =
        llm::Qwen2Model::load(checkpoint,
                              llm::qwen2_config_of_checkpoint(
                                  checkpoint.config(), checkpoint.directory() + "/config.json"),
                              device, dtype);
  }
  const llm::Qwen2Model& model = multimodal ? multimodal->language_model() : *text_model;
  const llm::Qwen2Config& config = model.config();

  const torch::Tensor ids = llm::to_torch(ids_view, torch::kCPU, torch::kInt64).clone().squeeze(0);
  if (ids.numel() > 0 &&
      (ids.min().item<int64_t>() < 0 || ids.max().item<int64_t>() >= config.vocab_size)) {
    throw llm::ModelLoadError(inputs.path() + ": input_ids outside the vocabulary of " +
                              std::to_string(config.vocab_size));
  }
  const int64_t length = ids.size(0);
  llm::ContiguousKvCache cache(static_cast<int>(config.num_layers));
  const auto start = std::chrono::steady_clock::now();
  // The video's pooled tokens [F, N, hidden] are written out too (for parity checks).
  torch::Tensor video_tokens;
  torch::Tensor embeddings;
  if (multimodal) {
    const vision::VideoTokens video =
        multimodal->vision_encoder().encode_pixels(pixel_values.squeeze(0));
    video_tokens = video.tokens.to(torch::kCPU, torch::kFloat32).contiguous();
    embeddings = multimodal->embed(ids, multimodal->video_sequence(video));
  } else {
    embeddings = model.embed(ids);
  }
  const torch::Tensor logits = model.logits(model.forward(embeddings, torch::arange(length), cache))
                                   .to(torch::kCPU)
                                   .contiguous();
  std::vector<int64_t> sequence(ids.data_ptr<int64_t>(), ids.data_ptr<int64_t>() + length);
  torch::Tensor last = logits[length - 1];
  for (int step = 0; step < generate; ++step) {
    const int64_t next = last.argmax().item<int64_t>();
    sequence.push_back(next);
    last = model
               .logits(model.forward(model.embed(torch::tensor({next})),
                                     torch::tensor({static_cast<int64_t>(sequence.size()) - 1}),
                                     cache))[0]
               .to(torch::kCPU);
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  std::vector<llm::TensorToWrite> outputs = {
      {"logits", llm::DType::kF32, {1, length, config.vocab_size}, logits.data_ptr<float>()}};
  if (generate > 0) {
    outputs.push_back({"greedy_ids",
                       llm::DType::kI64,
                       {1, static_cast<int64_t>(sequence.size())},
                       sequence.data()});
  }
  if (video_tokens.defined()) {
    outputs.push_back({"video_features",
                       llm::DType::kF32,
                       {video_tokens.size(0), video_tokens.size(1), video_tokens.size(2)},
                       video_tokens.data_ptr<float>()});
  }
  llm::write_safetensors(line.value("--output"), outputs,
                         {{"device", line.value("--device", "cpu")},
                          {"dtype", line.value("--dtype", "f32")},
                          {"made_by", "vigil logits"}});
  std::cout << "{\"tokens\": " << length << ", \"generated\": " << generate
            << ", \"seconds\": " << seconds << "}" << std::endl;
  return 0;
}

ModelPlacement parse_model_placement(const std::string& device, const std::string& dtype) {
  ModelPlacement placement;
  if (device == "cuda") {
    if (!torch::cuda::is_available())
      throw UsageError("--device cuda: no CUDA device is available");
    placement.device = torch::kCUDA;
  } else if (device != "cpu") {
    throw UsageError("--device expects cpu or cuda, got '" + device + "'");
  }
  if (dtype == "bf16") {
    placement.dtype = torch::kBFloat16;
  } else if (dtype == "f16") {
    placement.dtype = torch::kFloat16;
  } else if (dtype != "f32") {
    throw UsageError("--dtype expects f32, bf16 or f16, got '" + dtype + "'");
  }
  if (placement.device.is_cpu() && placement.dtype != torch::kFloat32) {
    throw UsageError("--dtype bf16/f16 needs --device cuda (the CPU path runs fp32)");
  }
  return placement;
}

}  // namespace vigil::service

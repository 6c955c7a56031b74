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

namespace vigil::service {
namespace {}  // namespace

// vigil logits --model DIR --inputs IN.safetensors --output OUT.safetensors [--generate N]
//              [--device cpu|cuda] [--dtype f32|bf16|f16]
// Reads input_ids (int64 [1, L]); writes logits (float32 [1, L, V]) and, with --generate N,
// greedy_ids (int64 [1, L + N]) decoded token by token with the KV cache.
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
  if (inputs.contains("pixel_values_videos")) {
    throw llm::ModelLoadError(
        inputs.path() +
        ": pixel_values_videos given, but the vision encoder is not built yet; "
        "only text inputs are supported");
  }
  const llm::TensorView& ids_view = inputs.tensor("input_ids");
  if (ids_view.dtype != llm::DType::kI64 || ids_view.shape.size() != 2 || ids_view.shape[0] != 1) {
    throw llm::ModelLoadError(inputs.path() + ": input_ids must be int64 [1, L]");
  }
  const llm::Qwen2Config config =
      llm::qwen2_config_of_checkpoint(checkpoint.config(), checkpoint.directory() + "/config.json");
  const std::unique_ptr<llm::Qwen2Model> model =
      llm::Qwen2Model::load(checkpoint, config, device, dtype);

  const torch::Tensor ids = llm::to_torch(ids_view, torch::kCPU, torch::kInt64).clone().squeeze(0);
  if (ids.numel() > 0 &&
      (ids.min().item<int64_t>() < 0 || ids.max().item<int64_t>() >= config.vocab_size)) {
    throw llm::ModelLoadError(inputs.path() + ": input_ids outside the vocabulary of " +
                              std::to_string(config.vocab_size));
  }
  const int64_t length = ids.size(0);
  llm::ContiguousKvCache cache(static_cast<int>(config.num_layers));
  const auto start = std::chrono::steady_clock::now();
  const torch::Tensor logits =
      model->logits(model->forward(model->embed(ids), torch::arange(length), cache))
          .to(torch::kCPU)
          .contiguous();
  std::vector<int64_t> sequence(ids.data_ptr<int64_t>(), ids.data_ptr<int64_t>() + length);
  torch::Tensor last = logits[length - 1];
  for (int step = 0; step < generate; ++step) {
    const int64_t next = last.argmax().item<int64_t>();
    sequence.push_back(next);
    last = model
               ->logits(model->forward(model->embed(torch::tensor({next})),
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

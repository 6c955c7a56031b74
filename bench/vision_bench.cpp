// vigil_vision_bench [--device cuda|cpu] [--dtype bf16|f16|f32] [--batches 1,16,64]
//                    [--iterations N] [--layers 27] [--width 1280 --height 720]
//                    [--profile TRACE.json]
// Frames per second of LLaVA-OneVision's video encoder (SiglipEncoder: preprocessing, SigLIP
// tower, projector, bilinear pooling) at LLaVA-OneVision-7B's shapes with random weights
// (SigLIP-so400m: hidden 1152, MLP 4304, 16 heads, patch 14 at 384x384; projector 1152 ->
// 3584 -> 3584), from RGB24 frames of --width x --height, preprocessing included; the same
// without preprocessing (pixels already on the device); the achieved FLOP rate, and that rate
// as a share of this card's measured bf16 matrix rate (an 8192^3 matmul loop). Preprocessing
// runs where the encoder runs it (on CUDA: DevicePreprocessor, from the frames' bytes); the CPU
// path's rate is printed too. --profile writes a Chrome trace of one pass over the largest batch
// (torch's legacy profiler, CPU times: run with CUDA_LAUNCH_BLOCKING=1 so that each operation's
// time includes its kernels; summarise it with tools/summarize_trace.py).
// The random checkpoint is written to a temporary folder and loaded through the real loader.
// Compare with bench/vision_bench_transformers.py on the same card.
#include <torch/csrc/autograd/profiler.h>
#include <torch/torch.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "llm/checkpoint.h"
#include "llm/safetensors_writer.h"
#include "llm/torch_tensors.h"
#include "vision/siglip_encoder.h"
#include "vision/vision_encoder.h"

namespace {

using Clock = std::chrono::steady_clock;
using namespace vigil;

struct Options {
  std::string device = "cuda";
  std::string dtype = "bf16";
  std::vector<int64_t> batches = {1, 16, 64};
  int iterations = 10;
  int64_t layers = 27;
  int width = 1280;
  int height = 720;
  std::string profile;
};

Options parse(int argc, char** argv) {
  Options options;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const std::string value = argv[i + 1];
    if (flag == "--device") {
      options.device = value;
    } else if (flag == "--dtype") {
      options.dtype = value;
    } else if (flag == "--iterations") {
      options.iterations = std::stoi(value);
    } else if (flag == "--layers") {
      options.layers = std::stoll(value);
    } else if (flag == "--width") {
      options.width = std::stoi(value);
    } else if (flag == "--height") {
      options.height = std::stoi(value);
    } else if (flag == "--profile") {
      options.profile = value;
    } else if (flag == "--batches") {
      options.batches = bench::parse_list(value);
    } else {
      std::cerr << "unknown flag " << flag << "\n";
      std::exit(2);
    }
  }
  return options;
}

void synchronize(torch::Device device) {
  if (device.is_cuda()) torch::cuda::synchronize();
}

// A LLaVA-OneVision-7B-shaped config.json and random vision + projector weights (the language
// model's are not needed by the encoder).
std::string write_random_checkpoint(const Options& options, torch::ScalarType dtype) {
  const std::string dir =
      (std::filesystem::temp_directory_path() / ("vigil_vision_bench_" + std::to_string(getpid())))
          .string();
  std::filesystem::create_directories(dir);
  const int64_t hidden = 1152, inner = 4304, text_hidden = 3584, patches = 729;
  nlohmann::json config = {{"model_type", "llava_onevision"},
                           {"video_token_index", 151647},
                           {"image_token_index", 151646},
                           {"vision_feature_layer", -1},
                           {"vision_feature_select_strategy", "full"},
                           {"projector_hidden_act", "gelu"},
                           {"multimodal_projector_bias", true},
                           {"vision_config",
                            {{"model_type", "siglip_vision_model"},
                             {"hidden_size", hidden},
                             {"intermediate_size", inner},
                             {"num_hidden_layers", options.layers},
                             {"num_attention_heads", 16},
                             {"image_size", 384},
                             {"patch_size", 14},
                             {"layer_norm_eps", 1e-6},
                             {"hidden_act", "gelu_pytorch_tanh"}}},
                           {"text_config",
                            {{"model_type", "qwen2"},
                             {"hidden_size", text_hidden},
                             {"intermediate_size", 18944},
                             {"num_hidden_layers", 28},
                             {"num_attention_heads", 28},
                             {"num_key_value_heads", 4},
                             {"vocab_size", 152128}}}};
  std::ofstream(dir + "/config.json") << config.dump(2);

  std::map<std::string, torch::Tensor> tensors;
  const auto add = [&](const std::string& name, std::vector<int64_t> shape, double scale) {
    tensors[name] = (torch::randn(shape) * scale).to(dtype).contiguous();
  };
  const std::string v = "vision_tower.vision_model.";
  add(v + "embeddings.patch_embedding.weight", {hidden, 3, 14, 14}, 0.02);
  add(v + "embeddings.patch_embedding.bias", {hidden}, 0.02);
  add(v + "embeddings.position_embedding.weight", {patches, hidden}, 0.02);
  for (int64_t i = 0; i < options.layers; ++i) {
    const std::string p = v + "encoder.layers." + std::to_string(i) + ".";
    for (const char* norm : {"layer_norm1", "layer_norm2"}) {
      tensors[p + norm + ".weight"] = torch::ones({hidden}).to(dtype);
      tensors[p + norm + ".bias"] = torch::zeros({hidden}).to(dtype);
    }
    for (const char* projection : {"q_proj", "k_proj", "v_proj", "out_proj"}) {
      add(p + "self_attn." + projection + ".weight", {hidden, hidden}, 0.02);
      add(p + "self_attn." + projection + ".bias", {hidden}, 0.02);
    }
    add(p + "mlp.fc1.weight", {inner, hidden}, 0.02);
    add(p + "mlp.fc1.bias", {inner}, 0.02);
    add(p + "mlp.fc2.weight", {hidden, inner}, 0.02);
    add(p + "mlp.fc2.bias", {hidden}, 0.02);
  }
  add("multi_modal_projector.linear_1.weight", {text_hidden, hidden}, 0.02);
  add("multi_modal_projector.linear_1.bias", {text_hidden}, 0.02);
  add("multi_modal_projector.linear_2.weight", {text_hidden, text_hidden}, 0.02);
  add("multi_modal_projector.linear_2.bias", {text_hidden}, 0.02);
  std::vector<llm::TensorToWrite> writes;
  for (const auto& [name, tensor] : tensors) {
    writes.push_back({name, llm::to_dtype(tensor.scalar_type()),
                      std::vector<int64_t>(tensor.sizes().begin(), tensor.sizes().end()),
                      tensor.data_ptr()});
  }
  llm::write_safetensors(dir + "/model.safetensors", writes);
  return dir;
}

std::vector<uint8_t> synthetic_frame(int width, int height, uint32_t seed) {
  std::vector<uint8_t> rgb(static_cast<size_t>(width) * height * 3);
  uint32_t state = seed;
  for (size_t i = 0; i < rgb.size(); ++i) {
    state = state * 1664525u + 1013904223u;
    rgb[i] = static_cast<uint8_t>(((i / 3) % width) * 255 / width + (state >> 29));
  }
  return rgb;
}

// The bf16 (or dtype) matrix rate of this device: FLOP/s of an n^3 matmul loop.
double matmul_rate(torch::Device device, torch::ScalarType dtype) {
  const int64_t n = device.is_cuda() ? 8192 : 1024;
  const auto options = torch::TensorOptions().device(device).dtype(dtype);
  const torch::Tensor a = torch::randn({n, n}, options), b = torch::randn({n, n}, options);
  torch::Tensor c = torch::matmul(a, b);
  synchronize(device);
  const int repeats = device.is_cuda() ? 50 : 3;
  const auto start = Clock::now();
  for (int i = 0; i < repeats; ++i) c = torch::matmul(a, b);
  synchronize(device);
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return 2.0 * n * n * n * repeats / seconds;
}

}  // namespace

int main(int argc, char** argv) {
  const Options options = parse(argc, argv);
  const torch::Device device = options.device == "cuda" ? torch::kCUDA : torch::kCPU;
  const torch::ScalarType dtype = options.dtype == "bf16"  ? torch::kBFloat16
                                  : options.dtype == "f16" ? torch::kFloat16
                                                           : torch::kFloat32;
  torch::manual_seed(0);
  const std::string dir = write_random_checkpoint(options, dtype);
  const llm::Checkpoint checkpoint = llm::Checkpoint::open(dir);
  vision::VisionEncoderOptions encoder_options;
  encoder_options.max_batch = 0;  // one pass per call: the batch is the benchmark's
  const auto encoder = vision::load_vision_encoder(checkpoint, device, dtype, encoder_options);
  auto& siglip = dynamic_cast<const vision::SiglipEncoder&>(*encoder);
  const double flops_per_frame = encoder->flops_per_frame();
  const double peak = matmul_rate(device, dtype);

  std::vector<std::vector<uint8_t>> pool;
  for (int i = 0; i < 8; ++i) pool.push_back(synthetic_frame(options.width, options.height, i));
  nlohmann::json results = nlohmann::json::array();
  for (const int64_t batch : options.batches) {
    std::vector<vision::RgbImageView> frames;
    for (int64_t i = 0; i < batch; ++i) {
      frames.push_back(
          {pool[i % pool.size()].data(), vision::ImageSize{options.width, options.height}});
    }
    const torch::Tensor pixels = siglip.pixels_for(frames).to(device);
    for (int warm = 0; warm < 2; ++warm) encoder->encode_frames(frames);
    synchronize(device);

    auto start = Clock::now();
    for (int i = 0; i < options.iterations; ++i) encoder->encode_frames(frames);
    synchronize(device);
    const double with_preprocessing =
        std::chrono::duration<double>(Clock::now() - start).count() / options.iterations;

    start = Clock::now();
    for (int i = 0; i < options.iterations; ++i) encoder->encode_pixels(pixels);
    synchronize(device);
    const double model_only =
        std::chrono::duration<double>(Clock::now() - start).count() / options.iterations;

    start = Clock::now();
    for (int i = 0; i < options.iterations; ++i) siglip.pixels_for(frames);
    synchronize(device);
    const double preprocessing_only =
        std::chrono::duration<double>(Clock::now() - start).count() / options.iterations;

    start = Clock::now();
    siglip.preprocess(frames);
    const double cpu_preprocessing = std::chrono::duration<double>(Clock::now() - start).count();

    const double fps = batch / with_preprocessing;
    results.push_back({{"batch", batch},
                       {"frames_per_second", fps},
                       {"frames_per_second_model_only", batch / model_only},
                       {"frames_per_second_preprocessing_only", batch / preprocessing_only},
                       {"frames_per_second_cpu_preprocessing", batch / cpu_preprocessing},
                       {"tflops", fps * flops_per_frame / 1e12},
                       {"share_of_matmul_rate", fps * flops_per_frame / peak}});
    std::cout << results.back().dump() << std::endl;
    if (!options.profile.empty() && batch == options.batches.back()) {
      torch::autograd::profiler::RecordProfile trace(options.profile);
      encoder->encode_frames(frames);
      synchronize(device);
    }
  }
  std::cout << nlohmann::json(
                   {{"device", device.is_cuda() ? "cuda" : "cpu"},
                    {"dtype", options.dtype},
                    {"input", std::to_string(options.width) + "x" + std::to_string(options.height)},
                    {"tower_layers", options.layers},
                    {"gflop_per_frame", flops_per_frame / 1e9},
                    {"matmul_tflops", peak / 1e12},
                    {"results", results}})
                   .dump()
            << std::endl;
  bench::remove_tree(dir);
  return 0;
}

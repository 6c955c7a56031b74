// vigil_answer_bench --model DIR [--device cuda|cpu] [--dtype bf16|f16|f32]
//                    [--frames 3600,36000] [--kept-tokens 39] [--question-tokens 30]
//                    [--questions 8] [--data-dir DIR] [--host-gib 8] [--gpu-cache-gib 1]
//                    [--index-gpu-gib 1]
//                    [--bits 4] [--exact 32,256,512] [--profile TRACE.json]
// Time to first token of a question about a long stream, the way the service answers it
// (service/video_pipeline.cpp: VideoPipeline::prepare, then the generator's first sample):
//   1. a stream of --frames 1-fps frames is written into a StreamMemory with the service's
//      defaults (window 15,000 tokens, 16 recent frames, host tier --host-gib, GPU cache
//      --gpu-cache-gib, KIVI --bits with zstd on disk, blocks beyond the host tier spilled to
//      --data-dir, the retrieval index's newest keys on the GPU up to --index-gpu-gib). Each frame
//      keeps --kept-tokens of its 196 tokens (39 = 80% dropped); its keys and values are random
//      (random weights give random KV either way), so ingestion costs no forward passes and ten
//      hours of stream are written in minutes;
//   2. the disk tier's files are flushed and dropped from the page cache (posix_fadvise), so a
//      block read from disk really comes from the disk;
//   3. --questions questions of --question-tokens random ids: the time from the question's
//      arrival to its first sampled token: the cache is assembled, the question is prefilled
//      in one forward (retrieval of each layer's blocks happens inside it) and its last
//      token's logits' argmax is read back on the host.
// Reports per length: time to first token (first question, median, p95, max), blocks
// retrieved per layer, the tiers' bytes and hits, and GPU memory held by the stream's memory
// (allocated bytes after ingestion less before it: bounded by the window, sinks and GPU cache).
// --exact L1,L2,..: our own exact path for the recompute curve: the whole prompt (sinks,
// L frames x 196 tokens, the question) prefilled on an empty cache, first token out. Compare
// with bench/answer_bench_transformers.py on the same card and checkpoint. --profile writes a
// Chrome trace of one more question at the first length (torch's legacy profiler, CPU times: run
// with CUDA_LAUNCH_BLOCKING=1; tools/summarize_trace.py summarises it).
#include <torch/csrc/autograd/profiler.h>
#include <torch/torch.h>

#ifdef VIGIL_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>
#endif

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "llm/checkpoint.h"
#include "llm/kv_cache.h"
#include "llm/qwen2_config.h"
#include "llm/qwen2_model.h"
#include "memory/answer_kv_cache.h"
#include "memory/segment_store.h"
#include "memory/sink_kv.h"
#include "memory/stream_memory.h"

namespace {

using Clock = std::chrono::steady_clock;
using namespace vigil;

constexpr int64_t kFrameTokens = 196;  // LLaVA-OneVision: 14 x 14 pooled tokens per frame
constexpr int64_t kSinkTokens = 14;    // the chat template's opening before the video
constexpr int64_t kFramesPerStep = 8;  // the service's archive ingestion step

struct Options {
  std::string model;
  std::string device = "cuda";
  std::string dtype = "bf16";
  std::vector<int64_t> frames = {3600, 36000};
  std::vector<int64_t> exact;  // frames, for our own full-context path
  int64_t kept_tokens = 39;
  int64_t question_tokens = 30;
  int questions = 8;
  std::string data_dir = "/tmp/vigil_answer_bench";
  double host_gib = 8;
  double gpu_cache_gib = 1;
  double index_gpu_gib = 1;
  int bits = 4;
  std::string profile;
};

Options parse(int argc, char** argv) {
  Options options;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const std::string value = argv[i + 1];
    if (flag == "--model") {
      options.model = value;
    } else if (flag == "--device") {
      options.device = value;
    } else if (flag == "--dtype") {
      options.dtype = value;
    } else if (flag == "--frames") {
      options.frames = bench::parse_list(value);
    } else if (flag == "--exact") {
      options.exact = bench::parse_list(value);
    } else if (flag == "--kept-tokens") {
      options.kept_tokens = std::stoll(value);
    } else if (flag == "--question-tokens") {
      options.question_tokens = std::stoll(value);
    } else if (flag == "--questions") {
      options.questions = std::stoi(value);
    } else if (flag == "--data-dir") {
      options.data_dir = value;
    } else if (flag == "--host-gib") {
      options.host_gib = std::stod(value);
    } else if (flag == "--gpu-cache-gib") {
      options.gpu_cache_gib = std::stod(value);
    } else if (flag == "--index-gpu-gib") {
      options.index_gpu_gib = std::stod(value);
    } else if (flag == "--bits") {
      options.bits = std::stoi(value);
    } else if (flag == "--profile") {
      options.profile = value;
    } else {
      throw std::invalid_argument("unknown flag " + flag);
    }
  }
  if (options.model.empty()) throw std::invalid_argument("--model DIR is required");
  if (options.kept_tokens < 1 || options.kept_tokens > kFrameTokens) {
    throw std::invalid_argument("--kept-tokens must be in 1.." + std::to_string(kFrameTokens));
  }
  if (options.question_tokens < 2) throw std::invalid_argument("--question-tokens must be >= 2");
  return options;
}

void synchronize(torch::Device device) {
  if (device.is_cuda()) torch::cuda::synchronize();
}

double milliseconds_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// Bytes held by tensors on the device now (0 off CUDA).
int64_t allocated_bytes(torch::Device device) {
#ifdef VIGIL_WITH_CUDA
  if (device.is_cuda()) {
    const c10::DeviceIndex index =
        device.has_index() ? device.index() : c10::cuda::current_device();
    const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(index);
    return stats.allocated_bytes[0].current;
  }
#else
  (void)device;
#endif
  return 0;
}

double percentile(std::vector<double> values, double p) {
  std::sort(values.begin(), values.end());
  const size_t at = static_cast<size_t>(p * static_cast<double>(values.size() - 1) + 0.5);
  return values[std::min(at, values.size() - 1)];
}

torch::Tensor random_ids(const llm::Qwen2Config& config, int64_t n, torch::Device device) {
  return torch::randint(config.vocab_size, {n},
                        torch::TensorOptions().dtype(torch::kInt64).device(device));
}

// The service's defaults (service/video_engine.h: VideoEngineOptions) with the bench's tiers.
memory::StreamMemoryConfig memory_config(const Options& options) {
  memory::StreamMemoryConfig config;
  config.streaming.window_tokens = 15000;
  config.answer.recent_tokens = 16 * kFrameTokens;
  config.tiers.gpu_bytes = static_cast<int64_t>(options.gpu_cache_gib * (1ll << 30));
  config.tiers.host_bytes = static_cast<int64_t>(options.host_gib * (1ll << 30));
  config.index_gpu_bytes = static_cast<int64_t>(options.index_gpu_gib * (1ll << 30));
  config.tiers.quantize = options.bits > 0;
  if (options.bits > 0) {
    config.tiers.quantization.key_bits = options.bits;
    config.tiers.quantization.value_bits = options.bits;
  }
  config.tiers.on_warning = [](const std::string& warning) {
    std::fprintf(stderr, "memory warning: %s\n", warning.c_str());
  };
  return config;
}

// The question's first token: the cache assembled, the question prefilled in one forward
// (retrieval inside, layer by layer), its last token's logits sampled greedily on the host.
// Returns {ms, video tokens in the context}.
std::pair<double, int64_t> first_token(const llm::Qwen2Model& model, memory::StreamMemory& memory,
                                       const torch::Tensor& question) {
  const auto start = Clock::now();
  const std::unique_ptr<memory::AnswerKvCache> cache = memory.answer_cache();
  const int64_t n = question.size(0);
  const int64_t at = cache->question_position();
  const auto options = torch::TensorOptions().dtype(torch::kInt64).device(model.device());
  const torch::Tensor hidden =
      model.forward(model.embed(question), torch::arange(at, at + n, options), *cache);
  const int64_t token = model.logits(hidden.narrow(0, n - 1, 1))[0].argmax().item<int64_t>();
  (void)token;
  const double ms = milliseconds_since(start);
  const int64_t video_tokens = cache->view(0).keys.size(1) - memory.encoder().sinks().tokens() - n;
  return {ms, video_tokens};
}

nlohmann::json bench_stream(const Options& options, const llm::Qwen2Model& model,
                            const llm::Qwen2Config& config, int64_t frames) {
  const torch::Device device = model.device();
  const torch::ScalarType dtype = model.dtype();
  const int64_t layers = config.num_layers;
  const std::string directory = options.data_dir + "/stream_" + std::to_string(frames);
  bench::remove_tree(directory);
  std::filesystem::create_directories(options.data_dir);
  synchronize(device);
  const int64_t allocated_before = allocated_bytes(device);

  // The sinks: the prompt's opening, encoded once.
  llm::ContiguousKvCache prompt(static_cast<int>(layers));
  model.forward(model.embed(random_ids(config, kSinkTokens, device)),
                torch::arange(kSinkTokens, torch::dtype(torch::kInt64).device(device)), prompt);
  memory::AttentionShape shape{layers, config.num_heads, config.num_kv_heads, config.head_dim};
  memory::StreamMemory memory(memory::SinkKv::capture(prompt, layers), shape,
                              memory_config(options), device, dtype,
                              memory::SegmentStore::open(directory));

  // Ingestion: random keys and values of the kept tokens, frames_per_step frames per commit.
  const auto ingest_start = Clock::now();
  const auto kv_options = torch::TensorOptions().dtype(dtype).device(device);
  for (int64_t first = 0; first < frames; first += kFramesPerStep) {
    const int64_t count = std::min(kFramesPerStep, frames - first);
    std::vector<memory::FrameInfo> infos;
    for (int64_t f = first; f < first + count; ++f) {
      memory::FrameInfo info;
      info.index = f;
      info.start_seconds = static_cast<double>(f);
      info.end_seconds = static_cast<double>(f + 1);
      info.frame_tokens = kFrameTokens;
      info.token_offsets =
          std::get<0>(torch::randperm(kFrameTokens).narrow(0, 0, options.kept_tokens).sort());
      infos.push_back(std::move(info));
    }
    const int64_t tokens = count * options.kept_tokens;
    const torch::Tensor positions = memory.encoder().frame_positions(infos).to(device);
    const torch::Tensor keys =
        torch::randn({layers, config.num_kv_heads, tokens, config.head_dim}, kv_options);
    const torch::Tensor values =
        torch::randn({layers, config.num_kv_heads, tokens, config.head_dim}, kv_options);
    for (int64_t layer = 0; layer < layers; ++layer) {
      memory.encoder().append(static_cast<int>(layer), keys[layer], values[layer], positions);
    }
    memory.commit_frames(infos);
    if ((first / kFramesPerStep) % 1000 == 999) {
      std::fprintf(stderr, "  ingested %lld frames\n", static_cast<long long>(first + count));
    }
  }
  synchronize(device);
  const double ingest_seconds = milliseconds_since(ingest_start) / 1000.0;
  const int64_t held = allocated_bytes(device) - allocated_before;
  bench::drop_page_cache(directory);
  std::fprintf(stderr, "ingested %lld frames in %.1f s; asking\n", static_cast<long long>(frames),
               ingest_seconds);

  std::vector<double> ttft;
  std::vector<int64_t> video_tokens;
  int64_t retrieved = 0, retrieved_layers = 0;
  const memory::TierCounters before = memory.store().counters();
  for (int q = 0; q < options.questions; ++q) {
    const torch::Tensor question = random_ids(config, options.question_tokens, device);
    const auto [ms, tokens] = first_token(model, memory, question);
    ttft.push_back(ms);
    video_tokens.push_back(tokens);
  }
  {
    // Blocks each layer retrieves, for the report (one more question).
    const std::unique_ptr<memory::AnswerKvCache> cache = memory.answer_cache();
    const int64_t at = cache->question_position();
    const torch::Tensor question = random_ids(config, options.question_tokens, device);
    model.forward(
        model.embed(question),
        torch::arange(at, at + question.size(0), torch::dtype(torch::kInt64).device(device)),
        *cache);
    for (const auto& layer : cache->retrieved()) {
      retrieved += static_cast<int64_t>(layer.size());
      ++retrieved_layers;
    }
  }
  if (!options.profile.empty() && frames == options.frames.front()) {
    torch::autograd::profiler::RecordProfile trace(options.profile);
    first_token(model, memory, random_ids(config, options.question_tokens, device));
  }
  const memory::TierCounters after = memory.store().counters();
  synchronize(device);
  const int64_t held_after = allocated_bytes(device) - allocated_before;
  nlohmann::json row = {
      {"frames", frames},
      {"hours", static_cast<double>(frames) / 3600.0},
      {"kept_tokens_per_frame", options.kept_tokens},
      {"ingest_seconds", ingest_seconds},
      {"ttft_ms_first", ttft.front()},
      {"ttft_ms_median", percentile(ttft, 0.5)},
      {"ttft_ms_p95", percentile(ttft, 0.95)},
      {"ttft_ms_max", *std::max_element(ttft.begin(), ttft.end())},
      {"video_tokens_in_context", video_tokens.front()},
      {"blocks_retrieved_per_layer",
       retrieved_layers > 0 ? static_cast<double>(retrieved) / retrieved_layers : 0.0},
      {"host_gib", static_cast<double>(after.host_bytes) / (1ll << 30)},
      {"disk_gib", static_cast<double>(after.disk_bytes) / (1ll << 30)},
      {"host_blocks", after.host_blocks},
      {"disk_blocks", after.disk_blocks},
      {"gpu_hits", after.gpu_hits - before.gpu_hits},
      {"gpu_misses", after.gpu_misses - before.gpu_misses},
      {"host_hits", after.host_hits - before.host_hits},
      {"disk_reads", after.disk_reads - before.disk_reads},
      {"disk_mb_read", static_cast<double>(after.disk_bytes_read - before.disk_bytes_read) / 1e6},
      {"index_blocks_on_gpu", memory.index().device_rows()},
      {"index_gpu_gib", static_cast<double>(memory.index().device_bytes_reserved()) / (1ll << 30)},
      {"gpu_gib_after_ingest", static_cast<double>(held) / (1ll << 30)},
      {"gpu_gib_after_questions", static_cast<double>(held_after) / (1ll << 30)},
  };
  bench::remove_tree(directory);
  return row;
}

// Our own exact path: sinks, frames x 196 video tokens and the question prefilled on an empty
// cache in one forward, the first token out.
nlohmann::json bench_exact(const llm::Qwen2Model& model, const llm::Qwen2Config& config,
                           int64_t frames, int64_t question_tokens) {
  const torch::Device device = model.device();
  const int64_t length = kSinkTokens + frames * kFrameTokens + question_tokens;
  const torch::Tensor ids = random_ids(config, length, device);
  const torch::Tensor positions = torch::arange(length, torch::dtype(torch::kInt64).device(device));
  const auto run = [&] {
    llm::ContiguousKvCache cache(static_cast<int>(config.num_layers));
    const torch::Tensor hidden = model.forward(model.embed(ids), positions, cache);
    return model.logits(hidden.narrow(0, length - 1, 1))[0].argmax().item<int64_t>();
  };
  run();  // warm-up
  const auto start = Clock::now();
  run();
  return {{"frames", frames}, {"prompt_tokens", length}, {"ttft_ms", milliseconds_since(start)}};
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Options options = parse(argc, argv);
    const torch::Device device(options.device == "cuda" ? torch::kCUDA : torch::kCPU);
    const torch::ScalarType dtype = options.dtype == "bf16"  ? torch::kBFloat16
                                    : options.dtype == "f16" ? torch::kFloat16
                                                             : torch::kFloat32;
    torch::NoGradGuard no_grad;
    torch::manual_seed(0);
    const llm::Checkpoint checkpoint = llm::Checkpoint::open(options.model);
    const llm::Qwen2Config config =
        llm::qwen2_config_of_checkpoint(checkpoint.config(), options.model);
    const auto model = llm::Qwen2Model::load(checkpoint, config, device, dtype);
    std::fprintf(stderr, "loaded %s\n", options.model.c_str());
    {
      // Warm-up: kernels, cuBLAS handles, the allocator's first blocks.
      llm::ContiguousKvCache cache(static_cast<int>(config.num_layers));
      model->forward(model->embed(random_ids(config, 64, device)),
                     torch::arange(64, torch::dtype(torch::kInt64).device(device)), cache);
      synchronize(device);
    }
    for (const int64_t frames : options.frames) {
      nlohmann::json row = bench_stream(options, *model, config, frames);
      row["path"] = "memory";
      std::cout << row.dump() << std::endl;
    }
    for (const int64_t frames : options.exact) {
      nlohmann::json row;
      try {
        row = bench_exact(*model, config, frames, options.question_tokens);
      } catch (const std::exception& e) {
        // Out of memory at this length: the curve ends here.
        row = {{"frames", frames}, {"error", std::string(e.what()).substr(0, 200)}};
      }
      row["path"] = "exact";
      std::cout << row.dump() << std::endl;
    }
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "vigil_answer_bench: " << e.what() << "\n";
    return 1;
  }
}

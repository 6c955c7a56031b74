// vigil_ingest_bench --model DIR [--device cuda|cpu] [--dtype bf16|f16|f32] [--frames 240]
//                    [--steps 1,8] [--streams 1,8] [--size 854x480] [--profile TRACE.json]
//                    [--stage-times 1]
// Frames/s of video ingestion as the service runs it (VideoPipeline::ingest: vision encoder,
// Differential Token Drop, the LLM's forward over the kept tokens into the stream's memory,
// blocks committed to the tiers and the index), with the service's default memory settings
// (window 15,000 tokens, GPU cache 1 GiB, host tier 8 GiB at 4 bits, no disk). Each of
// --streams threads ingests its own stream of --frames synthetic frames (a box over 18% of
// the picture flips between white and black on static colour bars: about 80% of the tokens
// drop; 416 frames of 36 tokens fill the window), --steps frames per ingest call (the
// service: 1 for live streams, frames_per_step = 32 for archives), each on a device stream of
// its own as the service's sessions are. Prints a markdown table and
// one JSON line per row. --profile writes a Chrome trace of 32 frames ingested after
// --frames of them into one stream, at the last step size (torch's legacy profiler, CPU
// times: run with CUDA_LAUNCH_BLOCKING=1 so that each operation's time is its kernel's; the
// pipeline's stages appear as vigil::ingest.* scopes; tools/summarize_trace.py sums them).
// --stage-times 1: for each step size, 32 frames after --frames of them into one stream with
// the device synchronised at every stage's start and end: milliseconds per step in each stage
// (encode, token drop, LLM forward, commit), with launches as asynchronous as the service's.
#include <ATen/record_function.h>
#include <torch/csrc/autograd/profiler.h>
#include <torch/torch.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_util.h"
#include "llm/chat_template.h"
#include "llm/checkpoint.h"
#include "llm/device_stream.h"
#include "llm/tokenizer.h"
#include "service/video_pipeline.h"
#include "vision/llava_onevision_model.h"

namespace {

using Clock = std::chrono::steady_clock;
using namespace vigil;

struct Options {
  std::string model;
  std::string device = "cuda";
  std::string dtype = "bf16";
  int64_t frames = 240;
  std::vector<int64_t> steps = {1, 8};
  std::vector<int64_t> streams = {1, 8};
  int width = 854;
  int height = 480;
  std::string profile;
  bool stage_times = false;
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
      options.frames = std::stoll(value);
    } else if (flag == "--steps") {
      options.steps = bench::parse_list(value);
    } else if (flag == "--streams") {
      options.streams = bench::parse_list(value);
    } else if (flag == "--size") {
      const size_t x = value.find('x');
      if (x == std::string::npos) throw std::invalid_argument("--size is WxH");
      options.width = std::stoi(value.substr(0, x));
      options.height = std::stoi(value.substr(x + 1));
    } else if (flag == "--profile") {
      options.profile = value;
    } else if (flag == "--stage-times") {
      options.stage_times = value == "1";
    } else {
      throw std::invalid_argument("unknown flag " + flag);
    }
  }
  if (options.model.empty()) throw std::invalid_argument("--model DIR is required");
  if (options.frames < 1) throw std::invalid_argument("--frames must be >= 1");
  return options;
}

// The two frames of the synthetic video, shown in turn: seven static colour bars with a box
// over pixels 112..266 of the 384 the model sees, in both directions (about the middle 6 x 6
// of the 14 x 14 pooled tokens, 18.4%), white in one frame and black in the other, as
// bench/gpu_load_bench.py's archive clip (82% of the random 7B model's tokens dropped there).
std::vector<std::vector<uint8_t>> make_frames(const Options& options) {
  const uint8_t bars[7][3] = {{191, 191, 191}, {191, 191, 0}, {0, 191, 191}, {0, 191, 0},
                              {191, 0, 191},   {191, 0, 0},   {0, 0, 191}};
  torch::Tensor background = torch::empty({options.height, options.width, 3}, torch::kUInt8);
  for (int64_t x = 0; x < options.width; ++x) {
    const uint8_t* colour = bars[x * 7 / options.width];
    for (int c = 0; c < 3; ++c) background.select(1, x).select(1, c).fill_(colour[c]);
  }
  const int64_t top = options.height * 112 / 384, bottom = options.height * 266 / 384;
  const int64_t left = options.width * 112 / 384, right = options.width * 266 / 384;
  std::vector<std::vector<uint8_t>> frames;
  for (const int value : {255, 0}) {
    torch::Tensor frame = background.clone();
    frame.narrow(0, top, bottom - top).narrow(1, left, right - left).fill_(value);
    frames.emplace_back(frame.data_ptr<uint8_t>(), frame.data_ptr<uint8_t>() + frame.numel());
  }
  return frames;
}

struct Result {
  int64_t frames = 0;
  int64_t tokens_in = 0;
  int64_t tokens_kept = 0;
};

// Ingests frames first .. first + count - 1 of the video into stream, `step` frames per call.
Result ingest(const service::VideoPipeline& pipeline, service::VideoStream& stream,
              const std::vector<std::vector<uint8_t>>& frames, const Options& options, int64_t step,
              int64_t first, int64_t count) {
  Result result;
  for (int64_t start = first; start < first + count; start += step) {
    std::vector<vision::RgbImageView> views;
    std::vector<double> times;
    for (int64_t f = start; f < std::min(first + count, start + step); ++f) {
      const std::vector<uint8_t>& frame = frames[static_cast<size_t>(f) % frames.size()];
      views.push_back({frame.data(), {options.width, options.height}});
      times.push_back(static_cast<double>(f));
    }
    const service::IngestStep done = pipeline.ingest(stream, views, times, 1.0);
    result.frames += done.frames;
    result.tokens_in += done.tokens_in;
    result.tokens_kept += done.tokens_kept;
  }
  return result;
}

// Wall time of VideoPipeline::ingest's stages (its vigil::ingest.* scopes), the device
// synchronised at each stage's start and end so that a stage's time is its own work's.
class StageTimer {
 public:
  explicit StageTimer(bool cuda) {
    cuda_ = cuda;
    totals().clear();
    handle_ = at::addGlobalCallback(at::RecordFunctionCallback(&StageTimer::start, &StageTimer::end)
                                        .scopes({at::RecordScope::USER_SCOPE}));
  }
  ~StageTimer() { at::removeCallback(handle_); }
  StageTimer(const StageTimer&) = delete;
  StageTimer& operator=(const StageTimer&) = delete;
  // Milliseconds per stage name, summed over the calls made while this timer lived.
  static std::map<std::string, double>& totals() {
    static std::map<std::string, double> totals;
    return totals;
  }

 private:
  struct Started : at::ObserverContext {
    Clock::time_point at;
  };
  static bool is_stage(const at::RecordFunction& fn) {
    return std::strncmp(fn.name(), "vigil::ingest.", 14) == 0;
  }
  static void synchronize() {
    if (cuda_) torch::cuda::synchronize();
  }
  static std::unique_ptr<at::ObserverContext> start(const at::RecordFunction& fn) {
    if (!is_stage(fn)) return nullptr;
    synchronize();
    auto started = std::make_unique<Started>();
    started->at = Clock::now();
    return started;
  }
  static void end(const at::RecordFunction& fn, at::ObserverContext* context) {
    if (context == nullptr) return;
    synchronize();
    totals()[fn.name()] +=
        std::chrono::duration<double, std::milli>(Clock::now() - static_cast<Started*>(context)->at)
            .count();
  }
  static inline bool cuda_ = false;
  at::CallbackHandle handle_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  try {
    const Options options = parse(argc, argv);
    const torch::Device device(options.device == "cuda" ? torch::kCUDA : torch::kCPU);
    const torch::ScalarType dtype = options.dtype == "bf16"  ? torch::kBFloat16
                                    : options.dtype == "f16" ? torch::kFloat16
                                                             : torch::kFloat32;
    torch::NoGradGuard no_grad;
    const auto load_start = Clock::now();
    const llm::Checkpoint checkpoint = llm::Checkpoint::open(options.model);
    const auto model = vision::LlavaOnevisionModel::load(checkpoint, device, dtype);
    const llm::Tokenizer tokenizer = llm::Tokenizer::load(options.model + "/tokenizer.json");
    const llm::ChatTemplate chat_template = llm::ChatTemplate::load_or_builtin(
        options.model, llm::BuiltinChatTemplate::kLlavaOnevision);
    std::fprintf(stderr, "loaded %s in %.1f s\n", options.model.c_str(),
                 std::chrono::duration<double>(Clock::now() - load_start).count());

    // The service's defaults (service/service_config.h).
    service::VideoPipelineConfig config;
    config.token_drop.enabled = true;
    config.token_drop.threshold = 0.5;
    config.memory.streaming.window_tokens = 15000;
    config.memory.answer.recent_tokens = 3136;
    config.memory.tiers.gpu_bytes = int64_t{1} << 30;
    config.memory.tiers.host_bytes = int64_t{8} << 30;
    config.memory.tiers.quantize = true;
    config.memory.tiers.quantization.key_bits = 4;
    config.memory.tiers.quantization.value_bits = 4;
    const service::VideoPipeline pipeline(*model, tokenizer, chat_template, config);
    const std::vector<std::vector<uint8_t>> frames = make_frames(options);

    {
      const auto warm_up = pipeline.open_stream(nullptr);
      ingest(pipeline, *warm_up, frames, options, options.steps.back(), 0, 16);
    }
    if (device.is_cuda()) torch::cuda::synchronize();
    std::printf("| streams | frames per step | frames | seconds | frames/s | token drop |\n");
    std::printf("|---|---|---|---|---|---|\n");
    for (const int64_t streams : options.streams) {
      for (const int64_t step : options.steps) {
        std::vector<Result> results(static_cast<size_t>(streams));
        std::vector<std::string> errors(static_cast<size_t>(streams));
        const auto start = Clock::now();
        std::vector<std::thread> threads;
        for (int64_t s = 0; s < streams; ++s) {
          threads.emplace_back([&, s] {
            try {
              torch::NoGradGuard thread_no_grad;
              // Each stream's work on a device stream of its own, as the service runs sessions.
              const llm::DeviceStream device_stream(device);
              const llm::DeviceStream::Guard current(device_stream);
              const auto stream = pipeline.open_stream(nullptr);
              results[static_cast<size_t>(s)] =
                  ingest(pipeline, *stream, frames, options, step, 0, options.frames);
            } catch (const std::exception& e) {
              errors[static_cast<size_t>(s)] = e.what();
            }
          });
        }
        for (std::thread& thread : threads) thread.join();
        if (device.is_cuda()) torch::cuda::synchronize();
        const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
        Result total;
        for (size_t s = 0; s < results.size(); ++s) {
          if (!errors[s].empty())
            throw std::runtime_error("stream " + std::to_string(s) + ": " + errors[s]);
          total.frames += results[s].frames;
          total.tokens_in += results[s].tokens_in;
          total.tokens_kept += results[s].tokens_kept;
        }
        const double drop = 1.0 - static_cast<double>(total.tokens_kept) /
                                      static_cast<double>(std::max<int64_t>(1, total.tokens_in));
        std::printf("| %lld | %lld | %lld | %.2f | %.1f | %.4f |\n",
                    static_cast<long long>(streams), static_cast<long long>(step),
                    static_cast<long long>(total.frames), seconds,
                    static_cast<double>(total.frames) / seconds, drop);
        std::cout << nlohmann::json{{"streams", streams},
                                    {"frames_per_step", step},
                                    {"frames", total.frames},
                                    {"seconds", seconds},
                                    {"frames_per_second", total.frames / seconds},
                                    {"token_drop", drop},
                                    {"device", options.device},
                                    {"torch", TORCH_VERSION}}
                         .dump()
                  << std::endl;
      }
    }
    if (options.stage_times) {
      std::printf(
          "\n| frames per step | ms per step: encode | token drop | LLM forward | commit "
          "| all | frames/s |\n|---|---|---|---|---|---|---|\n");
      for (const int64_t step : options.steps) {
        const auto stream = pipeline.open_stream(nullptr);
        ingest(pipeline, *stream, frames, options, step, 0, options.frames);
        if (device.is_cuda()) torch::cuda::synchronize();
        constexpr int64_t kTimed = 32;
        const auto start = Clock::now();
        {
          const StageTimer timer(device.is_cuda());
          ingest(pipeline, *stream, frames, options, step, options.frames, kTimed);
        }
        const double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
        const double steps = static_cast<double>((kTimed + step - 1) / step);
        std::map<std::string, double> per_step;
        for (const auto& [name, total] : StageTimer::totals()) per_step[name] = total / steps;
        std::printf("| %lld | %.2f | %.2f | %.2f | %.2f | %.2f | %.1f |\n",
                    static_cast<long long>(step), per_step["vigil::ingest.encode_frames"],
                    per_step["vigil::ingest.token_drop"], per_step["vigil::ingest.llm_forward"],
                    per_step["vigil::ingest.commit_frames"], ms / steps,
                    static_cast<double>(kTimed) / (ms / 1000.0));
        nlohmann::json row = {{"stage_ms_per_step", per_step},
                              {"frames_per_step", step},
                              {"ms_per_step", ms / steps}};
        std::cout << row.dump() << std::endl;
      }
    }
    if (!options.profile.empty()) {
      // 32 frames after --frames of them, when the window has filled (if it does).
      const auto stream = pipeline.open_stream(nullptr);
      ingest(pipeline, *stream, frames, options, options.steps.back(), 0, options.frames);
      if (device.is_cuda()) torch::cuda::synchronize();
      torch::autograd::profiler::RecordProfile trace(options.profile);
      ingest(pipeline, *stream, frames, options, options.steps.back(), options.frames, 32);
      if (device.is_cuda()) torch::cuda::synchronize();
    }
    return 0;
  } catch (const std::exception& error) {
    std::cerr << "vigil_ingest_bench: " << error.what() << "\n";
    return 1;
  }
}

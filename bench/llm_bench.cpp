// vigil_llm_bench --model DIR [--device cuda|cpu] [--dtype bf16|f16|f32]
//                 [--prefill 1024,8192,32768] [--context 4096] [--batches 1,16] [--steps 64]
//                 [--iterations 3] [--attention default|flash|cudnn|efficient|math]
//                 [--profile TRACE.json]
// The Qwen2 decoder's speed on a checkpoint (for the issue: random weights of Qwen2-7B's
// shapes from tools/make_random_checkpoint.py):
//   prefill  tokens/s of one forward over --prefill random ids on an empty cache, logits of
//            the last token only;
//   decode   tokens/s of greedy steps for every row of a batch whose rows each hold a
//            --context-token context (BatchDecoder, which Generator uses on CUDA: a CUDA graph
//            per step, and the same steps without it), and of one token at a time through
//            Qwen2Model::forward on a ContiguousKvCache;
// with peak GPU memory, the card's measured copy bandwidth and the batch-1 bound it gives
// (bytes of weights read per token over that bandwidth). Prints a markdown table and one JSON
// line per row. Compare: bench/llm_bench_transformers.py on the same card and checkpoint.
// --attention restricts the fused attention libtorch may choose to one backend (a prompt's
// causal attention is where long prefills spend their time). --batches 0 skips decoding.
// --profile writes a Chrome trace of one more prefill at the last --prefill length (torch's
// legacy profiler, CPU times: run with CUDA_LAUNCH_BLOCKING=1 so that each operation's time is
// its kernel's; tools/summarize_trace.py sums it per operation).
#include <torch/torch.h>

#ifdef VIGIL_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>
#endif
#include <torch/csrc/autograd/profiler.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "llm/batch_decoder.h"
#include "llm/checkpoint.h"
#include "llm/kv_cache.h"
#include "llm/qwen2_config.h"
#include "llm/qwen2_model.h"
#include "llm/torch_compat.h"

namespace {

using Clock = std::chrono::steady_clock;
using namespace vigil;

struct Options {
  std::string model;
  std::string device = "cuda";
  std::string dtype = "bf16";
  std::vector<int64_t> prefill = {1024, 8192, 32768};
  int64_t context = 4096;
  std::vector<int64_t> batches = {1, 16};
  int64_t steps = 64;
  int iterations = 3;
  std::string attention = "default";
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
    } else if (flag == "--prefill") {
      options.prefill = bench::parse_list(value);
    } else if (flag == "--context") {
      options.context = std::stoll(value);
    } else if (flag == "--batches") {
      options.batches = bench::parse_list(value);
    } else if (flag == "--steps") {
      options.steps = std::stoll(value);
    } else if (flag == "--iterations") {
      options.iterations = std::stoi(value);
    } else if (flag == "--attention") {
      options.attention = value;
    } else if (flag == "--profile") {
      options.profile = value;
    } else {
      throw std::invalid_argument("unknown flag " + flag);
    }
  }
  if (options.model.empty()) throw std::invalid_argument("--model DIR is required");
  return options;
}

void synchronize(torch::Device device) {
  if (device.is_cuda()) torch::cuda::synchronize();
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

#ifdef VIGIL_WITH_CUDA
c10::DeviceIndex index_of(torch::Device device) {
  return device.has_index() ? device.index() : c10::cuda::current_device();
}
#endif

void reset_peak_memory(torch::Device device) {
#ifdef VIGIL_WITH_CUDA
  if (device.is_cuda()) c10::cuda::CUDACachingAllocator::resetPeakStats(index_of(device));
#else
  (void)device;
#endif
}

// Peak bytes held by tensors since the last reset (0 off CUDA).
double peak_gib(torch::Device device) {
#ifdef VIGIL_WITH_CUDA
  if (device.is_cuda()) {
    const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(index_of(device));
    return static_cast<double>(stats.allocated_bytes[0].peak) / (1ull << 30);
  }
#else
  (void)device;
#endif
  return 0;
}

// Device copy bandwidth in bytes/s (read + write) of a 2 GiB buffer.
double copy_bandwidth(torch::Device device) {
  const int64_t bytes = device.is_cuda() ? (2ll << 30) : (256ll << 20);
  const auto options = torch::TensorOptions().dtype(torch::kUInt8).device(device);
  torch::Tensor source = torch::empty({bytes}, options);
  torch::Tensor target = torch::empty({bytes}, options);
  target.copy_(source);
  synchronize(device);
  const int repeats = 20;
  const auto start = Clock::now();
  for (int i = 0; i < repeats; ++i) target.copy_(source);
  synchronize(device);
  return 2.0 * static_cast<double>(bytes) * repeats / seconds_since(start);
}

// Bytes of weights one decoding step reads: every layer, the final norm and the head (the
// embedding table gives one row per token).
double weight_bytes_per_token(const llm::Qwen2Config& c, int64_t element_size) {
  const int64_t q = c.num_heads * c.head_dim;
  const int64_t kv = c.num_kv_heads * c.head_dim;
  const int64_t layer = c.hidden_size * (q + 2 * kv) + q + 2 * kv + q * c.hidden_size +
                        3 * c.hidden_size * c.intermediate_size + 2 * c.hidden_size;
  return static_cast<double>((c.num_layers * layer + c.hidden_size + c.vocab_size * c.hidden_size) *
                             element_size);
}

torch::Tensor random_ids(const llm::Qwen2Config& config, int64_t n, torch::Device device) {
  return torch::randint(config.vocab_size, {n},
                        torch::TensorOptions().dtype(torch::kInt64).device(device));
}

struct Row {
  std::string work;
  std::string path;
  int64_t batch = 1;
  int64_t tokens = 0;  // prefill length, or context for decode
  double tokens_per_second = 0;
  double peak = 0;
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
    llm::compat::restrict_attention_backend(options.attention);
    const auto load_start = Clock::now();
    const llm::Checkpoint checkpoint = llm::Checkpoint::open(options.model);
    const llm::Qwen2Config config =
        llm::qwen2_config_of_checkpoint(checkpoint.config(), options.model);
    const auto model = llm::Qwen2Model::load(checkpoint, config, device, dtype);
    synchronize(device);
    std::fprintf(stderr, "loaded %s (%lld layers, hidden %lld) in %.1f s\n", options.model.c_str(),
                 static_cast<long long>(config.num_layers),
                 static_cast<long long>(config.hidden_size), seconds_since(load_start));
    const int64_t layers = config.num_layers;
    std::vector<Row> rows;
    const auto report = [&](Row row) {
      rows.push_back(row);
      std::cout << nlohmann::json{{"peer", "vigil"},
                                  {"work", row.work},
                                  {"path", row.path},
                                  {"batch", row.batch},
                                  {"tokens", row.tokens},
                                  {"tokens_per_second", row.tokens_per_second},
                                  {"peak_gib", row.peak}}
                       .dump()
                << std::endl;
    };

    // Prefill: one forward over the prompt, the last token's logits.
    for (const int64_t length : options.prefill) {
      const torch::Tensor ids = random_ids(config, length, device);
      const torch::Tensor positions = torch::arange(length);
      const auto prefill = [&] {
        llm::ContiguousKvCache cache(static_cast<int>(layers));
        const torch::Tensor hidden = model->forward(model->embed(ids), positions, cache);
        return model->logits(hidden.narrow(0, length - 1, 1));
      };
      reset_peak_memory(device);
      prefill();  // warm-up
      synchronize(device);
      const auto start = Clock::now();
      for (int i = 0; i < options.iterations; ++i) prefill();
      synchronize(device);
      const double seconds = seconds_since(start) / options.iterations;
      report({"prefill", "forward (attention: " + options.attention + ")", 1, length,
              static_cast<double>(length) / seconds, peak_gib(device)});
      if (!options.profile.empty() && length == options.prefill.back()) {
        torch::autograd::profiler::RecordProfile trace(options.profile);
        prefill();
        synchronize(device);
      }
    }
    const bool decode = !(options.batches.size() == 1 && options.batches[0] == 0);
    const std::vector<int64_t> batches = decode ? options.batches : std::vector<int64_t>{};

    // Decode: every row holds the same --context-token context (prefilled once).
    llm::ContiguousKvCache context(static_cast<int>(layers));
    if (decode) {
      model->forward(model->embed(random_ids(config, options.context, device)),
                     torch::arange(options.context), context);
    }
    const int64_t capacity = (options.context + 3 * options.steps + 64 + 63) / 64 * 64;
    double graph_vs_eager = 0;
    for (const int64_t batch : batches) {
      for (const bool graph : {true, false}) {
        if (!graph && batch != batches.front()) continue;  // eager: first batch only
        if (graph && !(device.is_cuda() && llm::CudaGraph::available())) continue;
        reset_peak_memory(device);
        llm::BatchDecoder decoder(*model, batch, capacity, graph);
        for (int64_t row = 0; row < batch; ++row) decoder.assign(row, context);
        torch::Tensor ids = random_ids(config, batch, device);
        torch::Tensor logits = decoder.step(ids);  // warm-up (and capture)
        if (graph && batch == batches.front() && decoder.uses_cuda_graph()) {
          // The captured step must compute what the eager one does.
          llm::BatchDecoder eager(*model, batch, capacity, false);
          for (int64_t row = 0; row < batch; ++row) eager.assign(row, context);
          const torch::Tensor expected = eager.step(ids);
          graph_vs_eager = ((logits - expected).abs().max() / expected.abs().max()).item<double>();
        }
        ids = logits.argmax(-1);
        synchronize(device);
        const auto start = Clock::now();
        for (int64_t step = 0; step < options.steps; ++step) ids = decoder.step(ids).argmax(-1);
        synchronize(device);
        const double seconds = seconds_since(start);
        report({"decode", decoder.uses_cuda_graph() ? "batch, cuda graph" : "batch, eager", batch,
                options.context, static_cast<double>(batch * options.steps) / seconds,
                peak_gib(device)});
      }
    }
    if (decode) {
      // One token at a time through Qwen2Model::forward on a ContiguousKvCache (a copy of the
      // context): the path of `vigil logits --generate` and of Generator off CUDA.
      llm::ContiguousKvCache cache(static_cast<int>(layers));
      for (int64_t layer = 0; layer < layers; ++layer) {
        const llm::KvView view = context.view(static_cast<int>(layer));
        cache.append(static_cast<int>(layer), view.keys, view.values, view.positions);
      }
      reset_peak_memory(device);
      torch::Tensor id = random_ids(config, 1, device);
      const auto step = [&](int64_t position) {
        return model->logits(model->forward(model->embed(id), torch::tensor({position}), cache))
            .argmax(-1);
      };
      id = step(options.context);
      synchronize(device);
      const auto start = Clock::now();
      for (int64_t i = 1; i <= options.steps; ++i) id = step(options.context + i);
      synchronize(device);
      report({"decode", "forward, one token", 1, options.context,
              static_cast<double>(options.steps) / seconds_since(start), peak_gib(device)});
    }

    const double bandwidth = copy_bandwidth(device);
    const double bytes = weight_bytes_per_token(config, torch::elementSize(dtype));
    const double bound = bandwidth / bytes;
    std::printf(
        "\n| work | path | batch | tokens | tokens/s | peak GiB |\n|---|---|---|---|---|---|\n");
    for (const Row& row : rows) {
      std::printf("| %s | %s | %lld | %lld | %.1f | %.2f |\n", row.work.c_str(), row.path.c_str(),
                  static_cast<long long>(row.batch), static_cast<long long>(row.tokens),
                  row.tokens_per_second, row.peak);
    }
    std::printf(
        "\ncopy bandwidth %.0f GB/s; weights read per token %.2f GB; batch-1 bound %.1f "
        "tokens/s; graph vs eager logits, relative %.2e\n",
        bandwidth / 1e9, bytes / 1e9, bound, graph_vs_eager);
    std::cout << nlohmann::json{{"copy_bandwidth_gbs", bandwidth / 1e9},
                                {"weight_gb_per_token", bytes / 1e9},
                                {"batch1_bound_tokens_per_second", bound},
                                {"graph_vs_eager_relative", graph_vs_eager},
                                {"torch", TORCH_VERSION}}
                     .dump()
              << std::endl;
    return 0;
  } catch (const std::exception& error) {
    std::cerr << "vigil_llm_bench: " << error.what() << "\n";
    return 1;
  }
}

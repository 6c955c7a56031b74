// vigil_kv_quant_bench [--iterations N] [--device cpu|cuda]
//
// The cold tiers' cost of one frame with Qwen2-7B shapes (28 layers, 4 KV heads, head_dim
// 128; 196 tokens per frame, and 39 = 20% kept after token drop): bytes per frame and per
// hour at 1 fps as the disk tier writes them (one layered record per frame,
// memory/layered_record.h) for bf16 exact and KIVI 8/4/2 bits (group 32, fp16 scales), each with
// and without zstd (level 3); the relative error each adds on the synthetic K/V; and quantize /
// dequantize / encode / decode throughput on the CPU and, when present, on CUDA.
//
// K/V are synthetic (the "random weights"): keys N(0,1) with 4 outlier channels per
// head (x20, offset 5), values N(0, 0.5), stored as bf16.
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "memory/block_codec.h"
#include "memory/kv_block.h"
#include "memory/kv_quantizer.h"
#include "memory/layered_record.h"

namespace {

using vigil::memory::BlockCompression;
using vigil::memory::CodecSettings;
using vigil::memory::KvBlock;
using vigil::memory::QuantizationSettings;
using vigil::memory::QuantizedBlock;

constexpr int64_t kLayers = 28, kKvHeads = 4, kHeadDim = 128, kAttentionHeads = 28;

KvBlock synthetic_block(int64_t tokens, torch::Device device) {
  torch::manual_seed(1234 + tokens);
  KvBlock block;
  block.index = 0;
  block.frame_tokens = 196;
  block.token_offsets = torch::arange(tokens, torch::kInt64);
  for (int64_t layer = 0; layer < kLayers; ++layer) {
    torch::Tensor keys = torch::randn({kKvHeads, tokens, kHeadDim});
    keys.narrow(2, 0, 4).mul_(20.0).add_(5.0);
    block.keys.push_back(keys.to(torch::kBFloat16).to(device));
    block.values.push_back(
        (torch::randn({kKvHeads, tokens, kHeadDim}) * 0.5).to(torch::kBFloat16).to(device));
  }
  vigil::memory::compute_summary_keys(block);
  return block;
}

double relative_error(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
  const torch::Tensor x = torch::stack(a).to(torch::kCPU, torch::kFloat32);
  const torch::Tensor y = torch::stack(b).to(torch::kCPU, torch::kFloat32);
  return ((x - y).norm() / x.norm()).item<double>();
}

void synchronize(torch::Device device) {
  if (device.is_cuda()) torch::cuda::synchronize();
}

template <typename F>
double seconds_per_call(torch::Device device, int iterations, F&& f) {
  f();  // warm-up
  synchronize(device);
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < iterations; ++i) f();
  synchronize(device);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() /
         iterations;
}

struct Setting {
  const char* name;
  int bits;  // 0: exact bf16
};

void sizes_table() {
  const Setting settings[] = {{"bf16 exact", 0}, {"8 bit", 8}, {"4 bit", 4}, {"2 bit", 2}};
  std::printf("## Bytes per frame (Qwen2-7B shapes: 28 layers x 4 KV heads x 128; 1 fps)\n\n");
  std::printf(
      "| setting | tokens | bytes/frame | zstd bytes/frame | GiB/hour | zstd GiB/hour |"
      " rel. err K | rel. err V |\n|---|---|---|---|---|---|---|---|\n");
  for (int64_t tokens : {int64_t{196}, int64_t{39}}) {
    const KvBlock block = synthetic_block(tokens, torch::kCPU);
    for (const Setting& setting : settings) {
      CodecSettings plain;
      CodecSettings zstd;
      zstd.compression = BlockCompression::kZstd;
      std::vector<uint8_t> bytes, packed;
      double key_error = 0, value_error = 0;
      if (setting.bits == 0) {
        bytes = vigil::memory::encode_layered(block, plain);
        packed = vigil::memory::encode_layered(block, zstd);
      } else {
        QuantizationSettings q;
        q.key_bits = q.value_bits = setting.bits;
        const QuantizedBlock quantized = vigil::memory::quantize_block(block, q);
        bytes = vigil::memory::encode_layered(quantized, plain);
        packed = vigil::memory::encode_layered(quantized, zstd);
        const KvBlock back =
            vigil::memory::dequantize_block(quantized, torch::kCPU, torch::kFloat32);
        key_error = relative_error(block.keys, back.keys);
        value_error = relative_error(block.values, back.values);
      }
      const double hour = 3600.0 / (1024.0 * 1024.0 * 1024.0);
      std::printf("| %s | %lld | %zu | %zu | %.2f | %.2f | %.4f | %.4f |\n", setting.name,
                  static_cast<long long>(tokens), bytes.size(), packed.size(), bytes.size() * hour,
                  packed.size() * hour, key_error, value_error);
    }
  }
  // What one record per whole block (a single zstd frame; the disk format before layered
  // records) would take, for the setting the disk target names.
  QuantizationSettings four_bits;
  const QuantizedBlock frame =
      vigil::memory::quantize_block(synthetic_block(39, torch::kCPU), four_bits);
  CodecSettings zstd;
  zstd.compression = BlockCompression::kZstd;
  const size_t whole = vigil::memory::encode_block(frame, zstd).size();
  std::printf(
      "\n(bytes/frame = the disk record: per layer its KV, scales, zero points and summary keys\n"
      "stored per KV head, 4x128 fp32, each layer compressed on its own behind a table; token\n"
      "offsets once. 4 bit, 39 tokens as one zstd frame per block instead: %zu bytes, %.2f\n"
      "GiB/hour.)\n\n",
      whole, whole * 3600.0 / (1024.0 * 1024.0 * 1024.0));
}

void throughput_table(torch::Device device, int iterations) {
  std::printf("## Throughput on %s (196-token frame, bf16 in; %d iterations)\n\n",
              device.str().c_str(), iterations);
  std::printf(
      "| setting | within scale/2 | quantize ms | dequantize ms | quantize GB/s | dequantize GB/s |"
      " encode ms | encode+zstd ms | decode ms | decode+zstd ms |\n"
      "|---|---|---|---|---|---|---|---|---|---|\n");
  const KvBlock block = synthetic_block(196, device);
  const double bf16_bytes = static_cast<double>(block.kv_bytes());
  for (int bits : {8, 4, 2}) {
    QuantizationSettings q;
    q.key_bits = q.value_bits = bits;
    QuantizedBlock quantized;
    const double quantize = seconds_per_call(
        device, iterations, [&] { quantized = vigil::memory::quantize_block(block, q); });
    const double dequantize = seconds_per_call(device, iterations, [&] {
      vigil::memory::dequantize_block(quantized, device, torch::kBFloat16);
    });
    // The analytic bound, checked on this device: every element within half its group's scale.
    const KvBlock back = vigil::memory::dequantize_block(quantized, device, torch::kFloat32);
    const torch::Tensor key_bound = (quantized.keys.scales.to(torch::kFloat32) / 2)
                                        .repeat_interleave(q.group_size, 2)
                                        .narrow(2, 0, quantized.tokens);
    const torch::Tensor value_bound = (quantized.values.scales.to(torch::kFloat32) / 2)
                                          .repeat_interleave(q.group_size, 3)
                                          .narrow(3, 0, quantized.head_dim);
    const auto excess = [](const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b,
                           const torch::Tensor& bound) {
      const torch::Tensor x = torch::stack(a).to(torch::kFloat32);
      return ((x - torch::stack(b)).abs() - bound - 2e-6 * (x.abs() + bound)).max().item<double>();
    };
    const bool bound_ok = excess(block.keys, back.keys, key_bound) <= 0 &&
                          excess(block.values, back.values, value_bound) <= 0;
    CodecSettings zstd;
    zstd.compression = BlockCompression::kZstd;
    const QuantizedBlock on_host = quantized.to(torch::kCPU);
    std::vector<uint8_t> bytes, packed;
    const double encode = seconds_per_call(torch::kCPU, iterations,
                                           [&] { bytes = vigil::memory::encode_block(on_host); });
    const double encode_zstd = seconds_per_call(
        torch::kCPU, iterations, [&] { packed = vigil::memory::encode_block(on_host, zstd); });
    const double decode = seconds_per_call(torch::kCPU, iterations,
                                           [&] { vigil::memory::decode_quantized_block(bytes); });
    const double decode_zstd = seconds_per_call(
        torch::kCPU, iterations, [&] { vigil::memory::decode_quantized_block(packed); });
    std::printf("| %d bit | %s | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f |\n", bits,
                bound_ok ? "yes" : "NO", quantize * 1e3, dequantize * 1e3,
                bf16_bytes / quantize / 1e9, bf16_bytes / dequantize / 1e9, encode * 1e3,
                encode_zstd * 1e3, decode * 1e3, decode_zstd * 1e3);
  }
  std::printf(
      "\n(GB/s counts the bf16 K+V of the frame, %.1f MB; encode/decode run on the CPU "
      "from/to host tensors)\n\n",
      bf16_bytes / 1e6);
}

}  // namespace

int main(int argc, char** argv) {
  int iterations = 10;
  std::string only_device;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--iterations") && i + 1 < argc) {
      iterations = std::atoi(argv[++i]);
    } else if (!std::strcmp(argv[i], "--device") && i + 1 < argc) {
      only_device = argv[++i];
    } else {
      std::fprintf(stderr, "usage: %s [--iterations N] [--device cpu|cuda]\n", argv[0]);
      return 1;
    }
  }
  torch::NoGradGuard no_grad;
  std::printf("# vigil_kv_quant_bench (libtorch %s, %d CPU threads)\n\n", TORCH_VERSION,
              torch::get_num_threads());
  sizes_table();
  if (only_device != "cuda") throughput_table(torch::kCPU, iterations);
  if (only_device != "cpu" && torch::cuda::is_available())
    throughput_table(torch::Device(torch::kCUDA, 0), iterations * 5);
  return 0;
}

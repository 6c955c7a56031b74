// KIVI-style quantization of KV blocks: the analytic error bound (every element within half
// its group's scale) at 2, 4 and 8 bits with fp16 and fp32 scales, remainder groups and T = 1,
// packing sizes, typed errors, and the relative error of K and V on the keys and values the
// tiny Qwen2 fixture computes (the ceilings recorded in docs/memory.md).
#include "memory/kv_quantizer.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <limits>
#include <string>
#include <tuple>
#include <utility>

#include "llm/checkpoint.h"
#include "llm/kv_cache.h"
#include "llm/qwen2_config.h"
#include "llm/qwen2_model.h"

namespace vigil::memory {
namespace {

KvBlock random_block(int64_t layers, int64_t kv_heads, int64_t tokens, int64_t head_dim,
                     torch::ScalarType dtype, torch::Device device, uint64_t seed) {
  torch::manual_seed(seed);
  KvBlock block;
  block.index = 7;
  block.start_seconds = 3.0;
  block.end_seconds = 4.0;
  block.frame_tokens = tokens + 3;
  block.token_offsets = torch::arange(tokens, torch::kInt64) + 1;
  for (int64_t layer = 0; layer < layers; ++layer) {
    // Keys with a few large-magnitude channels (as real keys have), values plain.
    torch::Tensor keys = torch::randn({kv_heads, tokens, head_dim});
    keys.select(2, 0).mul_(20.0).add_(5.0);
    block.keys.push_back(keys.to(device, dtype));
    block.values.push_back((torch::randn({kv_heads, tokens, head_dim}) * 0.5).to(device, dtype));
  }
  compute_summary_keys(block);
  return block;
}

// Each element's bound, scale/2, expanded from the group scales to [L, H, T, D].
torch::Tensor key_bounds(const QuantizedBlock& q) {
  return (q.keys.scales.to(torch::kFloat32) / 2)
      .repeat_interleave(q.settings.group_size, 2)
      .narrow(2, 0, q.tokens);
}
torch::Tensor value_bounds(const QuantizedBlock& q) {
  return (q.values.scales.to(torch::kFloat32) / 2)
      .repeat_interleave(q.settings.group_size, 3)
      .narrow(3, 0, q.head_dim);
}

// max over elements of |x - x̂| - bound, relative to the data's magnitude (<= ~1e-6 when the
// bound holds up to fp32 arithmetic).
double bound_excess(const std::vector<torch::Tensor>& original,
                    const std::vector<torch::Tensor>& decoded, const torch::Tensor& bounds) {
  const torch::Tensor x = torch::stack(original).to(torch::kCPU, torch::kFloat32);
  const torch::Tensor y = torch::stack(decoded).to(torch::kCPU, torch::kFloat32);
  const torch::Tensor slack = 2e-6 * (x.abs() + bounds.to(torch::kCPU)) + 1e-12;
  return ((x - y).abs() - bounds.to(torch::kCPU) - slack).max().item<double>();
}

double relative_error(const std::vector<torch::Tensor>& original,
                      const std::vector<torch::Tensor>& decoded) {
  const torch::Tensor x = torch::stack(original).to(torch::kCPU, torch::kFloat32);
  const torch::Tensor y = torch::stack(decoded).to(torch::kCPU, torch::kFloat32);
  return ((x - y).norm() / x.norm()).item<double>();
}

using BoundCase = std::tuple<int, ScaleDtype, int64_t, int64_t>;  // bits, scales, T, head_dim

class QuantizerBound : public ::testing::TestWithParam<BoundCase> {};

void check_bound(torch::Device device, const BoundCase& param) {
  const auto [bits, scale_dtype, tokens, head_dim] = param;
  const KvBlock block = random_block(3, 2, tokens, head_dim, torch::kFloat32, device, 11);
  QuantizationSettings settings;
  settings.key_bits = bits;
  settings.value_bits = bits;
  settings.scale_dtype = scale_dtype;
  const QuantizedBlock q = quantize_block(block, settings);
  EXPECT_EQ(q.keys.packed.device(), device);
  const int64_t numel = 3 * 2 * tokens * head_dim;
  EXPECT_EQ(q.keys.packed.numel(), packed_bytes(numel, bits));
  EXPECT_EQ(q.values.packed.numel(), packed_bytes(numel, bits));
  const int64_t token_groups = (tokens + 31) / 32;
  const int64_t channel_groups = (head_dim + 31) / 32;
  EXPECT_EQ(q.keys.scales.sizes(), (std::vector<int64_t>{3, 2, token_groups, head_dim}));
  EXPECT_EQ(q.values.scales.sizes(), (std::vector<int64_t>{3, 2, tokens, channel_groups}));
  const int64_t scale_bytes = scale_dtype == ScaleDtype::kFloat16 ? 2 : 4;
  EXPECT_EQ(q.kv_bytes(),
            2 * packed_bytes(numel, bits) +
                2 * scale_bytes * 3 * 2 * (token_groups * head_dim + tokens * channel_groups));

  const KvBlock back = dequantize_block(q, device, torch::kFloat32);
  ASSERT_EQ(back.layers(), 3);
  EXPECT_EQ(back.keys[0].sizes(), block.keys[0].sizes());
  EXPECT_EQ(back.keys[0].device(), device);
  EXPECT_TRUE(torch::equal(back.token_offsets.cpu(), block.token_offsets.cpu()));
  EXPECT_TRUE(torch::equal(back.summary_keys.cpu(), block.summary_keys.cpu()));
  EXPECT_EQ(back.index, 7);
  EXPECT_EQ(back.frame_tokens, tokens + 3);
  EXPECT_LE(bound_excess(block.keys, back.keys, key_bounds(q)), 0.0);
  EXPECT_LE(bound_excess(block.values, back.values, value_bounds(q)), 0.0);
  // The bound is tight enough to mean something: scales are range / (2^bits - 1).
  const double levels = (1 << bits) - 1;
  const torch::Tensor range =
      torch::stack(block.values).amax(-1) - torch::stack(block.values).amin(-1);
  if (head_dim <= 32) {
    EXPECT_LE((q.values.scales.to(torch::kFloat32).squeeze(-1) - range / levels)
                  .abs()
                  .max()
                  .item<double>(),
              1e-2 * range.max().item<double>() / levels);
  }
}

TEST_P(QuantizerBound, EveryElementWithinHalfAScaleOnCpu) {
  check_bound(torch::kCPU, GetParam());
}

TEST_P(QuantizerBound, EveryElementWithinHalfAScaleOnCuda) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  check_bound(torch::Device(torch::kCUDA, 0), GetParam());
}

INSTANTIATE_TEST_SUITE_P(
    BitsScalesShapes, QuantizerBound,
    ::testing::Combine(::testing::Values(2, 4, 8),
                       ::testing::Values(ScaleDtype::kFloat16, ScaleDtype::kFloat32),
                       ::testing::Values<int64_t>(1, 32, 45, 196),  // T: single, exact, remainder
                       ::testing::Values<int64_t>(16, 128)));       // head_dim < group, 4 groups

// quantize_blocks must give quantize_block's bytes for each block, whatever the blocks' T.
void check_blocks_together(torch::Device device) {
  const std::vector<int64_t> tokens = {1, 31, 32, 33, 70, 5};
  for (const int64_t head_dim : {int64_t{16}, int64_t{6}, int64_t{5}}) {  // 5: codes split bytes
    for (const auto& [key_bits, value_bits] : {std::pair{4, 4}, std::pair{2, 8}, std::pair{8, 2}}) {
      for (const ScaleDtype scales : {ScaleDtype::kFloat16, ScaleDtype::kFloat32}) {
        QuantizationSettings settings;
        settings.key_bits = key_bits;
        settings.value_bits = value_bits;
        settings.scale_dtype = scales;
        std::vector<KvBlock> blocks;
        for (size_t b = 0; b < tokens.size(); ++b) {
          blocks.push_back(
              random_block(3, 2, tokens[b], head_dim, torch::kBFloat16, device, 40 + b));
          blocks.back().index = static_cast<int64_t>(b);
        }
        const std::vector<QuantizedBlock> together = quantize_blocks(blocks, settings);
        ASSERT_EQ(together.size(), blocks.size());
        for (size_t b = 0; b < blocks.size(); ++b) {
          const QuantizedBlock alone = quantize_block(blocks[b], settings);
          const QuantizedBlock& q = together[b];
          const std::string what = "block " + std::to_string(b) + " head_dim " +
                                   std::to_string(head_dim) + " bits " + std::to_string(key_bits) +
                                   "/" + std::to_string(value_bits);
          EXPECT_EQ(q.index, alone.index) << what;
          EXPECT_EQ(q.tokens, alone.tokens) << what;
          EXPECT_EQ(q.source_dtype, alone.source_dtype) << what;
          for (const auto& [x, y] :
               {std::pair{&q.keys, &alone.keys}, std::pair{&q.values, &alone.values}}) {
            EXPECT_EQ(x->bits, y->bits) << what;
            EXPECT_TRUE(torch::equal(x->packed.cpu(), y->packed.cpu())) << what;
            EXPECT_TRUE(torch::equal(x->scales.cpu(), y->scales.cpu())) << what;
            EXPECT_TRUE(torch::equal(x->zeros.cpu(), y->zeros.cpu())) << what;
            EXPECT_TRUE(x->packed.is_contiguous() && x->scales.is_contiguous()) << what;
          }
        }
      }
    }
  }
}

TEST(Quantizer, BlocksQuantizedTogetherAreQuantizedAsAloneOnCpu) {
  check_blocks_together(torch::kCPU);
}

TEST(Quantizer, BlocksQuantizedTogetherAreQuantizedAsAloneOnCuda) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  check_blocks_together(torch::Device(torch::kCUDA, 0));
}

TEST(Quantizer, BlocksQuantizedTogetherFailTogether) {
  std::vector<KvBlock> blocks = {random_block(2, 2, 4, 8, torch::kFloat32, torch::kCPU, 1),
                                 random_block(2, 2, 9, 8, torch::kFloat32, torch::kCPU, 2)};
  blocks[1].index = 8;
  blocks[1].values[1][0][3][2] = std::numeric_limits<float>::infinity();
  EXPECT_THROW(quantize_blocks(blocks, QuantizationSettings{}), QuantizationError);
  blocks[1] = random_block(2, 3, 9, 8, torch::kFloat32, torch::kCPU, 2);  // other head count
  EXPECT_THROW(quantize_blocks(blocks, QuantizationSettings{}), QuantizationError);
}

TEST(Quantizer, MixedBitsAndSmallGroups) {
  const KvBlock block = random_block(2, 4, 40, 64, torch::kFloat32, torch::kCPU, 3);
  QuantizationSettings settings;
  settings.key_bits = 2;
  settings.value_bits = 8;
  settings.group_size = 8;
  const QuantizedBlock q = quantize_block(block, settings);
  const KvBlock back = dequantize_block(q, torch::kCPU, torch::kFloat32);
  EXPECT_LE(bound_excess(block.keys, back.keys, key_bounds(q)), 0.0);
  EXPECT_LE(bound_excess(block.values, back.values, value_bounds(q)), 0.0);
  EXPECT_LT(relative_error(block.values, back.values), relative_error(block.keys, back.keys));
}

TEST(Quantizer, ConstantGroupsAreExact) {
  KvBlock block;
  block.token_offsets = torch::arange(5, torch::kInt64);
  block.keys = {torch::full({2, 5, 8}, 3.25f), torch::full({2, 5, 8}, -7.5f)};
  block.values = {torch::zeros({2, 5, 8}), torch::full({2, 5, 8}, 0.125f)};
  for (int bits : {2, 4, 8}) {
    QuantizationSettings settings;
    settings.key_bits = settings.value_bits = bits;
    const KvBlock back =
        dequantize_block(quantize_block(block, settings), torch::kCPU, torch::kFloat32);
    for (int layer = 0; layer < 2; ++layer) {
      EXPECT_LE((back.keys[layer] - block.keys[layer]).abs().max().item<double>(), 1e-6);
      EXPECT_LE((back.values[layer] - block.values[layer]).abs().max().item<double>(), 1e-6);
    }
  }
}

TEST(Quantizer, Bf16BlocksComeBackInTheAskedDtype) {
  const KvBlock block = random_block(2, 2, 30, 32, torch::kBFloat16, torch::kCPU, 5);
  const QuantizedBlock q = quantize_block(block, {});
  EXPECT_EQ(q.source_dtype, torch::kBFloat16);
  const KvBlock back = dequantize_block(q, torch::kCPU, torch::kBFloat16);
  EXPECT_EQ(back.keys[1].scalar_type(), torch::kBFloat16);
  const KvBlock back32 = dequantize_block(q, torch::kCPU, torch::kFloat32);
  EXPECT_LE(bound_excess(block.keys, back32.keys, key_bounds(q)), 0.0);
}

TEST(Quantizer, TypedErrors) {
  const KvBlock block = random_block(2, 2, 10, 16, torch::kFloat32, torch::kCPU, 9);
  QuantizationSettings bad;
  bad.key_bits = 3;
  EXPECT_THROW(quantize_block(block, bad), QuantizationError);
  bad = {};
  bad.value_bits = 16;
  EXPECT_THROW(quantize_block(block, bad), QuantizationError);
  bad = {};
  bad.group_size = 0;
  EXPECT_THROW(quantize_block(block, bad), QuantizationError);

  KvBlock mixed = block;
  mixed.keys[1] = torch::randn({2, 11, 16});
  EXPECT_THROW(quantize_block(mixed, {}), QuantizationError);
  KvBlock empty;
  EXPECT_THROW(quantize_block(empty, {}), QuantizationError);

  KvBlock non_finite = block;
  non_finite.values[0] = non_finite.values[0].clone();
  non_finite.values[0][1][2][3] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_THROW(quantize_block(non_finite, {}), QuantizationError);

  KvBlock huge = block;
  huge.keys[0] = huge.keys[0] * 1e5;
  EXPECT_THROW(quantize_block(huge, {}), QuantizationError);  // beyond fp16 scales
  QuantizationSettings wide;
  wide.scale_dtype = ScaleDtype::kFloat32;
  const QuantizedBlock q = quantize_block(huge, wide);
  const KvBlock back = dequantize_block(q, torch::kCPU, torch::kFloat32);
  EXPECT_LE(bound_excess(huge.keys, back.keys, key_bounds(q)), 0.0);
}

// Keys (pre-RoPE) and values the tiny Qwen2 fixture computes for a 200-token prompt.
KvBlock fixture_block() {
  const std::string dir = std::string(VIGIL_FIXTURES) + "/qwen2_gqa3_untied";
  const llm::Checkpoint checkpoint = llm::Checkpoint::open(dir);
  const llm::Qwen2Config config = llm::qwen2_config_of_checkpoint(checkpoint.config(), dir);
  const auto model = llm::Qwen2Model::load(checkpoint, config, torch::kCPU, torch::kFloat32);
  torch::manual_seed(2024);
  const int64_t tokens = 200;
  const torch::Tensor ids = torch::randint(0, config.vocab_size, {tokens}, torch::kInt64);
  llm::ContiguousKvCache cache(static_cast<int>(config.num_layers));
  model->forward(model->embed(ids), torch::arange(tokens, torch::kInt64), cache);
  KvBlock block;
  block.frame_tokens = tokens;
  block.token_offsets = torch::arange(tokens, torch::kInt64);
  for (int layer = 0; layer < config.num_layers; ++layer) {
    const llm::KvView view = cache.view(layer);
    block.keys.push_back(view.keys.clone());
    block.values.push_back(view.values.clone());
  }
  compute_summary_keys(block);
  return block;
}

// Relative Frobenius errors ||x - x̂|| / ||x|| measured on fixture_block() (docs/memory.md);
// the test allows 25% above them, so a change that makes quantization worse fails.
struct MeasuredError {
  int bits;
  double keys;
  double values;
};
constexpr MeasuredError kMeasured[] = {
    {8, 0.00456, 0.00396},
    {4, 0.0754, 0.0653},
    {2, 0.376, 0.327},
};

TEST(QuantizerFixture, RelativeErrorOfQwen2KeysAndValues) {
  const KvBlock block = fixture_block();
  ASSERT_EQ(block.layers(), 2);
  ASSERT_EQ(block.keys[0].sizes(), (std::vector<int64_t>{2, 200, 16}));
  for (const MeasuredError& measured : kMeasured) {
    QuantizationSettings settings;
    settings.key_bits = settings.value_bits = measured.bits;
    const QuantizedBlock q = quantize_block(block, settings);
    const KvBlock back = dequantize_block(q, torch::kCPU, torch::kFloat32);
    const double keys = relative_error(block.keys, back.keys);
    const double values = relative_error(block.values, back.values);
    std::printf(
        "fixture qwen2_gqa3_untied, %d bits, group 32, fp16 scales: relative error "
        "K %.5f V %.5f, %lld bytes (fp32 %lld)\n",
        measured.bits, keys, values, static_cast<long long>(q.kv_bytes()),
        static_cast<long long>(block.kv_bytes()));
    EXPECT_LE(bound_excess(block.keys, back.keys, key_bounds(q)), 0.0);
    EXPECT_LE(bound_excess(block.values, back.values, value_bounds(q)), 0.0);
    EXPECT_LE(keys, measured.keys * 1.25) << measured.bits << " bits";
    EXPECT_LE(values, measured.values * 1.25) << measured.bits << " bits";
  }
}

}  // namespace
}  // namespace vigil::memory

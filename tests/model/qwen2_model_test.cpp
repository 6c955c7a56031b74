// The Qwen2 decoder against transformers 5.17 fixtures (CPU fp32): logits within 1e-4 of the
// largest logit, identical 32-token greedy continuations, token-by-token decoding equal to a
// full forward, and RoPE applied at use (keys stored before rotation).
#include "llm/qwen2_model.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <optional>
#include <utility>

#include "llm/batch_decoder.h"
#include "llm/checkpoint.h"
#include "llm/kv_cache.h"
#include "llm/safetensors_file.h"
#include "llm/torch_compat.h"
#include "llm/torch_tensors.h"
#include "tests/model/forwarding_kv_cache.h"

namespace vigil::llm {
namespace {

const std::string kFixtures = VIGIL_FIXTURES;

struct Fixture {
  std::unique_ptr<Qwen2Model> model;
  torch::Tensor input_ids;   // [L]
  torch::Tensor logits;      // [L, V]
  torch::Tensor greedy_ids;  // [L + 32]
};

Fixture load_fixture(const std::string& name) {
  const std::string dir = kFixtures + "/" + name;
  const Checkpoint checkpoint = Checkpoint::open(dir);
  Fixture fixture;
  fixture.model = Qwen2Model::load(checkpoint, qwen2_config_of_checkpoint(checkpoint.config(), dir),
                                   torch::kCPU, torch::kFloat32);
  const SafetensorsFile reference = SafetensorsFile::open(dir + "/reference.safetensors");
  const auto tensor = [&](const char* key, torch::ScalarType type) {
    return to_torch(reference.tensor(key), torch::kCPU, type).clone().squeeze(0);
  };
  fixture.input_ids = tensor("input_ids", torch::kInt64);
  fixture.logits = tensor("logits", torch::kFloat32);
  fixture.greedy_ids = tensor("greedy_ids", torch::kInt64);
  return fixture;
}

torch::Tensor full_logits(const Qwen2Model& model, const torch::Tensor& ids,
                          int64_t first_position) {
  ContiguousKvCache cache(static_cast<int>(model.config().num_layers));
  const torch::Tensor positions = torch::arange(first_position, first_position + ids.size(0));
  return model.logits(model.forward(model.embed(ids), positions, cache));
}

double relative_error(const torch::Tensor& ours, const torch::Tensor& reference) {
  return (ours - reference).abs().max().item<double>() / reference.abs().max().item<double>();
}

class Qwen2Fixture : public ::testing::TestWithParam<std::string> {};

TEST_P(Qwen2Fixture, LogitsMatchTransformers) {
  const Fixture fixture = load_fixture(GetParam());
  const torch::Tensor logits = full_logits(*fixture.model, fixture.input_ids, 0);
  ASSERT_EQ(logits.sizes(), fixture.logits.sizes());
  EXPECT_LE(relative_error(logits, fixture.logits), 1e-4);
}

TEST_P(Qwen2Fixture, GreedyContinuationIsIdenticalAndCachedDecodingEqualsFullForward) {
  const Fixture fixture = load_fixture(GetParam());
  const Qwen2Model& model = *fixture.model;
  ContiguousKvCache cache(static_cast<int>(model.config().num_layers));
  const int64_t prompt = fixture.input_ids.size(0);
  torch::Tensor last = model.logits(
      model.forward(model.embed(fixture.input_ids), torch::arange(prompt), cache))[prompt - 1];
  std::vector<int64_t> ids(fixture.input_ids.data_ptr<int64_t>(),
                           fixture.input_ids.data_ptr<int64_t>() + prompt);
  std::vector<torch::Tensor> step_logits;
  for (int step = 0; step < 32; ++step) {
    const int64_t next = last.argmax().item<int64_t>();
    ids.push_back(next);
    const torch::Tensor token = torch::tensor({next});
    last = model.logits(model.forward(
        model.embed(token), torch::tensor({static_cast<int64_t>(ids.size()) - 1}), cache))[0];
    step_logits.push_back(last);
  }
  const torch::Tensor ours = torch::tensor(ids);
  EXPECT_TRUE(torch::equal(ours, fixture.greedy_ids))
      << "ours " << ours << "\nreference " << fixture.greedy_ids;
  // The same tokens in one full forward give the same logits as the cached steps.
  const torch::Tensor full = full_logits(model, ours, 0);
  const torch::Tensor cached = torch::stack(step_logits);  // logits at positions prompt..prompt+31
  EXPECT_LE(relative_error(cached, full.narrow(0, prompt, 32)), 1e-5);
  EXPECT_EQ(cache.length(), prompt + 32);
}

TEST_P(Qwen2Fixture, RopeIsAppliedAtUseSoOnlyRelativePositionsMatter) {
  const Fixture fixture = load_fixture(GetParam());
  const torch::Tensor at_zero = full_logits(*fixture.model, fixture.input_ids, 0);
  const torch::Tensor shifted = full_logits(*fixture.model, fixture.input_ids, 1000);
  EXPECT_LE(relative_error(shifted, at_zero), 1e-4);
  // And keys re-positioned in the cache: a prompt cached at positions 0.. then queried from
  // position 5000 with its cached keys moved along gives the same next-token logits.
  const Qwen2Model& model = *fixture.model;
  const int64_t n = fixture.input_ids.size(0);
  ContiguousKvCache moved(static_cast<int>(model.config().num_layers));
  ContiguousKvCache reference(static_cast<int>(model.config().num_layers));
  const torch::Tensor head = fixture.input_ids.narrow(0, 0, n - 1);
  const torch::Tensor tail = fixture.input_ids.narrow(0, n - 1, 1);
  model.forward(model.embed(head), torch::arange(n - 1), reference);
  const torch::Tensor expected =
      model.logits(model.forward(model.embed(tail), torch::tensor({n - 1}), reference));
  model.forward(model.embed(head), torch::arange(n - 1), moved);
  // Re-pack: same pre-RoPE keys, new positions 5000.. (what memory/ does with blocks).
  ContiguousKvCache repacked(static_cast<int>(model.config().num_layers));
  for (int layer = 0; layer < model.config().num_layers; ++layer) {
    const KvView view = moved.view(layer);
    repacked.append(layer, view.keys, view.values, view.positions + 5000);
  }
  const torch::Tensor actual =
      model.logits(model.forward(model.embed(tail), torch::tensor({5000 + n - 1}), repacked));
  EXPECT_LE(relative_error(actual, expected), 1e-4);
}

TEST_P(Qwen2Fixture, PromptAfterCachedTokensEqualsOnePromptOnAnEmptyCache) {
  // Two chunks: the second runs the masked path (new tokens against cached ones), the single
  // prompt the causal path without a mask; positions out of order take the masked path too.
  const Fixture fixture = load_fixture(GetParam());
  const Qwen2Model& model = *fixture.model;
  const int64_t n = fixture.input_ids.size(0);
  const int64_t first = n / 2;
  ContiguousKvCache cache(static_cast<int>(model.config().num_layers));
  model.forward(model.embed(fixture.input_ids.narrow(0, 0, first)), torch::arange(first), cache);
  const torch::Tensor second = model.logits(model.forward(
      model.embed(fixture.input_ids.narrow(0, first, n - first)), torch::arange(first, n), cache));
  const torch::Tensor whole = full_logits(model, fixture.input_ids, 0);
  EXPECT_LE(relative_error(second, whole.narrow(0, first, n - first)), 1e-5);

  // Reversed order of the same tokens with their positions: each row must equal the row of
  // the in-order forward at that position.
  ContiguousKvCache reversed_cache(static_cast<int>(model.config().num_layers));
  const torch::Tensor order = torch::arange(n - 1, -1, -1);
  const torch::Tensor reversed = model.logits(
      model.forward(model.embed(fixture.input_ids.index_select(0, order)), order, reversed_cache));
  EXPECT_LE(relative_error(reversed, whole.index_select(0, order)), 1e-5);
}

// A ContiguousKvCache that vouches for its order the way the streaming and answer caches do
// (KvCache::ordered_end): its tokens came at consecutive positions from 0.
class OrderedKvCache final : public ForwardingKvCache {
 public:
  using ForwardingKvCache::ForwardingKvCache;
  std::optional<int64_t> ordered_end() const override { return length(); }
};

// Logits of the fixture's second half, prefilled after its first half in `cache`, then of one
// more token after them.
template <typename Cache>
std::pair<torch::Tensor, torch::Tensor> chunked_logits(const Qwen2Model& model,
                                                       const torch::Tensor& ids) {
  const torch::Device device = model.device();
  const int64_t n = ids.size(0);
  const int64_t first = n / 2;
  Cache cache(static_cast<int>(model.config().num_layers));
  const auto run = [&](int64_t begin, int64_t end) {
    return model.logits(model.forward(model.embed(ids.narrow(0, begin, end - begin).to(device)),
                                      torch::arange(begin, end).to(device), cache));
  };
  run(0, first);
  const torch::Tensor second = run(first, n - 1).cpu();
  return {second, run(n - 1, n).cpu()};
}

TEST_P(Qwen2Fixture, TokensAfterAnOrderedCacheAttendWithoutAMask) {
  // With a cache that vouches for its order, new tokens after it take the unmasked paths
  // (one fused kernel on CUDA; the CPU keeps the explicit mask, and one token skips the check
  // against the cache): the logits equal those of the same chunks without the promise.
  const Fixture fixture = load_fixture(GetParam());
  const auto [ordered_second, ordered_last] =
      chunked_logits<OrderedKvCache>(*fixture.model, fixture.input_ids);
  const auto [masked_second, masked_last] =
      chunked_logits<ContiguousKvCache>(*fixture.model, fixture.input_ids);
  EXPECT_LE(relative_error(ordered_second, masked_second), 1e-6);
  EXPECT_LE(relative_error(ordered_last, masked_last), 1e-6);
  const int64_t n = fixture.input_ids.size(0);
  EXPECT_LE(relative_error(ordered_second, fixture.logits.narrow(0, n / 2, n - 1 - n / 2)), 1e-4);
}

TEST_P(Qwen2Fixture, OnCudaTheBottomRightCausalKernelAgreesWithTheMaskedPath) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  const std::string dir = kFixtures + "/" + GetParam();
  const Checkpoint checkpoint = Checkpoint::open(dir);
  const std::unique_ptr<Qwen2Model> model =
      Qwen2Model::load(checkpoint, qwen2_config_of_checkpoint(checkpoint.config(), dir),
                       torch::kCUDA, torch::kBFloat16);
  const Fixture fixture = load_fixture(GetParam());
  const auto [ordered_second, ordered_last] =
      chunked_logits<OrderedKvCache>(*model, fixture.input_ids);
  const auto [masked_second, masked_last] =
      chunked_logits<ContiguousKvCache>(*model, fixture.input_ids);
  // bf16 kernels with different score precisions: transformers' CUDA parity bound.
  EXPECT_LE(relative_error(ordered_second, masked_second), 2e-2);
  EXPECT_LE(relative_error(ordered_last, masked_last), 2e-2);
}

TEST(CausalSuffixAttention, MatchesAnExplicitBottomRightMaskOnCudaAndDeclinesTheCpu) {
  const auto make = [](int64_t heads, int64_t tokens, int64_t head_dim, torch::Device device) {
    // [tokens, heads, head_dim] as a view of a [heads, capacity, head_dim] buffer, the way a
    // cache's layer is laid out.
    return torch::randn({heads, tokens + 7, head_dim}, torch::dtype(torch::kFloat32))
        .to(device, torch::kBFloat16)
        .narrow(1, 3, tokens)
        .transpose(0, 1);
  };
  torch::manual_seed(3);
  const int64_t heads = 28, kv_heads = 4, head_dim = 128;
  if (!torch::cuda::is_available()) {
    const torch::Tensor q = make(heads, 5, head_dim, torch::kCPU);
    const torch::Tensor k = make(kv_heads, 9, head_dim, torch::kCPU);
    EXPECT_FALSE(compat::causal_suffix_attention(q, k, k, 0.1).defined());
    return;
  }
  for (const int64_t n : {1, 37, 300}) {
    const int64_t context = n + 500;
    const torch::Tensor q = make(heads, n, head_dim, torch::kCUDA);
    const torch::Tensor k = make(kv_heads, context, head_dim, torch::kCUDA);
    const torch::Tensor v = make(kv_heads, context, head_dim, torch::kCUDA);
    const double scale = 1.0 / std::sqrt(static_cast<double>(head_dim));
    const torch::Tensor out = compat::causal_suffix_attention(q, k, v, scale);
    ASSERT_TRUE(out.defined()) << "the fused kernel declined " << n << " tokens";
    // fp32 reference: query i (of n) sees keys 0 .. context - n + i.
    const int64_t group = heads / kv_heads;
    const torch::Tensor q32 = q.to(torch::kFloat32).transpose(0, 1);  // [H, n, D]
    const torch::Tensor k32 = k.to(torch::kFloat32).transpose(0, 1).repeat_interleave(group, 0);
    const torch::Tensor v32 = v.to(torch::kFloat32).transpose(0, 1).repeat_interleave(group, 0);
    const torch::Tensor rows = torch::arange(n, torch::kCUDA).unsqueeze(1);
    const torch::Tensor cols = torch::arange(context, torch::kCUDA).unsqueeze(0);
    const torch::Tensor scores = torch::matmul(q32, k32.transpose(1, 2)) * scale;
    const torch::Tensor expected =
        torch::matmul(torch::softmax(scores.masked_fill(cols > rows + (context - n),
                                                        -std::numeric_limits<float>::infinity()),
                                     -1),
                      v32)
            .transpose(0, 1);
    EXPECT_LE(relative_error(out.to(torch::kFloat32), expected), 2e-2) << n << " tokens";
    // The mask's alignment matters: the top-left one gives other rows.
    if (n > 1) {
      const torch::Tensor top_left =
          torch::matmul(
              torch::softmax(
                  scores.masked_fill(cols > rows, -std::numeric_limits<float>::infinity()), -1),
              v32)
              .transpose(0, 1);
      EXPECT_GT(relative_error(out.to(torch::kFloat32), top_left), 0.1) << n << " tokens";
    }
  }
}

TEST_P(Qwen2Fixture, BatchDecodingEqualsEachSequenceDecodedAlone) {
  // Three rows with contexts of different lengths decoded together for 6 steps give the same
  // logits as each sequence decoded on its own cache.
  const Fixture fixture = load_fixture(GetParam());
  const Qwen2Model& model = *fixture.model;
  const int layers = static_cast<int>(model.config().num_layers);
  const int64_t n = fixture.input_ids.size(0);
  const std::vector<int64_t> context_lengths = {n, n - 3, 2};
  const int64_t steps = 6;
  BatchDecoder decoder(model, 3, n + steps, /*use_cuda_graph=*/true);
  std::vector<ContiguousKvCache> alone;
  for (size_t row = 0; row < context_lengths.size(); ++row) {
    alone.emplace_back(layers);
    const int64_t length = context_lengths[row];
    model.forward(model.embed(fixture.input_ids.narrow(0, 0, length)), torch::arange(length),
                  alone.back());
    decoder.assign(static_cast<int64_t>(row), alone.back());
  }
  for (int64_t step = 0; step < steps; ++step) {
    const torch::Tensor ids = fixture.greedy_ids.narrow(0, n + step, 3).clone();  // any tokens
    const torch::Tensor batch_logits = decoder.step(ids);
    ASSERT_EQ(batch_logits.sizes(), (std::vector<int64_t>{3, model.config().vocab_size}));
    for (size_t row = 0; row < context_lengths.size(); ++row) {
      const torch::Tensor position = torch::tensor({context_lengths[row] + step});
      const torch::Tensor expected = model.logits(model.forward(
          model.embed(ids.narrow(0, static_cast<int64_t>(row), 1)), position, alone[row]));
      EXPECT_LE(relative_error(batch_logits[static_cast<int64_t>(row)], expected[0]), 1e-5)
          << "row " << row << " step " << step;
    }
  }
  EXPECT_FALSE(decoder.uses_cuda_graph());  // a CPU model never captures
  // Row 0 is now full: one more step is refused, not written past the end.
  EXPECT_THROW(decoder.step(torch::zeros({3}, torch::kInt64)), std::length_error);
  EXPECT_THROW(decoder.step(torch::zeros({2}, torch::kInt64)), std::invalid_argument);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, Qwen2Fixture,
                         ::testing::Values("qwen2_gqa3_untied", "qwen2_odd5_tied", "qwen2_bf16"));

}  // namespace
}  // namespace vigil::llm

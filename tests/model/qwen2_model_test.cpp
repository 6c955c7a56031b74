// The Qwen2 decoder against transformers 5.17 fixtures (CPU fp32): logits within 1e-4 of the
// largest logit, identical 32-token greedy continuations, token-by-token decoding equal to a
// full forward, and RoPE applied at use (keys stored before rotation).
#include "llm/qwen2_model.h"

#include <gtest/gtest.h>

#include "llm/batch_decoder.h"
#include "llm/checkpoint.h"
#include "llm/kv_cache.h"
#include "llm/safetensors_file.h"
#include "llm/torch_tensors.h"

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

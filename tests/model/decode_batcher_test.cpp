// Answers decoded together (DecodeBatcher) give the tokens each gives decoded alone, whatever
// the order they join and leave in, with more answers than rows; a context whose positions
// leave gaps (an answer from memory) decodes as on its own cache.
#include "llm/decode_batcher.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "llm/batch_decoder.h"
#include "llm/checkpoint.h"
#include "llm/generator.h"
#include "llm/kv_cache.h"
#include "llm/tokenizer.h"
#include "tests/model/forwarding_kv_cache.h"

namespace vigil::llm {
namespace {

const std::string kFixture = std::string(VIGIL_FIXTURES) + "/qwen2_gqa3_untied";

std::unique_ptr<Qwen2Model> load_model() {
  const Checkpoint checkpoint = Checkpoint::open(kFixture);
  return Qwen2Model::load(checkpoint, qwen2_config_of_checkpoint(checkpoint.config(), kFixture),
                          torch::kCPU, torch::kFloat32);
}

GenerationRequest request_for(int answer) {
  GenerationRequest request;
  for (int i = 0; i < 3 + 2 * answer; ++i) request.prompt_ids.push_back(100 + 37 * answer + 11 * i);
  request.max_tokens = 5 + 3 * answer;  // rows leave the batch at different steps
  return request;
}

TEST(DecodeBatcher, AnswersDecodedTogetherEqualEachDecodedAlone) {
  const auto model = load_model();
  const Tokenizer tokenizer = Tokenizer::load(kFixture + "/tokenizer.json");
  const int layers = static_cast<int>(model->config().num_layers);
  constexpr int kAnswers = 5;
  std::vector<std::vector<int32_t>> alone(kAnswers);
  for (int a = 0; a < kAnswers; ++a) {
    ContiguousKvCache cache(layers);
    alone[static_cast<size_t>(a)] =
        Generator(*model, tokenizer).generate(request_for(a), cache).ids;
    ASSERT_EQ(alone[static_cast<size_t>(a)].size(), static_cast<size_t>(request_for(a).max_tokens));
  }
  // Three rows for five answers: two wait for a row to come free.
  DecodeBatcher batcher(*model, /*rows=*/3, /*capacity=*/64, /*use_cuda_graph=*/true);
  std::vector<std::vector<int32_t>> together(kAnswers);
  std::vector<std::string> errors(kAnswers);
  std::vector<std::thread> threads;
  for (int a = 0; a < kAnswers; ++a) {
    threads.emplace_back([&, a] {
      try {
        torch::NoGradGuard no_grad;
        ContiguousKvCache cache(layers);
        together[static_cast<size_t>(a)] =
            Generator(*model, tokenizer, &batcher).generate(request_for(a), cache).ids;
      } catch (const std::exception& e) {
        errors[static_cast<size_t>(a)] = e.what();
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int a = 0; a < kAnswers; ++a) {
    EXPECT_EQ(errors[static_cast<size_t>(a)], "") << "answer " << a;
    EXPECT_EQ(together[static_cast<size_t>(a)], alone[static_cast<size_t>(a)]) << "answer " << a;
  }
  const DecodeBatcherCounters counters = batcher.counters();
  EXPECT_EQ(counters.joins, kAnswers);
  EXPECT_LE(counters.most_rows, 3);
  // Every answer's tokens after the first came from a step it shared or had alone.
  int64_t decoded = 0;
  for (int a = 0; a < kAnswers; ++a) decoded += request_for(a).max_tokens - 1;
  EXPECT_EQ(counters.rows_stepped, decoded);
}

TEST(DecodeBatcher, ContextsThatDoNotFitAreRefusedAndTheBatchGoesOn) {
  const auto model = load_model();
  const Tokenizer tokenizer = Tokenizer::load(kFixture + "/tokenizer.json");
  DecodeBatcher batcher(*model, /*rows=*/2, /*capacity=*/16, /*use_cuda_graph=*/false);
  EXPECT_TRUE(batcher.fits(10, 5));
  EXPECT_FALSE(batcher.fits(10, 6));
  // A generation too long for the rows decodes on its own cache (the Generator checks fits).
  GenerationRequest request = request_for(0);
  request.max_tokens = 20;
  ContiguousKvCache alone(static_cast<int>(model->config().num_layers));
  const std::vector<int32_t> expected = Generator(*model, tokenizer).generate(request, alone).ids;
  ContiguousKvCache cache(static_cast<int>(model->config().num_layers));
  EXPECT_EQ(Generator(*model, tokenizer, &batcher).generate(request, cache).ids, expected);
  EXPECT_EQ(batcher.counters().joins, 0);
  // Joining with a context of the whole capacity is refused with a clear error.
  ContiguousKvCache full(static_cast<int>(model->config().num_layers));
  model->forward(model->embed(torch::arange(16) + 5), torch::arange(16), full);
  EXPECT_THROW(batcher.join(full), std::invalid_argument);
  // ... and leaves the batch usable.
  ContiguousKvCache again(static_cast<int>(model->config().num_layers));
  EXPECT_EQ(Generator(*model, tokenizer, &batcher).generate(request_for(0), again).ids.size(), 5u);
  EXPECT_EQ(batcher.counters().joins, 1);
}

// A context whose length() is the position after its last token, as memory/'s answer cache
// reports it, while it holds fewer tokens (gaps between positions).
class PositionLengthCache final : public ForwardingKvCache {
 public:
  using ForwardingKvCache::ForwardingKvCache;
  int64_t length() const override {
    return inner().length() == 0 ? 0 : inner().view(0).positions.max().item<int64_t>() + 1;
  }
};

TEST(BatchKvCache, AContextWithGapsInItsPositionsDecodesAsOnItsOwnCache) {
  // Tokens at positions 0..3 and 9..12 (as an answer's context right-aligns retrieved blocks):
  // a row holds its 8 tokens and its next token goes at position 13.
  const auto model = load_model();
  const int layers = static_cast<int>(model->config().num_layers);
  PositionLengthCache cache(layers);
  const torch::Tensor ids = torch::arange(8) * 13 + 7;
  model->forward(model->embed(ids), torch::cat({torch::arange(4), torch::arange(9, 13)}), cache);
  ASSERT_EQ(cache.length(), 13);
  BatchDecoder decoder(*model, 2, 16, /*use_cuda_graph=*/false);
  decoder.assign(1, cache);
  decoder.set_active(0, false);
  const torch::Tensor next = torch::tensor({int64_t{0}, int64_t{42}});
  const torch::Tensor batch_logits = decoder.step(next)[1];
  const torch::Tensor expected =
      model->logits(model->forward(model->embed(next.narrow(0, 1, 1)), torch::tensor({13}), cache));
  EXPECT_LE((batch_logits - expected[0]).abs().max().item<double>(),
            1e-5 * expected.abs().max().item<double>());
  // The inactive row kept nothing; the active one holds 9 tokens.
  EXPECT_EQ(decoder.cache().lengths[0].item<int64_t>(), 0);
  EXPECT_EQ(decoder.cache().lengths[1].item<int64_t>(), 9);
}

}  // namespace
}  // namespace vigil::llm

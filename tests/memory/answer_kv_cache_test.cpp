// Answering from a stream's memory: with no token drop, no quantization, an encoder window
// that holds everything and every block retrieved, the question's logits equal a full-context
// forward (tiny Qwen2 fixture, CPU fp32), with the retrieved blocks fetched through the host
// and disk tiers; a block planted with keys that match the question is always retrieved, in
// time order; blocks outside a question's time window are never in its context; the encoder's
// window keeps window_tokens.
#include "memory/answer_kv_cache.h"

#include <gtest/gtest.h>

#include <map>

#include "llm/checkpoint.h"
#include "llm/qwen2_model.h"
#include "memory/stream_memory.h"
#include "tests/support/test_support.h"

namespace vigil::memory {
namespace {

const std::string kFixtures = VIGIL_FIXTURES;

std::unique_ptr<llm::Qwen2Model> load_model(const std::string& name) {
  const std::string dir = kFixtures + "/" + name;
  const llm::Checkpoint checkpoint = llm::Checkpoint::open(dir);
  return llm::Qwen2Model::load(checkpoint,
                               llm::qwen2_config_of_checkpoint(checkpoint.config(), dir),
                               torch::kCPU, torch::kFloat32);
}

double relative_error(const torch::Tensor& ours, const torch::Tensor& reference) {
  return (ours - reference).abs().max().item<double>() / reference.abs().max().item<double>();
}

SinkKv encode_sinks(const llm::Qwen2Model& model, const torch::Tensor& ids) {
  const int layers = static_cast<int>(model.config().num_layers);
  llm::ContiguousKvCache prompt(layers);
  model.forward(model.embed(ids), torch::arange(ids.size(0)), prompt);
  return SinkKv::capture(prompt, layers);
}

AttentionShape shape_of(const llm::Qwen2Model& model) {
  return {model.config().num_layers, model.config().num_heads, model.config().num_kv_heads,
          model.config().head_dim};
}

FrameInfo frame_info(int64_t index, int64_t tokens) {
  return {index, static_cast<double>(index), static_cast<double>(index + 1), tokens,
          torch::arange(tokens)};
}

struct ExactnessCase {
  std::string fixture;
  int64_t frames_per_forward;
  int64_t host_blocks;  // host budget in blocks (the rest spills to disk)
};

class AnswerExactness : public ::testing::TestWithParam<ExactnessCase> {};

TEST_P(AnswerExactness, LogitsEqualAFullContextForward) {
  const ExactnessCase param = GetParam();
  torch::manual_seed(11);
  const std::unique_ptr<llm::Qwen2Model> model = load_model(param.fixture);
  const llm::Qwen2Config& config = model->config();
  const int64_t vocab = config.vocab_size, hidden = config.hidden_size;
  const int64_t frames = 8, tokens_per_frame = 6;
  const torch::Tensor sink_ids = torch::randint(vocab, {7});
  const torch::Tensor question_ids = torch::randint(vocab, {5});
  // "Frames": random video-token embeddings at the scale of the token embeddings.
  const double scale = model->embed(torch::arange(vocab)).std().item<double>();
  const torch::Tensor video = torch::randn({frames * tokens_per_frame, hidden}) * scale;

  // Reference: one forward over [system prompt][frames][question] at positions 0..L-1.
  const torch::Tensor all = torch::cat({model->embed(sink_ids), video, model->embed(question_ids)});
  llm::ContiguousKvCache full(static_cast<int>(config.num_layers));
  const torch::Tensor expected =
      model->logits(model->forward(all, torch::arange(all.size(0)), full))
          .narrow(0, all.size(0) - question_ids.size(0), question_ids.size(0));

  testing::TempDir dir;
  StreamMemoryConfig memory_config;
  memory_config.streaming.window_tokens = 1 << 30;  // holds everything
  memory_config.tiers.quantize = false;
  memory_config.answer.retrieval.min_blocks = frames;  // k = every candidate
  memory_config.answer.retrieval.max_blocks = frames;
  memory_config.answer.recent_tokens = 2 * tokens_per_frame;  // the last 2 frames
  const int64_t block_bytes = 2 * config.num_layers * config.num_kv_heads * tokens_per_frame *
                              config.head_dim * static_cast<int64_t>(sizeof(float));
  memory_config.tiers.host_bytes = param.host_blocks * block_bytes;
  memory_config.tiers.gpu_bytes = 3 * block_bytes / config.num_layers;
  StreamMemory memory(encode_sinks(*model, sink_ids), shape_of(*model), memory_config, torch::kCPU,
                      torch::kFloat32, SegmentStore::open(dir.file("stream")));
  for (int64_t first = 0; first < frames; first += param.frames_per_forward) {
    std::vector<FrameInfo> chunk;
    for (int64_t f = first; f < std::min(frames, first + param.frames_per_forward); ++f) {
      chunk.push_back(frame_info(f, tokens_per_frame));
    }
    const int64_t tokens = static_cast<int64_t>(chunk.size()) * tokens_per_frame;
    model->forward(video.narrow(0, first * tokens_per_frame, tokens),
                   memory.encoder().frame_positions(chunk), memory.encoder());
    memory.commit_frames(chunk);
  }

  const std::unique_ptr<AnswerKvCache> answer = memory.answer_cache();
  ASSERT_EQ(answer->question_position(), sink_ids.size(0) + frames * tokens_per_frame);
  const int64_t q0 = answer->question_position();
  const torch::Tensor ours = model->logits(model->forward(
      model->embed(question_ids), torch::arange(q0, q0 + question_ids.size(0)), *answer));
  EXPECT_LE(relative_error(ours, expected), 1e-4);

  // Every layer retrieved every block before the recent two, in time order.
  EXPECT_EQ(answer->recent_blocks(), (std::vector<int64_t>{frames - 2, frames - 1}));
  for (const std::vector<ScoredBlock>& layer : answer->retrieved()) {
    ASSERT_EQ(static_cast<int64_t>(layer.size()), frames - 2);
    for (int64_t b = 0; b < frames - 2; ++b)
      EXPECT_EQ(layer[static_cast<size_t>(b)].block_index, b);
  }
  // Decoding continues at length(), still equal to the full forward.
  const torch::Tensor next = torch::tensor({static_cast<int64_t>(17)});
  const torch::Tensor step =
      model->logits(model->forward(model->embed(next), torch::tensor({answer->length()}), *answer));
  const torch::Tensor full_step =
      model->logits(model->forward(model->embed(next), torch::tensor({all.size(0)}), full));
  EXPECT_EQ(answer->length(), all.size(0) + 1);
  EXPECT_LE(relative_error(step, full_step), 1e-4);

  const TierCounters counters = memory.store().counters();
  EXPECT_EQ(counters.blocks_put, frames);
  if (param.host_blocks < frames) {
    EXPECT_GT(counters.disk_reads, 0);
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, AnswerExactness,
                         ::testing::Values(ExactnessCase{"qwen2_gqa3_untied", 1, 100},
                                           ExactnessCase{"qwen2_gqa3_untied", 3, 2},
                                           ExactnessCase{"llava_ov_tiny", 2, 3}),
                         [](const ::testing::TestParamInfo<ExactnessCase>& info) {
                           return std::to_string(info.index) + "_" +
                                  std::to_string(info.param.frames_per_forward) +
                                  "_frames_per_forward_host_" +
                                  std::to_string(info.param.host_blocks);
                         });

// The error the cold tiers' quantization adds to the answer's logits (everything else as in
// the exactness test: the retrieved blocks come back quantized, sinks and recent blocks exact).
TEST(AnswerQuantization, LogitErrorPerSettingIsMeasuredAndBounded) {
  torch::manual_seed(12);
  const std::unique_ptr<llm::Qwen2Model> model = load_model("qwen2_gqa3_untied");
  const llm::Qwen2Config& config = model->config();
  const int64_t frames = 8, tokens_per_frame = 40;
  const torch::Tensor sink_ids = torch::randint(config.vocab_size, {7});
  const torch::Tensor question_ids = torch::randint(config.vocab_size, {5});
  const double scale = model->embed(torch::arange(config.vocab_size)).std().item<double>();
  const torch::Tensor video = torch::randn({frames * tokens_per_frame, config.hidden_size}) * scale;
  const torch::Tensor all = torch::cat({model->embed(sink_ids), video, model->embed(question_ids)});
  llm::ContiguousKvCache full(static_cast<int>(config.num_layers));
  const torch::Tensor expected =
      model->logits(model->forward(all, torch::arange(all.size(0)), full))
          .narrow(0, all.size(0) - question_ids.size(0), question_ids.size(0));
  std::vector<double> errors;
  for (const int bits : {2, 4, 8}) {
    StreamMemoryConfig memory_config;
    memory_config.streaming.window_tokens = 1 << 30;
    memory_config.tiers.quantize = true;
    memory_config.tiers.quantization.key_bits = bits;
    memory_config.tiers.quantization.value_bits = bits;
    memory_config.answer.retrieval.min_blocks = frames;
    memory_config.answer.retrieval.max_blocks = frames;
    memory_config.answer.recent_tokens = 2 * tokens_per_frame;
    StreamMemory memory(encode_sinks(*model, sink_ids), shape_of(*model), memory_config,
                        torch::kCPU, torch::kFloat32, nullptr);
    std::vector<FrameInfo> chunk;
    for (int64_t f = 0; f < frames; ++f) chunk.push_back(frame_info(f, tokens_per_frame));
    model->forward(video, memory.encoder().frame_positions(chunk), memory.encoder());
    memory.commit_frames(chunk);
    const std::unique_ptr<AnswerKvCache> answer = memory.answer_cache();
    const int64_t q0 = answer->question_position();
    const torch::Tensor ours = model->logits(model->forward(
        model->embed(question_ids), torch::arange(q0, q0 + question_ids.size(0)), *answer));
    errors.push_back(relative_error(ours, expected));
    std::printf("[ logits    ] %d-bit KIVI (group 32) tiers: relative logit error %.2e\n", bits,
                errors.back());
  }
  EXPECT_GT(errors[0], errors[1]);  // fewer bits, more error
  EXPECT_GT(errors[1], errors[2]);
  EXPECT_LT(errors[2], 1e-2);
}

// Commits one block of random keys (or the given ones) through the encoder cache's API.
void commit_block(StreamMemory& memory, int64_t index, const std::vector<torch::Tensor>& keys) {
  StreamingKvCache& encoder = memory.encoder();
  const std::vector<FrameInfo> frame = {frame_info(index, keys.front().size(1))};
  const torch::Tensor positions = encoder.frame_positions(frame);
  for (size_t l = 0; l < keys.size(); ++l) {
    encoder.append(static_cast<int>(l), keys[l], torch::randn_like(keys[l]), positions);
  }
  memory.commit_frames(frame);
}

TEST(AnswerRetrieval, APlantedBlockIsAlwaysRetrievedInTimeOrder) {
  constexpr int64_t kLayers = 2, kKvHeads = 2, kHeads = 4, kHeadDim = 16, kTokens = 8;
  for (const BlockMetric metric : {BlockMetric::kInnerProduct, BlockMetric::kCosine}) {
    for (int trial = 0; trial < 10; ++trial) {
      torch::manual_seed(100 + trial);
      SinkKv sinks;
      for (int64_t l = 0; l < kLayers; ++l) {
        sinks.keys.push_back(torch::randn({kKvHeads, 4, kHeadDim}));
        sinks.values.push_back(torch::randn({kKvHeads, 4, kHeadDim}));
      }
      StreamMemoryConfig config;
      config.streaming.window_tokens = 4 * kTokens;
      config.tiers.quantize = true;  // retrieval must not depend on the tiers' form
      config.answer.retrieval = {4, 16, 0.5, metric};
      config.answer.recent_tokens = 2 * kTokens;
      StreamMemory memory(std::move(sinks), {kLayers, kHeads, kKvHeads, kHeadDim}, config,
                          torch::kCPU, torch::kFloat32, nullptr);
      // The question's queries per layer: one direction per head, plus noise per token.
      std::vector<torch::Tensor> directions;  // [kHeads, kHeadDim] per layer
      for (int64_t l = 0; l < kLayers; ++l) directions.push_back(torch::randn({kHeads, kHeadDim}));
      const int64_t blocks = 120;
      const std::vector<int64_t> planted = {17 + trial, 60, 101 - trial};
      for (int64_t b = 0; b < blocks; ++b) {
        std::vector<torch::Tensor> keys;
        for (int64_t l = 0; l < kLayers; ++l) {
          torch::Tensor k = torch::randn({kKvHeads, kTokens, kHeadDim});
          if (std::find(planted.begin(), planted.end(), b) != planted.end()) {
            // Each key head points along its query heads' mean direction.
            const torch::Tensor group =
                directions[l].view({kKvHeads, kHeads / kKvHeads, kHeadDim}).mean(1).unsqueeze(1);
            k = k * 0.3 + group * 4.0;
          }
          keys.push_back(k);
        }
        commit_block(memory, b, keys);
      }
      const std::unique_ptr<AnswerKvCache> answer = memory.answer_cache();
      for (int l = 0; l < kLayers; ++l) {
        const torch::Tensor queries = directions[static_cast<size_t>(l)].unsqueeze(1) +
                                      torch::randn({kHeads, 5, kHeadDim}) * 0.3;
        answer->observe_queries(l, queries);
        const std::vector<ScoredBlock>& got = answer->retrieved()[static_cast<size_t>(l)];
        ASSERT_GE(got.size(), 4u);
        ASSERT_LE(got.size(), 16u);
        for (const int64_t p : planted) {
          EXPECT_TRUE(std::any_of(got.begin(), got.end(),
                                  [&](const ScoredBlock& s) { return s.block_index == p; }))
              << "trial " << trial << " layer " << l << " planted " << p;
        }
        for (size_t i = 1; i < got.size(); ++i) {
          EXPECT_LT(got[i - 1].block_index, got[i].block_index);
        }
        for (const ScoredBlock& s : got) EXPECT_LT(s.block_index, blocks - 2);  // not recent
        // The context: sinks, the retrieved blocks' tokens, the recent blocks' tokens.
        const llm::KvView view = answer->view(l);
        EXPECT_EQ(view.keys.size(1), 4 + static_cast<int64_t>(got.size()) * kTokens + 2 * kTokens);
        const torch::Tensor positions = view.positions;
        EXPECT_TRUE(torch::equal(
            positions.narrow(0, positions.size(0) - 2 * kTokens, 2 * kTokens),
            torch::arange(answer->question_position() - 2 * kTokens, answer->question_position())));
      }
    }
  }
}

TEST(AnswerRetrieval, BlocksOutsideTheTimeWindowAreNeverRetrieved) {
  constexpr int64_t kLayers = 2, kKvHeads = 2, kHeads = 4, kHeadDim = 16, kTokens = 8;
  torch::manual_seed(7);
  SinkKv sinks;
  for (int64_t l = 0; l < kLayers; ++l) {
    sinks.keys.push_back(torch::randn({kKvHeads, 4, kHeadDim}));
    sinks.values.push_back(torch::randn({kKvHeads, 4, kHeadDim}));
  }
  StreamMemoryConfig config;
  config.streaming.window_tokens = 4 * kTokens;
  config.answer.retrieval = {4, 64, 1.0, BlockMetric::kInnerProduct};  // every candidate
  config.answer.recent_tokens = 2 * kTokens;
  StreamMemory memory(std::move(sinks), {kLayers, kHeads, kKvHeads, kHeadDim}, config, torch::kCPU,
                      torch::kFloat32, nullptr);
  std::vector<torch::Tensor> directions;
  for (int64_t l = 0; l < kLayers; ++l) directions.push_back(torch::randn({kHeads, kHeadDim}));
  // Blocks matching the question everywhere, most of them outside the window.
  const std::vector<int64_t> planted = {5, 12, 33, 47, 90, 110, 119};
  for (int64_t b = 0; b < 120; ++b) {  // block b shows [b, b + 1) s
    std::vector<torch::Tensor> keys;
    for (int64_t l = 0; l < kLayers; ++l) {
      torch::Tensor k = torch::randn({kKvHeads, kTokens, kHeadDim});
      if (std::find(planted.begin(), planted.end(), b) != planted.end()) {
        const torch::Tensor group =
            directions[l].view({kKvHeads, kHeads / kKvHeads, kHeadDim}).mean(1).unsqueeze(1);
        k = k * 0.3 + group * 4.0;
      }
      keys.push_back(k);
    }
    commit_block(memory, b, keys);
  }
  // A window in the past: no block of it is in the encoder's window, so none is "recent";
  // every one of its blocks is a candidate, and only they.
  AnswerConfig past = config.answer;
  past.window = {30.0, 49.5};  // blocks 30..49
  const std::unique_ptr<AnswerKvCache> answer = memory.answer_cache(past);
  EXPECT_TRUE(answer->recent_blocks().empty());
  for (int l = 0; l < kLayers; ++l) {
    const torch::Tensor queries =
        directions[static_cast<size_t>(l)].unsqueeze(1) + torch::randn({kHeads, 5, kHeadDim}) * 0.3;
    answer->observe_queries(l, queries);
    const std::vector<ScoredBlock>& got = answer->retrieved()[static_cast<size_t>(l)];
    ASSERT_EQ(got.size(), 20u);
    for (const ScoredBlock& block : got) {
      EXPECT_GE(block.block_index, 30);
      EXPECT_LT(block.block_index, 50);
    }
    EXPECT_EQ(answer->view(l).keys.size(1), 4 + 20 * kTokens);
  }
  // A window reaching the present: its newest blocks are the recent ones, the rest retrieved.
  AnswerConfig present = config.answer;
  present.window = {100.0, 1000.0};
  const std::unique_ptr<AnswerKvCache> recent = memory.answer_cache(present);
  EXPECT_EQ(recent->recent_blocks(), std::vector<int64_t>({118, 119}));
  recent->observe_queries(0, directions[0].unsqueeze(1).expand({kHeads, 5, kHeadDim}));
  ASSERT_EQ(recent->retrieved()[0].size(), 18u);  // 100..117
  for (const ScoredBlock& block : recent->retrieved()[0]) {
    EXPECT_GE(block.block_index, 100);
    EXPECT_LT(block.block_index, 118);
  }
  // Without a window the planted blocks everywhere are candidates again.
  const std::unique_ptr<AnswerKvCache> whole = memory.answer_cache();
  EXPECT_EQ(whole->recent_blocks(), std::vector<int64_t>({118, 119}));
  whole->observe_queries(0, directions[0].unsqueeze(1).expand({kHeads, 5, kHeadDim}));
  EXPECT_EQ(whole->retrieved()[0].size(), 64u);
}

TEST(StreamingKvCache, TheWindowKeepsTheNewestBlocksWithinItsTokensAndRepacksPositions) {
  constexpr int64_t kLayers = 1, kKvHeads = 1, kHeadDim = 4;
  SinkKv sinks;
  sinks.keys.push_back(torch::randn({kKvHeads, 3, kHeadDim}));
  sinks.values.push_back(torch::randn({kKvHeads, 3, kHeadDim}));
  StreamingKvCache cache(std::move(sinks), {/*window_tokens=*/10, PositionLayout::kPacked});
  for (int64_t f = 0; f < 6; ++f) {
    const std::vector<FrameInfo> frame = {frame_info(f, 4)};
    const torch::Tensor positions = cache.frame_positions(frame);
    EXPECT_EQ(positions[0].item<int64_t>(), cache.next_position());
    cache.append(0, torch::randn({kKvHeads, 4, kHeadDim}), torch::randn({kKvHeads, 4, kHeadDim}),
                 positions);
    EXPECT_EQ(cache.view(0).keys.size(1), 3 + cache.counters().window_tokens + 4);
    const std::vector<KvBlock> blocks = cache.commit_frames(frame);
    ASSERT_EQ(blocks.size(), 1u);
    EXPECT_EQ(blocks[0].summary_keys.sizes(), (std::vector<int64_t>{kLayers, kKvHeads, kHeadDim}));
    EXPECT_LE(cache.counters().window_tokens, 10);
  }
  EXPECT_EQ(cache.window().size(), 2u);
  EXPECT_EQ(cache.window().front().index, 4);
  EXPECT_TRUE(torch::equal(cache.view(0).positions, torch::arange(11)));
  EXPECT_EQ(cache.counters().blocks_left_window, 4);
}

TEST(StreamingKvCache, FrameGapPositionsFollowTheWindowAsBlocksLeaveIt) {
  // Frames of 6 tokens keeping offsets {1, 4} (2 tokens, span 6) under the frame-gaps layout;
  // the window holds 4 tokens (2 blocks). Each view's positions are the sinks', then each
  // window block's from its span's first position plus its offsets, then the held tokens'.
  constexpr int64_t kKvHeads = 1, kHeadDim = 4;
  SinkKv sinks;
  sinks.keys.push_back(torch::randn({kKvHeads, 3, kHeadDim}));
  sinks.values.push_back(torch::randn({kKvHeads, 3, kHeadDim}));
  StreamingKvCache cache(std::move(sinks), {/*window_tokens=*/4, PositionLayout::kFrameGaps});
  for (int64_t f = 0; f < 5; ++f) {
    const std::vector<FrameInfo> frame = {
        {f, static_cast<double>(f), static_cast<double>(f + 1), 6, torch::tensor({1, 4})}};
    const torch::Tensor positions = cache.frame_positions(frame);
    const int64_t first = cache.next_position();
    EXPECT_TRUE(torch::equal(positions, torch::tensor({first + 1, first + 4})));
    cache.append(0, torch::randn({kKvHeads, 2, kHeadDim}), torch::randn({kKvHeads, 2, kHeadDim}),
                 positions);
    std::vector<int64_t> expected = {0, 1, 2};
    for (size_t b = 0; b < cache.window().size(); ++b) {
      const int64_t start = 3 + 6 * static_cast<int64_t>(b);
      expected.insert(expected.end(), {start + 1, start + 4});
    }
    expected.insert(expected.end(), {first + 1, first + 4});
    // Asked twice (as every layer asks): the same positions.
    EXPECT_TRUE(torch::equal(cache.view(0).positions, torch::tensor(expected))) << "frame " << f;
    EXPECT_TRUE(torch::equal(cache.view(0).positions, torch::tensor(expected))) << "frame " << f;
    cache.commit_frames(frame);
  }
  EXPECT_EQ(cache.window().size(), 2u);
  EXPECT_EQ(cache.window().front().index, 3);
  EXPECT_TRUE(torch::equal(cache.view(0).positions, torch::tensor({0, 1, 2, 4, 7, 10, 13})));
}

TEST(StreamingKvCache, ViewsEqualTheSinksTheWindowAndTheHeldTokensThroughManyMovesOfTheBuffer) {
  // Frames of 1 to 9 tokens, sometimes two forwards before a commit, through a window of 40
  // tokens: the blocks leave it often and the buffer moves every few frames. Every view of
  // every layer must be the sinks, the window's blocks and the held tokens as appended, at the
  // packed positions, and every window block must still hold what was appended for it, as a
  // view of the buffer the cache uses now.
  constexpr int64_t kLayers = 3, kKvHeads = 2, kHeadDim = 4, kSinks = 5;
  torch::manual_seed(7);
  SinkKv sinks;
  for (int64_t l = 0; l < kLayers; ++l) {
    sinks.keys.push_back(torch::randn({kKvHeads, kSinks, kHeadDim}));
    sinks.values.push_back(torch::randn({kKvHeads, kSinks, kHeadDim}));
  }
  const SinkKv reference_sinks = sinks;
  StreamingKvCache cache(std::move(sinks), {/*window_tokens=*/40, PositionLayout::kPacked});
  struct Appended {
    std::vector<torch::Tensor> keys, values;  // per layer
  };
  std::map<int64_t, Appended> appended;  // per frame index
  int64_t frame = 0;
  for (int64_t step = 0; step < 60; ++step) {
    const int64_t forwards = step % 3 == 0 ? 2 : 1;
    std::vector<FrameInfo> frames;
    std::vector<Appended> held(kLayers);
    for (int64_t pass = 0; pass < forwards; ++pass, ++frame) {
      const int64_t tokens = 1 + (frame * 5) % 9;
      const std::vector<FrameInfo> one = {frame_info(frame, tokens)};
      // A second forward's frames come after the first's, which the cache still holds.
      std::vector<FrameInfo> so_far = frames;
      so_far.push_back(one.front());
      const torch::Tensor positions = cache.frame_positions(so_far).narrow(0, -tokens, tokens);
      Appended& mine = appended[frame];
      for (int64_t l = 0; l < kLayers; ++l) {
        mine.keys.push_back(torch::randn({kKvHeads, tokens, kHeadDim}));
        mine.values.push_back(torch::randn({kKvHeads, tokens, kHeadDim}));
        cache.append(static_cast<int>(l), mine.keys.back(), mine.values.back(), positions);
        held[static_cast<size_t>(l)].keys.push_back(mine.keys.back());
        held[static_cast<size_t>(l)].values.push_back(mine.values.back());
        // The reference view: sinks, window blocks, held tokens, positions 0, 1, ...
        std::vector<torch::Tensor> keys = {reference_sinks.keys[static_cast<size_t>(l)]};
        std::vector<torch::Tensor> values = {reference_sinks.values[static_cast<size_t>(l)]};
        for (const KvBlock& block : cache.window()) {
          keys.push_back(appended.at(block.index).keys[static_cast<size_t>(l)]);
          values.push_back(appended.at(block.index).values[static_cast<size_t>(l)]);
        }
        for (const torch::Tensor& k : held[static_cast<size_t>(l)].keys) keys.push_back(k);
        for (const torch::Tensor& v : held[static_cast<size_t>(l)].values) values.push_back(v);
        const llm::KvView view = cache.view(static_cast<int>(l));
        const torch::Tensor expected_keys = torch::cat(keys, 1);
        ASSERT_TRUE(torch::equal(view.keys, expected_keys)) << "frame " << frame << " layer " << l;
        ASSERT_TRUE(torch::equal(view.values, torch::cat(values, 1)));
        ASSERT_TRUE(torch::equal(view.positions, torch::arange(expected_keys.size(1))));
      }
      frames.push_back(one.front());
    }
    cache.commit_frames(frames);
    ASSERT_LE(cache.counters().window_tokens, 40 + 9);
    for (const KvBlock& block : cache.window()) {
      for (int64_t l = 0; l < kLayers; ++l) {
        ASSERT_TRUE(torch::equal(block.keys[static_cast<size_t>(l)],
                                 appended.at(block.index).keys[static_cast<size_t>(l)]));
        ASSERT_TRUE(torch::equal(block.values[static_cast<size_t>(l)],
                                 appended.at(block.index).values[static_cast<size_t>(l)]));
        // In the buffer the views come from (an older one would stay allocated for nothing).
        ASSERT_TRUE(
            block.keys[static_cast<size_t>(l)].is_alias_of(cache.view(static_cast<int>(l)).keys));
        ASSERT_TRUE(block.values[static_cast<size_t>(l)].is_alias_of(
            cache.view(static_cast<int>(l)).values));
      }
    }
  }
  EXPECT_GT(cache.counters().blocks_left_window, 50);
}

}  // namespace
}  // namespace vigil::memory

// BlockIndex: inner-product and cosine search over per-KV-head keys equal a brute-force torch
// computation over the keys repeated over the query groups, and FAISS's flat search; a device
// budget bounds the rows kept there and changes no result; the adaptive top-k rule; the
// time-prefix filter; time windows (the blocks of a window are a range, searches never leave
// it); results in time order.
#include "memory/block_index.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace vigil::memory {
namespace {

// Two query heads per key head, as Qwen2-7B has seven.
constexpr int64_t kLayers = 3, kHeads = 4, kKvHeads = 2, kHeadDim = 8, kDim = kHeads * kHeadDim;
const AttentionShape kShape{kLayers, kHeads, kKvHeads, kHeadDim};

AttentionShape shape_with_layers(int64_t layers) {
  return {layers, kHeads, kKvHeads, kHeadDim};
}

// Summary keys [..., kv_heads, head_dim] repeated over each key head's query group and
// flattened: [..., attention_heads * head_dim], what ReKV scores.
torch::Tensor repeated(const torch::Tensor& keys, int64_t group) {
  const torch::Tensor rows = keys.repeat_interleave(group, keys.dim() - 2);
  std::vector<int64_t> sizes = rows.sizes().vec();
  sizes.pop_back();
  sizes.back() = -1;
  return rows.reshape(sizes);
}

TEST(BlockIndex, SearchEqualsBruteForceOverRepeatedKeysForInnerProductAndCosine) {
  torch::manual_seed(1);
  const int64_t blocks = 200;
  const torch::Tensor summaries = torch::randn({blocks, kLayers, kKvHeads, kHeadDim}) +
                                  torch::rand({blocks, 1, 1, 1}) * 3.0;  // varied norms
  const torch::Tensor queries = torch::randn({5, kDim});
  for (const BlockMetric metric : {BlockMetric::kInnerProduct, BlockMetric::kCosine}) {
    BlockIndex index(kShape, metric);
    EXPECT_EQ(index.dimension(), kKvHeads * kHeadDim);  // no repeats stored
    EXPECT_EQ(index.query_dimension(), kDim);
    for (int64_t b = 0; b < blocks; ++b) index.add(10 + 2 * b, summaries[b]);
    ASSERT_EQ(index.size(), blocks);
    for (int layer = 0; layer < kLayers; ++layer) {
      torch::Tensor keys = repeated(summaries.select(1, layer), kHeads / kKvHeads);
      torch::Tensor q = queries;
      if (metric == BlockMetric::kCosine) {
        keys = keys / keys.norm(2, 1, true);
        q = q / q.norm(2, 1, true);
      }
      const torch::Tensor scores = torch::matmul(q, keys.t());  // [5, blocks]
      const int64_t k = 17;
      const auto found = index.search(layer, queries, k, /*before_block=*/1 << 30);
      const std::tuple<torch::Tensor, torch::Tensor> expected = scores.topk(k, 1);
      for (int64_t i = 0; i < 5; ++i) {
        ASSERT_EQ(static_cast<int64_t>(found[static_cast<size_t>(i)].size()), k);
        for (int64_t j = 0; j < k; ++j) {
          const ScoredBlock& got = found[static_cast<size_t>(i)][static_cast<size_t>(j)];
          const int64_t label = std::get<1>(expected)[i][j].item<int64_t>();
          EXPECT_EQ(got.block_index, 10 + 2 * label) << "query " << i << " rank " << j;
          EXPECT_NEAR(got.score, std::get<0>(expected)[i][j].item<float>(), 1e-4);
        }
      }
    }
  }
}

TEST(BlockIndex, TimeWindowsSelectOverlappingBlocksAndSearchesStayInside) {
  torch::manual_seed(3);
  BlockIndex index(shape_with_layers(2), BlockMetric::kInnerProduct);
  const torch::Tensor summaries = torch::randn({60, 2, kKvHeads, kHeadDim});
  // Block b shows [b, b + 1) s, except that frames 40..49 left no block (token drop kept
  // nothing of them): block 39 covers up to block 50's start.
  for (int64_t b = 0; b < 60; ++b) {
    if (b >= 40 && b < 50) continue;
    index.add(b, summaries[b], static_cast<double>(b), static_cast<double>(b + 1));
  }
  const auto range = [&](double start, double end) {
    return index.blocks_in(TimeWindow{start, end});
  };
  EXPECT_EQ(range(10.0, 20.0).first_block, 10);
  EXPECT_EQ(range(10.0, 20.0).end_block, 21);  // block 20 starts at the window's end
  EXPECT_EQ(range(10.5, 19.5).first_block, 10);
  EXPECT_EQ(range(10.5, 19.5).end_block, 20);
  EXPECT_EQ(index.count_in(range(10.5, 19.5)), 10);
  EXPECT_EQ(range(42.0, 44.0).first_block, 39);  // frames 40..49 are in block 39
  EXPECT_EQ(range(42.0, 44.0).end_block, 40);
  EXPECT_EQ(index.count_in(range(38.5, 52.5)), 5);  // 38, 39, 50, 51, 52
  EXPECT_EQ(index.count_in(range(61.0, 70.0)), 0);  // after the last block
  EXPECT_EQ(index.count_in(range(-5.0, -1.0)), 0);  // before the first
  EXPECT_EQ(index.count_in(BlockRange{}), 50);
  EXPECT_FALSE(TimeWindow{}.bounded());
  EXPECT_TRUE((TimeWindow{1.0, std::numeric_limits<double>::infinity()}.bounded()));

  // Frames up to 65 s left no block after block 59: it covers them.
  index.cover_until(65.0);
  EXPECT_EQ(range(62.0, 70.0).first_block, 59);
  EXPECT_EQ(index.count_in(range(65.0, 70.0)), 0);
  EXPECT_EQ(index.count_in(range(61.0, 70.0)), 1);
  EXPECT_EQ(index.time_covered().start_seconds, 0.0);
  EXPECT_EQ(index.time_covered().end_seconds, 65.0);

  // The best blocks overall lie outside the window: queries are their own keys, scaled.
  const BlockRange window = range(20.0, 35.5);  // blocks 20..35
  for (int layer = 0; layer < 2; ++layer) {
    const torch::Tensor queries =
        torch::stack({repeated(summaries[5][layer], 2), repeated(summaries[55][layer], 2),
                      repeated(summaries[30][layer], 2)}) *
        10.0;
    const auto found = index.search(layer, queries, 100, window);
    const auto reference = index.search_faiss(layer, queries, 100, window);
    for (size_t q = 0; q < 3; ++q) {
      ASSERT_EQ(found[q].size(), 16u);
      ASSERT_EQ(reference[q].size(), 16u);
      for (size_t j = 0; j < found[q].size(); ++j) {
        EXPECT_TRUE(window.contains(found[q][j].block_index)) << found[q][j].block_index;
        EXPECT_EQ(found[q][j].block_index, reference[q][j].block_index);
      }
    }
    EXPECT_EQ(found[2].front().block_index, 30);  // inside, it is still found first
    const std::vector<ScoredBlock> retrieved =
        index.retrieve(layer, queries[1], RetrievalConfig{4, 8, 1.0}, window);
    ASSERT_EQ(retrieved.size(), 8u);
    for (const ScoredBlock& block : retrieved) EXPECT_TRUE(window.contains(block.block_index));
    // An empty window finds nothing.
    EXPECT_TRUE(index.search(layer, queries, 10, range(66.0, 70.0))[0].empty());
  }
}

TEST(BlockIndex, SearchOnlyConsidersBlocksBeforeTheGivenIndex) {
  torch::manual_seed(2);
  BlockIndex index(shape_with_layers(1), BlockMetric::kInnerProduct);
  const torch::Tensor summaries = torch::randn({50, 1, kKvHeads, kHeadDim});
  for (int64_t b = 0; b < 50; ++b) index.add(b, summaries[b]);
  EXPECT_EQ(index.count_before(20), 20);
  // The best block overall is among the excluded: the query is that block's own key.
  const torch::Tensor query = repeated(summaries[45], 2).reshape({1, kDim}) * 10.0;
  const auto found = index.search(0, query, 100, /*before_block=*/20);
  ASSERT_EQ(found[0].size(), 20u);
  for (const ScoredBlock& block : found[0]) EXPECT_LT(block.block_index, 20);
}

// A device budget keeps only the newest rows there: never more than it holds, and searches
// over any range (all on the host, all on the device, across both) return what an index that
// keeps everything on the host returns.
TEST(BlockIndex, ADeviceBudgetBoundsTheRowsKeptThereAndChangesNoResult) {
  torch::manual_seed(4);
  const int64_t row_bytes = kLayers * kKvHeads * kHeadDim * 4;
  const int64_t budget_rows = 64;
  // On the CPU the "device" copy is a second CPU tensor: the same code as on CUDA.
  BlockIndex bounded(kShape, BlockMetric::kInnerProduct, torch::kCPU, budget_rows * row_bytes);
  BlockIndex host_only(kShape, BlockMetric::kInnerProduct);
  EXPECT_EQ(host_only.device_rows(), 0);
  for (int64_t b = 0; b < 1000; ++b) {
    const torch::Tensor keys = torch::randn({kLayers, kKvHeads, kHeadDim});
    bounded.add(b, keys, static_cast<double>(b), static_cast<double>(b + 1));
    host_only.add(b, keys, static_cast<double>(b), static_cast<double>(b + 1));
    ASSERT_LE(bounded.device_rows(), budget_rows) << b;
    ASSERT_LE(bounded.device_bytes_reserved(), budget_rows * row_bytes) << b;
    // Full, it drops its oldest eighth: never fewer than 7/8 of the budget once it was full.
    if (b >= budget_rows) {
      ASSERT_GE(bounded.device_rows(), budget_rows * 7 / 8) << b;
    }
  }
  EXPECT_EQ(host_only.device_bytes_reserved(), 0);
  const int64_t first_on_device = 1000 - bounded.device_rows();
  const torch::Tensor queries = torch::randn({3, kDim}) * 2.0;
  for (const BlockRange range :
       {BlockRange{}, BlockRange{0, 100}, BlockRange{first_on_device, 1000},
        BlockRange{first_on_device - 30, first_on_device + 30}, BlockRange{990, 995}}) {
    for (int layer = 0; layer < kLayers; ++layer) {
      for (const int64_t k : {int64_t{1}, int64_t{16}, int64_t{64}}) {
        const auto got = bounded.search(layer, queries, k, range);
        const auto want = host_only.search(layer, queries, k, range);
        for (size_t i = 0; i < got.size(); ++i) {
          ASSERT_EQ(got[i].size(), want[i].size());
          ASSERT_EQ(static_cast<int64_t>(got[i].size()), std::min(k, host_only.count_in(range)));
          for (size_t j = 0; j < got[i].size(); ++j) {
            EXPECT_EQ(got[i][j].block_index, want[i][j].block_index)
                << "range " << range.first_block << ".." << range.end_block << " k " << k;
            EXPECT_FLOAT_EQ(got[i][j].score, want[i][j].score);
          }
        }
      }
    }
  }
}

TEST(BlockIndex, BlocksAddedTogetherAreIndexedAsBlocksAddedOneByOne) {
  // Batches of several sizes, some larger than the device budget, some crossing its growth
  // and its drops: the rows kept on the device, the searches and the time covered are the
  // same as with one add() per block.
  torch::manual_seed(5);
  const int64_t row_bytes = kLayers * kKvHeads * kHeadDim * 4;
  const int64_t budget_rows = 300;
  for (const BlockMetric metric : {BlockMetric::kInnerProduct, BlockMetric::kCosine}) {
    BlockIndex together(kShape, metric, torch::kCPU, budget_rows * row_bytes);
    BlockIndex one_by_one(kShape, metric, torch::kCPU, budget_rows * row_bytes);
    int64_t next = 0;
    for (const int64_t batch : {1, 7, 33, 255, 1, 400, 64, 2, 130}) {
      std::vector<BlockIndex::NewBlock> blocks;
      for (int64_t i = 0; i < batch; ++i, ++next) {
        // Every third frame left no block: the blocks' times have gaps.
        const auto start = static_cast<double>(next * 3);
        blocks.push_back({next, torch::randn({kLayers, kKvHeads, kHeadDim}), start, start + 1.0});
        one_by_one.add(next, blocks.back().summary_keys, start, start + 1.0);
      }
      together.add_all(blocks);
      ASSERT_EQ(together.size(), one_by_one.size());
      ASSERT_EQ(together.device_rows(), one_by_one.device_rows()) << next;
      ASSERT_EQ(together.device_bytes_reserved(), one_by_one.device_bytes_reserved()) << next;
      EXPECT_EQ(together.time_covered().end_seconds, one_by_one.time_covered().end_seconds);
    }
    const torch::Tensor queries = torch::randn({2, kDim});
    for (const BlockRange range : {BlockRange{}, BlockRange{0, 100}, BlockRange{next - 50, next}}) {
      for (int layer = 0; layer < kLayers; ++layer) {
        const auto got = together.search(layer, queries, 16, range);
        const auto want = one_by_one.search(layer, queries, 16, range);
        ASSERT_EQ(got.size(), want.size());
        for (size_t q = 0; q < got.size(); ++q) {
          ASSERT_EQ(got[q].size(), want[q].size());
          for (size_t j = 0; j < got[q].size(); ++j) {
            EXPECT_EQ(got[q][j].block_index, want[q][j].block_index);
            EXPECT_EQ(got[q][j].score, want[q][j].score);
          }
        }
      }
    }
  }
}

// search() (torch scoring on the index's device) returns the blocks FAISS returns, in the same
// order, up to float ties: at every rank the scores agree, and the block does wherever its
// score is apart from its neighbours' by more than the rounding of either computation.
TEST(BlockIndex, TorchScoringEqualsFaissForBothMetricsAndTimePrefixes) {
  torch::manual_seed(3);
  constexpr int64_t kLayers2 = 2, kKv = 8, kGroup = 2, kHd = 64, kBlocks = 700;
  constexpr int64_t kBigDim = kKv * kGroup * kHd;  // the queries'
  const AttentionShape shape{kLayers2, kKv * kGroup, kKv, kHd};
  const torch::Tensor summaries = torch::randn({kBlocks, kLayers2, kKv, kHd}) +
                                  torch::rand({kBlocks, 1, 1, 1}) * 2.0;  // varied norms
  // Per layer, the largest key norm.
  const std::vector<float> key_norm = {
      summaries.select(1, 0).reshape({kBlocks, -1}).norm(2, 1).max().item<float>(),
      summaries.select(1, 1).reshape({kBlocks, -1}).norm(2, 1).max().item<float>()};
  // fp32 rounding of a dot product grows with its terms, |q| |k|, not with its value (the
  // folded query's norm is up to sqrt(group) times the query's).
  constexpr float kTie = 2e-6f * kGroup;
  std::vector<torch::Device> devices = {torch::kCPU};
  if (torch::cuda::is_available()) devices.push_back(torch::kCUDA);  // the GPU path, where one is
  const int64_t row_bytes = kLayers2 * kKv * kHd * 4;
  // Every row on the device; the newest ~300 there and the rest on the host; (CPU) none there.
  for (const torch::Device device : devices)
    for (const int64_t device_bytes : {kBlocks * row_bytes, 300 * row_bytes, int64_t{0}})
      for (const BlockMetric metric : {BlockMetric::kInnerProduct, BlockMetric::kCosine}) {
        if (device.is_cuda() && device_bytes == 0) continue;  // the CPU case again
        BlockIndex index(shape, metric, device, device_bytes);
        for (int64_t b = 0; b < kBlocks; ++b) index.add(3 * b + 1, summaries[b]);
        for (const int64_t before_block : {int64_t{0}, int64_t{2}, int64_t{5}, int64_t{301},
                                           int64_t{1000}, int64_t{3 * kBlocks}, int64_t{1} << 40}) {
          for (const int64_t n : {int64_t{1}, int64_t{4}}) {
            const torch::Tensor queries = torch::randn({n, kBigDim}) * 3.0;
            for (int layer = 0; layer < kLayers2; ++layer) {
              for (const int64_t k : {int64_t{1}, int64_t{64}, int64_t{2000}}) {
                const auto got = index.search(layer, queries, k, before_block);
                const auto want = index.search_faiss(layer, queries, k, before_block);
                ASSERT_EQ(got.size(), static_cast<size_t>(n));
                ASSERT_EQ(want.size(), static_cast<size_t>(n));
                for (size_t i = 0; i < got.size(); ++i) {
                  const std::vector<ScoredBlock>& g = got[i];
                  const std::vector<ScoredBlock>& w = want[i];
                  ASSERT_EQ(g.size(), w.size()) << "before " << before_block << " k " << k;
                  ASSERT_EQ(static_cast<int64_t>(g.size()),
                            std::min(k, index.count_before(before_block)));
                  for (size_t j = 0; j < g.size(); ++j) {
                    EXPECT_LT(g[j].block_index, before_block);
                    const float scale =
                        std::max(1.0f, metric == BlockMetric::kCosine
                                           ? 1.0f
                                           : queries[static_cast<int64_t>(i)].norm().item<float>() *
                                                 key_norm[layer]);
                    ASSERT_NEAR(g[j].score, w[j].score, kTie * scale)
                        << device << " " << device_bytes << " rank " << j;
                    const bool tied_before =
                        j > 0 && w[j - 1].score - w[j].score <= 2 * kTie * scale;
                    const bool tied_after =
                        j + 1 < w.size() && w[j].score - w[j + 1].score <= 2 * kTie * scale;
                    if (!tied_before && !tied_after) {
                      EXPECT_EQ(g[j].block_index, w[j].block_index)
                          << device << " metric " << static_cast<int>(metric) << " before "
                          << before_block << " layer " << layer << " query " << i << " rank " << j;
                    }
                  }
                }
              }
              // retrieve() is the adaptive rule over search().
              RetrievalConfig config;
              config.metric = metric;
              auto faiss_head = index.search_faiss(layer, queries[0].reshape({1, kBigDim}),
                                                   config.max_blocks, before_block);
              const std::vector<ScoredBlock> expected =
                  select_adaptive(std::move(faiss_head.front()), config);
              const std::vector<ScoredBlock> retrieved =
                  index.retrieve(layer, queries[0], config, before_block);
              ASSERT_EQ(retrieved.size(), expected.size());
              for (size_t j = 0; j < retrieved.size(); ++j) {
                EXPECT_EQ(retrieved[j].block_index, expected[j].block_index);
              }
            }
          }
        }
      }
}

TEST(SelectAdaptive, KeepsTheHeadWithinTheScoreFractionClampedAndInTimeOrder) {
  // Descending scores 10, 9.5, 9, 2, 1, 0 ... (best 10, floor 0).
  std::vector<ScoredBlock> candidates = {{7, 10.0f}, {3, 9.5f}, {9, 9.0f}, {1, 2.0f},
                                         {5, 1.0f},  {2, 0.5f}, {8, 0.0f}};
  RetrievalConfig config;
  config.min_blocks = 2;
  config.max_blocks = 7;
  config.score_fraction = 0.5;  // keep scores >= 5
  std::vector<ScoredBlock> kept = select_adaptive(candidates, config);
  ASSERT_EQ(kept.size(), 3u);
  EXPECT_EQ(kept[0].block_index, 3);
  EXPECT_EQ(kept[1].block_index, 7);
  EXPECT_EQ(kept[2].block_index, 9);
  config.min_blocks = 5;  // the clamp from below
  EXPECT_EQ(select_adaptive(candidates, config).size(), 5u);
  // The clamp from above: only the best max_blocks are candidates, and the rule applies to
  // them (best 10, floor 9.5: 9.5 < 9.75 is dropped).
  config.min_blocks = 1;
  config.max_blocks = 2;
  EXPECT_EQ(select_adaptive(candidates, config).size(), 1u);
  config.score_fraction = 1.0;
  EXPECT_EQ(select_adaptive(candidates, config).size(), 2u);
  config.max_blocks = 7;
  config.score_fraction = 1.0;  // fixed top-k
  EXPECT_EQ(select_adaptive(candidates, config).size(), 7u);
  // Equal scores: no signal, keep up to max_blocks.
  config.score_fraction = 0.5;
  EXPECT_EQ(select_adaptive({{1, 3.0f}, {2, 3.0f}, {3, 3.0f}}, config).size(), 3u);
}

}  // namespace
}  // namespace vigil::memory

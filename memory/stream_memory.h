// One stream's memory, the entry point for the service engine: the encoder's streaming cache
// (sinks + sliding window), the tiered block store and the retrieval index, kept in step.
//
//   // once: the system prompt's KV become the sinks
//   llm::ContiguousKvCache prompt(layers);
//   model.forward(model.embed(system_ids), torch::arange(S), prompt);
//   StreamMemory memory(SinkKv::capture(prompt, layers), shape, config, device, dtype, disk);
//   // per chunk of frames (after vision/ and token drop)
//   model.forward(embeddings, memory.encoder().frame_positions(frames), memory.encoder());
//   memory.commit_frames(frames);
//   // per question
//   std::unique_ptr<AnswerKvCache> answer = memory.answer_cache();
//   generator.generate(request, *answer, ...);   // positions continue at answer->length()
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "memory/answer_kv_cache.h"
#include "memory/block_index.h"
#include "memory/segment_store.h"
#include "memory/sink_kv.h"
#include "memory/streaming_kv_cache.h"
#include "memory/tiered_block_store.h"

namespace vigil::memory {

struct StreamMemoryConfig {
  StreamingConfig streaming;
  TierConfig tiers;
  AnswerConfig answer;  // answer.retrieval.metric also picks the index's metric
  // On a CUDA device: the bytes of the retrieval index's keys kept there, all layers together
  // (BlockIndex); older blocks' keys are scored on the host. 1 GiB: 5.2 h of 1-fps Qwen2-7B.
  int64_t index_gpu_bytes = int64_t{1} << 30;
};

// Not thread-safe: the engine serialises a stream's encodes and questions.
class StreamMemory {
 public:
  // sinks: on `device`. disk: the stream's segment store, or null for no disk tier.
  StreamMemory(SinkKv sinks, AttentionShape shape, StreamMemoryConfig config, torch::Device device,
               torch::ScalarType dtype, std::unique_ptr<SegmentStore> disk);

  // The cache to encode frames with (Qwen2Model::forward).
  StreamingKvCache& encoder() { return encoder_; }
  // Cuts the encoded tokens into blocks (StreamingKvCache::commit_frames), stores them
  // (TieredBlockStore::put) and indexes their summary keys. Throws what put() throws.
  void commit_frames(const std::vector<FrameInfo>& frames);
  // Frames shown up to until_seconds were taken in but left no block (token drop kept nothing
  // of them): the newest block stands for them in time windows (BlockIndex::cover_until).
  void cover_until(double until_seconds) { index_.cover_until(until_seconds); }
  // A cache for one question over everything committed so far (AnswerKvCache).
  std::unique_ptr<AnswerKvCache> answer_cache() const;
  std::unique_ptr<AnswerKvCache> answer_cache(const AnswerConfig& config) const;

  const BlockIndex& index() const { return index_; }
  TieredBlockStore& store() { return store_; }
  const StreamMemoryConfig& config() const { return config_; }

 private:
  StreamMemoryConfig config_;
  StreamingKvCache encoder_;
  BlockIndex index_;
  mutable TieredBlockStore store_;
};

}  // namespace vigil::memory

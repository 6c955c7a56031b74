#include "memory/stream_memory.h"

namespace vigil::memory {

StreamMemory::StreamMemory(SinkKv sinks, AttentionShape shape, StreamMemoryConfig config,
                           torch::Device device, torch::ScalarType dtype,
                           std::unique_ptr<SegmentStore> disk)
    : config_(std::move(config)),
      encoder_(std::move(sinks), config_.streaming),
      index_(shape, config_.answer.retrieval.metric, device,
             device.is_cuda() ? config_.index_gpu_bytes : 0),
      store_(config_.tiers, device, dtype, std::move(disk)) {}

void StreamMemory::commit_frames(const std::vector<FrameInfo>& frames) {
  for (const KvBlock& block : encoder_.commit_frames(frames)) {
    store_.put(block);
    index_.add(block.index, block.summary_keys, block.start_seconds, block.end_seconds);
  }
}

std::unique_ptr<AnswerKvCache> StreamMemory::answer_cache() const {
  return answer_cache(config_.answer);
}

std::unique_ptr<AnswerKvCache> StreamMemory::answer_cache(const AnswerConfig& config) const {
  return std::make_unique<AnswerKvCache>(encoder_, index_, store_, config);
}

}  // namespace vigil::memory

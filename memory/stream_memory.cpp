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
  std::vector<KvBlock> blocks = encoder_.commit_frames(frames);
  if (blocks.empty()) return;
  // The store and the index keep the summary keys on the host: one copy for all the blocks
  // (each copy to the host waits for the device).
  std::vector<torch::Tensor> summaries;
  for (const KvBlock& block : blocks) summaries.push_back(block.summary_keys);
  const std::vector<torch::Tensor> host = torch::stack(summaries, 0).to(torch::kCPU).unbind(0);
  for (size_t i = 0; i < blocks.size(); ++i) blocks[i].summary_keys = host[i];
  store_.put_all(blocks);
  std::vector<BlockIndex::NewBlock> indexed;
  for (const KvBlock& block : blocks) {
    indexed.push_back({block.index, block.summary_keys, block.start_seconds, block.end_seconds});
  }
  index_.add_all(indexed);
}

std::unique_ptr<AnswerKvCache> StreamMemory::answer_cache() const {
  return answer_cache(config_.answer);
}

std::unique_ptr<AnswerKvCache> StreamMemory::answer_cache(const AnswerConfig& config) const {
  return std::make_unique<AnswerKvCache>(encoder_, index_, store_, config);
}

}  // namespace vigil::memory

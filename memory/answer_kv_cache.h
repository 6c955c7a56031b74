// The KV cache a question is answered with (ReKV's question answering, plus LiveVLM's
// short-term memory). Per layer, the model attends to
//   [sinks][blocks retrieved for this layer, in time order][recent blocks][question tokens]
// The retrieved blocks are chosen in observe_queries(): the question's mean pre-RoPE query in
// that layer searches the stream's BlockIndex (adaptive top-k), and the blocks' layer is
// fetched from whichever tier holds it. The video's KV is fetched, never recomputed.
//
// Positions. The question's tokens get one set of positions for all layers (the model's
// forward takes one), but each layer may retrieve a different number of tokens. The retrieved
// region therefore has a fixed span R for every layer, R = min(max_blocks, candidates) times
// the largest block span, and each layer's retrieved blocks are packed consecutively and
// right-aligned in it, ending where the recent blocks start:
//   sinks 0..S-1 | (gap) retrieved ... S+R-1 | recent S+R ... S+R+W-1 | question S+R+W ...
// So in every layer the distances from the question to the recent blocks and to the retrieved
// blocks are those of a contiguous layout (RoPE sees only distances); only the sinks sit
// further away in layers that retrieved less than R, and sinks draw attention whatever their
// distance (StreamingLLM; ReKV even rotates them at one fixed angle). With equal block sizes
// and every candidate retrieved the gap is zero and the context equals the full one exactly.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "llm/kv_cache.h"
#include "memory/block_index.h"
#include "memory/streaming_kv_cache.h"
#include "memory/tiered_block_store.h"

namespace vigil::memory {

struct AnswerConfig {
  RetrievalConfig retrieval;
  // Tokens of the newest blocks always in the context, taken from the encoder's window
  // (LiveVLM's short-term memory; questions about "now" need it). The newest blocks whose
  // tokens fit; 0 = none. Default: 16 frames of 196 tokens (our choice; no source value).
  int64_t recent_tokens = 16 * 196;
  // The question's time window: only blocks whose time overlaps it (BlockIndex::blocks_in)
  // enter the context, retrieved or recent. Default: the whole stream.
  TimeWindow window;
};

// One question's cache. Borrows stream, index and store, which must outlive it and not change
// while it is used (the engine does not encode this stream's frames meanwhile). Not
// thread-safe. Retrieval happens once per layer, at the first forward (the question's
// prefill); later forwards (decoding) reuse it.
class AnswerKvCache final : public llm::KvCache {
 public:
  AnswerKvCache(const StreamingKvCache& stream, const BlockIndex& index, TieredBlockStore& store,
                AnswerConfig config);

  // The position of the question's first token (S + R + W above).
  int64_t question_position() const { return question_position_; }
  // Per layer, the blocks retrieved (time order) with their scores; empty until that layer ran.
  const std::vector<std::vector<ScoredBlock>>& retrieved() const { return retrieved_blocks_; }
  // The recent blocks' indices, oldest first.
  const std::vector<int64_t>& recent_blocks() const { return recent_indices_; }
  // Forgets the question's tokens and keeps the retrieval: ReKV retrieves with the bare
  // question, then prefills the chat-formatted prompt against the same blocks.
  void clear_question() { question_.truncate(0); }

  // llm::KvCache. append() holds the question's (and the answer's) tokens; length() is the
  // position after them (llm::Generator continues there); truncate() keeps the tokens below
  // a position.
  void observe_queries(int layer, const torch::Tensor& queries) override;
  void append(int layer, const torch::Tensor& keys, const torch::Tensor& values,
              const torch::Tensor& positions) override;
  llm::KvView view(int layer) const override;
  int64_t length() const override;
  void truncate(int64_t length) override;
  // question_position() while the question holds no tokens: the sinks', retrieved and recent
  // blocks' positions ascend below it, whatever a layer retrieves.
  std::optional<int64_t> ordered_end() const override;

 private:
  // Sinks + retrieved + recent of one layer, joined.
  llm::KvView fixed_part(int layer) const;
  static llm::KvView join(const llm::KvView& fixed, const llm::KvView& question);
  // Host positions (int64) on `device`, copied without waiting for the device.
  static torch::Tensor upload(const torch::Tensor& positions, torch::Device device);

  const StreamingKvCache& stream_;
  const BlockIndex& index_;
  TieredBlockStore& store_;
  AnswerConfig config_;
  PositionLayout layout_;
  std::vector<const KvBlock*> recent_;  // in stream_.window()
  std::vector<int64_t> recent_indices_;
  BlockRange candidates_;      // retrieval candidates: the window's blocks before the recent
  int64_t reserved_span_ = 0;  // R
  int64_t question_position_ = 0;
  std::vector<bool> retrieved_done_;
  std::vector<std::vector<ScoredBlock>> retrieved_blocks_;
  std::vector<llm::KvView> retrieved_;  // per layer: keys, values, positions
  // Per layer, once its retrieval is done: sinks + retrieved + recent joined into one tensor
  // each, so that a view costs one join with the question's tokens, not one per block.
  mutable std::vector<llm::KvView> fixed_;
  std::vector<torch::Tensor> retrieved_positions_;  // per layer, on the host
  llm::ContiguousKvCache question_;
};

}  // namespace vigil::memory

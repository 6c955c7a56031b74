// Decodes the answers in flight together. A decoding step of a 7B model reads its 15 GB of
// weights whatever the batch, so answers decoded one per step each pay that read for every
// token; here one BatchDecoder step gives every answer in the batch its next token's logits.
// An answer joins with its context once its first token is out (Generator), then hands in each
// sampled token and gets the next logits back; the batch steps when every answer in it has
// handed in its token, so an answer is never left behind by a step. Rows without an answer
// compute but keep nothing (BatchKvCache::set_active). One thread owns the decoder's steps.
//
//   DecodeBatcher batcher(model, /*rows=*/8, /*capacity=*/8192, /*use_cuda_graph=*/true);
//   std::unique_ptr<DecodeBatcher::Row> row = batcher.join(context);  // after the first token
//   torch::Tensor logits = row->step(first_token);                    // [vocab]
//   ... row->step(next) until done; destroying the row leaves the batch.
#pragma once

#include <torch/torch.h>

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "llm/batch_decoder.h"
#include "llm/kv_cache.h"
#include "llm/qwen2_model.h"

namespace vigil::llm {

struct DecodeBatcherCounters {
  int64_t joins = 0;         // answers that joined
  int64_t steps = 0;         // batch steps run
  int64_t rows_stepped = 0;  // sum over steps of the answers in them
  int64_t most_rows = 0;     // the most answers one step decoded
};

// Thread-safe. Must outlive its rows.
class DecodeBatcher {
 public:
  class Row;

  // rows: answers decoded at once; capacity: tokens per row (context and answer).
  DecodeBatcher(const Qwen2Model& model, int64_t rows, int64_t capacity, bool use_cuda_graph);
  ~DecodeBatcher();  // fails the rows still joined, then stops the thread
  DecodeBatcher(const DecodeBatcher&) = delete;
  DecodeBatcher& operator=(const DecodeBatcher&) = delete;

  // Whether a context of `context_length` (KvCache::length()) and `new_tokens` more fit a row.
  bool fits(int64_t context_length, int64_t new_tokens) const;
  // Copies `context` into a free row, waiting for one; the caller must not use `context`
  // elsewhere meanwhile. Throws std::invalid_argument when it does not fit, std::runtime_error
  // when the batcher stopped.
  std::unique_ptr<Row> join(const KvCache& context);
  DecodeBatcherCounters counters() const;

 private:
  struct Slot {
    bool joined = false;
    bool submitted = false;  // handed in `id`, waits for the step
    bool answered = false;   // `logits` or `error` is ready
    int64_t id = 0;
    torch::Tensor logits;
    std::string error;
  };

  void run();
  torch::Tensor step(int64_t row, int64_t id);
  void leave(int64_t row);

  const Qwen2Model& model_;
  BatchDecoder decoder_;
  const int64_t capacity_;
  mutable std::mutex mutex_;
  std::condition_variable batch_ready_;  // every joined row handed in a token, or stop
  std::condition_variable rows_ready_;   // logits are out, a row is free, or stop
  std::vector<Slot> slots_;
  int64_t joined_ = 0, submitted_ = 0;
  bool stepping_ = false;
  bool stopping_ = false;
  DecodeBatcherCounters counters_;
  std::thread thread_;
};

// One answer's place in the batch.
class DecodeBatcher::Row {
 public:
  ~Row();  // leaves the batch
  Row(const Row&) = delete;
  Row& operator=(const Row&) = delete;

  // The logits [vocab] (fp32, on the model's device) of the token after `id`, once the batch
  // has stepped. Throws std::runtime_error when the step failed or the batcher stopped.
  torch::Tensor step(int64_t id) { return batcher_.step(row_, id); }

 private:
  friend class DecodeBatcher;
  Row(DecodeBatcher& batcher, int64_t row) : batcher_(batcher), row_(row) {}
  DecodeBatcher& batcher_;
  int64_t row_;
};

}  // namespace vigil::llm

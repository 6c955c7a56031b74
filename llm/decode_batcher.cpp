#include "llm/decode_batcher.h"

#include <algorithm>
#include <stdexcept>

#include "llm/device_stream.h"

namespace vigil::llm {

DecodeBatcher::DecodeBatcher(const Qwen2Model& model, int64_t rows, int64_t capacity,
                             bool use_cuda_graph)
    : model_(model),
      decoder_(model, rows, capacity, use_cuda_graph),
      capacity_(capacity),
      slots_(static_cast<size_t>(rows)) {
  if (rows < 1 || capacity < 2) {
    throw std::invalid_argument("DecodeBatcher: rows must be >= 1 and capacity >= 2");
  }
  for (int64_t row = 0; row < rows; ++row) decoder_.set_active(row, false);
  thread_ = std::thread([this] { run(); });
}

DecodeBatcher::~DecodeBatcher() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  batch_ready_.notify_all();
  rows_ready_.notify_all();
  thread_.join();
}

bool DecodeBatcher::fits(int64_t context_length, int64_t new_tokens) const {
  return context_length + new_tokens + 1 <= capacity_;
}

std::unique_ptr<DecodeBatcher::Row> DecodeBatcher::join(const KvCache& context) {
  std::unique_lock<std::mutex> lock(mutex_);
  const auto free_row = [&] {
    return std::find_if(slots_.begin(), slots_.end(), [](const Slot& s) { return !s.joined; });
  };
  // Between steps only: the copy goes into the decoder's cache, which a step reads.
  rows_ready_.wait(lock, [&] { return stopping_ || (!stepping_ && free_row() != slots_.end()); });
  if (stopping_) throw std::runtime_error("the decoding batch has stopped");
  const auto row = static_cast<int64_t>(free_row() - slots_.begin());
  decoder_.assign(row, context);  // throws std::invalid_argument when it does not fit
  decoder_.set_active(row, true);
  // The copy and the row's flag were queued on the caller's stream; the steps run on the
  // batch thread's.
  synchronize_current_stream(model_.device());
  slots_[static_cast<size_t>(row)] = Slot{};
  slots_[static_cast<size_t>(row)].joined = true;
  ++joined_;
  ++counters_.joins;
  return std::unique_ptr<Row>(new Row(*this, row));
}

torch::Tensor DecodeBatcher::step(int64_t row, int64_t id) {
  std::unique_lock<std::mutex> lock(mutex_);
  Slot& slot = slots_.at(static_cast<size_t>(row));
  slot.id = id;
  slot.submitted = true;
  slot.answered = false;
  ++submitted_;
  if (submitted_ == joined_) batch_ready_.notify_one();
  rows_ready_.wait(lock, [&] { return slot.answered || stopping_; });
  if (!slot.answered) throw std::runtime_error("the decoding batch has stopped");
  if (!slot.error.empty()) throw std::runtime_error("decoding batch step: " + slot.error);
  return std::move(slot.logits);
}

void DecodeBatcher::leave(int64_t row) {
  std::lock_guard<std::mutex> lock(mutex_);
  Slot& slot = slots_.at(static_cast<size_t>(row));
  // A row in a step is waiting inside step(), so it cannot be here: no step reads its flag.
  if (slot.submitted) --submitted_;
  slot = Slot{};
  --joined_;
  decoder_.set_active(row, false);
  // Queued on the caller's stream: done before the next step, which must not advance the row.
  synchronize_current_stream(model_.device());
  if (joined_ > 0 && submitted_ == joined_) batch_ready_.notify_one();
  rows_ready_.notify_all();  // a free row for a joiner
}

DecodeBatcher::Row::~Row() {
  batcher_.leave(row_);
}

DecodeBatcherCounters DecodeBatcher::counters() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return counters_;
}

void DecodeBatcher::run() {
  torch::NoGradGuard no_grad;
  std::vector<int64_t> ids(slots_.size(), 0);
  std::vector<bool> in_step(slots_.size(), false);  // the rows that handed in a token
  for (;;) {
    std::unique_lock<std::mutex> lock(mutex_);
    batch_ready_.wait(lock, [&] { return stopping_ || (joined_ > 0 && submitted_ == joined_); });
    if (stopping_) break;
    for (size_t row = 0; row < slots_.size(); ++row) {
      in_step[row] = slots_[row].submitted;
      ids[row] = in_step[row] ? slots_[row].id : 0;
    }
    const int64_t rows_in_step = joined_;
    stepping_ = true;
    lock.unlock();

    std::vector<torch::Tensor> logits(slots_.size());
    std::string error;
    try {
      const torch::Tensor all =
          decoder_.step(torch::tensor(ids, torch::kInt64).to(model_.device()));
      // The decoder overwrites its logits at the next step: each row gets its own.
      for (size_t row = 0; row < slots_.size(); ++row) {
        if (in_step[row]) logits[row] = all[static_cast<int64_t>(row)].clone();
      }
      // The rows read their logits on their own threads' streams.
      synchronize_current_stream(model_.device());
    } catch (const std::exception& e) {
      error = e.what();
    }

    lock.lock();
    stepping_ = false;
    ++counters_.steps;
    counters_.rows_stepped += rows_in_step;
    counters_.most_rows = std::max(counters_.most_rows, rows_in_step);
    for (size_t row = 0; row < slots_.size(); ++row) {
      Slot& slot = slots_[row];
      if (!slot.submitted) continue;
      slot.submitted = false;
      slot.answered = true;
      slot.logits = std::move(logits[row]);
      slot.error = error;
    }
    submitted_ = 0;
    rows_ready_.notify_all();
  }
  // Stopping: every row still waiting gets an error from step().
  rows_ready_.notify_all();
}

}  // namespace vigil::llm

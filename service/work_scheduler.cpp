#include "service/work_scheduler.h"

#include <chrono>

namespace vigil::service {

WorkScheduler::WorkScheduler(int workers, size_t question_capacity, size_t ingest_capacity,
                             ServiceMetrics* metrics)
    : metrics_(metrics), question_capacity_(question_capacity), ingest_capacity_(ingest_capacity) {
  for (int i = 0; i < workers; ++i) workers_.emplace_back([this] { run_worker(); });
}

WorkScheduler::~WorkScheduler() {
  stop();
}

bool WorkScheduler::try_submit_question(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_ || questions_.size() >= question_capacity_) return false;
    questions_.push_back(std::move(task));
    publish_depths();
  }
  work_ready_.notify_one();
  return true;
}

bool WorkScheduler::submit_ingest(std::function<void()> task, const std::atomic<bool>* cancel) {
  {
    std::unique_lock<std::mutex> lock(mutex_);
    // Wakes on space, or every 100 ms to look at cancel (set by another thread without lock).
    while (!stopping_ && ingest_.size() >= ingest_capacity_) {
      if (cancel != nullptr && cancel->load()) return false;
      space_ready_.wait_for(lock, std::chrono::milliseconds(100));
    }
    if (stopping_ || (cancel != nullptr && cancel->load())) return false;
    ingest_.push_back(std::move(task));
    publish_depths();
  }
  work_ready_.notify_one();
  return true;
}

void WorkScheduler::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  work_ready_.notify_all();
  space_ready_.notify_all();
  for (std::thread& worker : workers_) {
    if (worker.joinable() && worker.get_id() != std::this_thread::get_id()) worker.join();
  }
}

size_t WorkScheduler::question_depth() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return questions_.size();
}

size_t WorkScheduler::ingest_depth() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return ingest_.size();
}

bool WorkScheduler::stopped() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stopping_;
}

void WorkScheduler::publish_depths() {
  if (metrics_ == nullptr) return;
  metrics_->question_queue_depth.set(static_cast<double>(questions_.size()));
  metrics_->ingest_queue_depth.set(static_cast<double>(ingest_.size()));
}

void WorkScheduler::run_worker() {
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      work_ready_.wait(lock, [&] { return stopping_ || !questions_.empty() || !ingest_.empty(); });
      if (questions_.empty() && ingest_.empty()) return;  // stopping and drained
      const bool ingest_turn = !ingest_.empty() && (questions_.empty() ||
                                                    questions_since_ingest_ >= kQuestionsPerIngest);
      if (ingest_turn) {
        task = std::move(ingest_.front());
        ingest_.pop_front();
        questions_since_ingest_ = 0;
        space_ready_.notify_one();
      } else {
        task = std::move(questions_.front());
        questions_.pop_front();
        if (!ingest_.empty()) ++questions_since_ingest_;
      }
      publish_depths();
    }
    task();
  }
}

}  // namespace vigil::service

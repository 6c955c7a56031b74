// The workers that run the engine's model work: questions (whole answers) and ingestion steps
// (a few frames each), from two bounded queues. Questions go first for latency; an ingestion
// step waiting behind kQuestionsPerIngest question picks goes next, so ingestion is never
// starved; sessions' steps queue in arrival order, so one stream's burst waits its turn.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "service/metrics.h"

namespace vigil::service {

class WorkScheduler {
 public:
  static constexpr int kQuestionsPerIngest = 2;

  // workers threads; queue capacities in tasks. metrics (optional) gets the queue depths.
  WorkScheduler(int workers, size_t question_capacity, size_t ingest_capacity,
                ServiceMetrics* metrics);
  ~WorkScheduler();  // stop() then join
  WorkScheduler(const WorkScheduler&) = delete;
  WorkScheduler& operator=(const WorkScheduler&) = delete;

  // Queues a question; false when its queue is full or the scheduler stopped (the API answers
  // 429 / 503). Never blocks: callable from an I/O thread. Tasks must not throw.
  bool try_submit_question(std::function<void()> task);
  // Queues an ingestion step, waiting while its queue is full (backpressure on the decoder).
  // false when cancel became true or the scheduler stopped first. Not for I/O threads.
  bool submit_ingest(std::function<void()> task, const std::atomic<bool>* cancel);

  // Finishes the queued and running work, then joins the workers. New submissions fail.
  void stop();

  size_t question_depth() const;
  size_t ingest_depth() const;
  bool stopped() const;

 private:
  void run_worker();
  void publish_depths();  // under mutex_

  ServiceMetrics* metrics_;
  const size_t question_capacity_;
  const size_t ingest_capacity_;
  mutable std::mutex mutex_;
  std::condition_variable work_ready_;
  std::condition_variable space_ready_;
  std::deque<std::function<void()>> questions_;
  std::deque<std::function<void()>> ingest_;
  int questions_since_ingest_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace vigil::service

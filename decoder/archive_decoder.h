// Parallel decoding of an archived (seekable) video: keyframe-aligned intervals decoded on N
// worker threads, each with its own demuxer and codec context, frames delivered in order.
#pragma once

#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "decoder/frame_source.h"
#include "decoder/interval_plan.h"

namespace vigil::decoder {

class ArchiveDecoder final : public FrameSource {
 public:
  // index and info come from a scan of the same source; samples from plan_samples on them.
  ArchiveDecoder(MediaSource source, DecodeOptions options, KeyframeIndex index, StreamInfo info,
                 std::vector<Sample> samples);
  ~ArchiveDecoder() override;

  std::optional<Frame> next() override;
  void cancel() override;
  const StreamInfo& info() const override { return info_; }
  DecodeCountersSnapshot counters() const override { return counters_.snapshot(); }
  DamageReport damage() const override;
  int64_t planned_samples() const override { return static_cast<int64_t>(samples_.size()); }

 private:
  // Frames of one interval, filled by its worker and drained by the consumer.
  struct UnitOutput {
    std::deque<Frame> frames;  // converted wanted frames, ascending pts (sample fields unset)
    bool finished = false;
  };
  class Worker;

  void run_worker();
  bool cancelled() const;
  // Blocks a worker of a unit ahead of the consumer while too many frames wait.
  bool wait_for_room(size_t unit);
  void publish(size_t unit, Frame frame);
  void finish_unit(size_t unit);
  void record_decode_error(const std::string& message);
  void fail(std::exception_ptr error);

  const MediaSource source_;
  const DecodeOptions options_;
  const KeyframeIndex index_;
  const StreamInfo info_;
  const std::vector<Sample> samples_;
  IntervalPlan plan_;
  size_t max_units_in_flight_ = 1;
  size_t frame_capacity_ = 1;  // frames that may wait before workers ahead of the consumer pause
  mutable DecodeCounters counters_;

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<UnitOutput> outputs_;
  size_t next_unit_to_claim_ = 0;
  size_t consumer_unit_ = 0;    // unit the consumer is draining
  size_t buffered_frames_ = 0;  // frames waiting in all outputs
  size_t next_sample_ = 0;
  std::optional<Frame> last_emitted_;  // reused when the next sample shows the same frame
  bool cancelled_ = false;
  std::exception_ptr error_;
  DamageReport damage_;

  std::vector<std::thread> threads_;
};

}  // namespace vigil::decoder

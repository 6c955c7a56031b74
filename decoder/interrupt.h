// A deadline and a cancel flag that FFmpeg polls while it blocks on network I/O.
#pragma once

#include <atomic>
#include <chrono>

extern "C" {
#include <libavformat/avformat.h>
}

namespace vigil::decoder {

// Thread-safe. Installed as AVFormatContext::interrupt_callback; the owner arms a deadline
// before each blocking call (open, read) so a stalled source fails instead of hanging.
class Interrupter {
 public:
  using Clock = std::chrono::steady_clock;

  void arm(std::chrono::milliseconds timeout) {
    deadline_ns_.store((Clock::now() + timeout).time_since_epoch().count());
    fired_.store(false);
  }
  void cancel() { cancelled_.store(true); }
  bool cancelled() const { return cancelled_.load(); }
  // True once the armed deadline passed during a blocking call (so the error is a timeout).
  bool timed_out() const { return fired_.load(); }

  AVIOInterruptCB callback() { return AVIOInterruptCB{&Interrupter::poll, this}; }

 private:
  static int poll(void* opaque) {
    auto* self = static_cast<Interrupter*>(opaque);
    if (self->cancelled_.load()) return 1;
    if (Clock::now().time_since_epoch().count() > self->deadline_ns_.load()) {
      self->fired_.store(true);
      return 1;
    }
    return 0;
  }

  std::atomic<int64_t> deadline_ns_{Clock::time_point::max().time_since_epoch().count()};
  std::atomic<bool> cancelled_{false};
  std::atomic<bool> fired_{false};
};

}  // namespace vigil::decoder

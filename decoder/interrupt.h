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
  }
  void cancel() { cancelled_.store(true); }
  // Also stops whenever `parent` is cancelled: a decoder's own cancel signal reaches an input
  // it is still opening (a reconnect). Set before the first blocking call; parent outlives it.
  void follow(const Interrupter* parent) { parent_ = parent; }
  bool cancelled() const { return cancelled_.load(); }
  // True once an armed deadline passed during a blocking call (so the error is a timeout).
  // Sticky, not reset by arm(): the interrupted AVIOContext keeps the error and a later read
  // (after the demuxer flushed a buffered packet) returns it without polling again.
  bool timed_out() const { return fired_.load(); }
  // Forgets a deadline that passed while the input was opened, once the open succeeded anyway
  // (FFmpeg's stream probe stops at the deadline with what it has read: a slow live stream).
  // Only for inputs whose reads keep their own deadline and no interrupted AVIOContext (pushed
  // bytes: PushSource); for the others the sticky flag is what names a later error a timeout.
  void forget_timeout() { fired_.store(false); }

  AVIOInterruptCB callback() { return AVIOInterruptCB{&Interrupter::poll, this}; }

 private:
  static int poll(void* opaque) {
    auto* self = static_cast<Interrupter*>(opaque);
    if (self->cancelled_.load()) return 1;
    if (self->parent_ != nullptr && self->parent_->cancelled()) return 1;
    if (Clock::now().time_since_epoch().count() > self->deadline_ns_.load()) {
      self->fired_.store(true);
      return 1;
    }
    return 0;
  }

  std::atomic<int64_t> deadline_ns_{Clock::time_point::max().time_since_epoch().count()};
  std::atomic<bool> cancelled_{false};
  std::atomic<bool> fired_{false};
  const Interrupter* parent_ = nullptr;
};

}  // namespace vigil::decoder

// Whole JPEG pictures pushed by a client (e.g. one per WebSocket message), each with its time,
// waiting to be decoded: the JPEG counterpart of PushSource.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace vigil::decoder {

struct PushedPicture {
  std::vector<uint8_t> jpeg;  // one complete JPEG picture
  double time_seconds = 0;    // the client's timestamp or its arrival time, increasing
};

// Thread-safe: producers call push/close/cancel, one decoding thread calls pop. push never
// blocks (the network thread must not); pop blocks with its own deadline.
class JpegPushSource {
 public:
  // Called on the decoding thread for a picture that could not be decoded: its time and why.
  using RejectedHandler = std::function<void(double time_seconds, const std::string& reason)>;

  // capacity_pictures and capacity_bytes bound what waits to be decoded; read_timeout bounds
  // one pop.
  JpegPushSource(size_t capacity_pictures, size_t capacity_bytes,
                 std::chrono::milliseconds read_timeout, RejectedHandler on_rejected = nullptr);

  // Queues a picture. Returns false (and keeps nothing) when the queue is full or the source
  // is closed: the caller applies backpressure to its client. Times must increase (the
  // caller's contract; pop returns them in push order).
  bool push(std::vector<uint8_t> jpeg, double time_seconds);
  // End of pictures: pop drains what is queued, then returns std::nullopt.
  void close();
  // Abandons the pictures: a blocked pop returns std::nullopt at once.
  void cancel();

  // The next picture; std::nullopt after close (once drained) or cancel. Throws
  // DecodeError(kTimeout) when none arrives within read_timeout.
  std::optional<PushedPicture> pop();
  // Reports a picture the decoder rejected to the handler given at construction (if any).
  void reject(double time_seconds, const std::string& reason) const;

  size_t queued_pictures() const;
  int64_t total_pictures_pushed() const;

 private:
  const size_t capacity_pictures_;
  const size_t capacity_bytes_;
  const std::chrono::milliseconds read_timeout_;
  const RejectedHandler on_rejected_;
  mutable std::mutex mutex_;
  std::condition_variable readable_;
  std::deque<PushedPicture> pictures_;
  size_t queued_bytes_ = 0;
  int64_t total_pushed_ = 0;
  bool closed_ = false;
  bool cancelled_ = false;
};

}  // namespace vigil::decoder

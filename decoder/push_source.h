// Bytes pushed by a client (MPEG-TS or fragmented MP4 chunks, e.g. from a WebSocket) that
// libavformat reads through a custom, non-seekable AVIOContext.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <vector>

namespace vigil::decoder {

// Thread-safe: one or more producers call push/close; the demuxer thread calls read.
// push never blocks (the network thread must not); read blocks with its own deadline,
// because FFmpeg's interrupt callback does not cover custom I/O.
class PushSource {
 public:
  // capacity_bytes bounds what is buffered but not yet read; read_timeout bounds one read.
  PushSource(size_t capacity_bytes, std::chrono::milliseconds read_timeout);

  // Appends a chunk. Returns false (and keeps nothing) when the buffer would exceed its
  // capacity or the source is closed: the caller applies backpressure to its client.
  bool push(const uint8_t* data, size_t size);
  // End of stream: reads drain what is buffered, then report end of file.
  void close();
  // Abandons the stream: a blocked read returns at once.
  void cancel();

  // The AVIOContext read callback's body: copies up to size bytes into out. Returns the
  // byte count, AVERROR_EOF after close, AVERROR_EXIT after cancel, or AVERROR(ETIMEDOUT)
  // when no byte arrives within read_timeout.
  int read(uint8_t* out, int size);

  size_t buffered_bytes() const;
  int64_t total_bytes_pushed() const;
  bool timed_out() const;

 private:
  const size_t capacity_bytes_;
  const std::chrono::milliseconds read_timeout_;
  mutable std::mutex mutex_;
  std::condition_variable readable_;
  std::deque<std::vector<uint8_t>> chunks_;
  size_t front_offset_ = 0;  // bytes of chunks_.front() already read
  size_t buffered_ = 0;
  int64_t total_pushed_ = 0;
  bool closed_ = false;
  bool cancelled_ = false;
  bool timed_out_ = false;
};

}  // namespace vigil::decoder

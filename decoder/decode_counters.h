// Counters for the decoder's expensive steps; tests assert on them and /metrics exports them.
#pragma once

#include <atomic>
#include <cstdint>

namespace vigil::decoder {

// A consistent-enough copy of the counters (each field read atomically).
struct DecodeCountersSnapshot {
  int64_t packets_read = 0;      // video packets demuxed
  int64_t frames_decoded = 0;    // pictures the codec produced
  int64_t frames_skipped = 0;    // non-reference pictures not decoded (AVDISCARD_NONREF)
  int64_t frames_converted = 0;  // pictures converted to RGB by swscale
  int64_t frames_dropped = 0;    // live only: whole frames dropped because the consumer lagged
  int64_t seeks = 0;             // demuxer seeks (one per keyframe-aligned interval)
  int64_t decode_errors = 0;     // packets the codec rejected, pictures it concealed errors in
  int64_t reconnects = 0;        // live only: times the source was reopened
};

// Thread-safe counters shared by the decoder's threads.
struct DecodeCounters {
  std::atomic<int64_t> packets_read{0};
  std::atomic<int64_t> frames_decoded{0};
  std::atomic<int64_t> frames_skipped{0};
  std::atomic<int64_t> frames_converted{0};
  std::atomic<int64_t> frames_dropped{0};
  std::atomic<int64_t> seeks{0};
  std::atomic<int64_t> decode_errors{0};
  std::atomic<int64_t> reconnects{0};

  DecodeCountersSnapshot snapshot() const {
    DecodeCountersSnapshot s;
    s.packets_read = packets_read.load();
    s.frames_decoded = frames_decoded.load();
    s.frames_skipped = frames_skipped.load();
    s.frames_converted = frames_converted.load();
    s.frames_dropped = frames_dropped.load();
    s.seeks = seeks.load();
    s.decode_errors = decode_errors.load();
    s.reconnects = reconnects.load();
    return s;
  }
};

}  // namespace vigil::decoder

// The exact timeline of a video stream from one scan of its packets (no decoding):
// every packet in decode order, every frame in presentation order, and the keyframes.
#pragma once

#include <cstdint>
#include <vector>

#include "decoder/decode_counters.h"
#include "decoder/media_source.h"

namespace vigil::decoder {

struct PacketEntry {
  int64_t pts = 0;       // presentation timestamp (time_base units); dts when the demuxer gave none
  int64_t dts = 0;       // decode timestamp, AV_NOPTS_VALUE when unknown
  int64_t position = 0;  // byte offset in the file, -1 when unknown
  int64_t duration = 0;  // time_base units, 0 when unknown
  int size = 0;          // bytes
  bool keyframe = false;
  bool shown = true;  // false for packets decoded but never displayed (edit lists)
};

class KeyframeIndex {
 public:
  // Reads every packet of input's video stream from the start; the demuxer is left at the
  // end. Throws DecodeError(kEmptyInput) when the stream has no packet with a timestamp.
  static KeyframeIndex scan(OpenedInput& input, std::chrono::milliseconds read_timeout,
                            DecodeCounters* counters = nullptr);

  // All packets in decode (file) order.
  const std::vector<PacketEntry>& packets() const { return packets_; }
  // Decode-order positions of the keyframes, ascending.
  const std::vector<size_t>& keyframes() const { return keyframes_; }
  // Decode-order positions of the shown frames, sorted by presentation time: element i is
  // the packet of the frame with presentation index i.
  const std::vector<size_t>& presentation_order() const { return presentation_order_; }

  int64_t frame_count() const { return static_cast<int64_t>(presentation_order_.size()); }
  int64_t frame_pts(int64_t frame_index) const {
    return packets_[presentation_order_[frame_index]].pts;
  }
  int64_t first_pts() const { return frame_pts(0); }
  // End of the last frame: its pts plus its duration (or the typical frame spacing).
  int64_t end_pts() const { return end_pts_; }
  // Presentation index of the last frame whose pts <= pts, or -1 if pts precedes the first.
  int64_t frame_at_pts(int64_t pts) const;
  // False when packets carry no presentation timestamps and the codec reorders pictures
  // (AVI with packed B-frames): then only decoding tells each picture's time, and the
  // archive must be decoded in one ordered pass.
  bool presentation_exact() const { return presentation_exact_; }

 private:
  std::vector<PacketEntry> packets_;
  std::vector<size_t> keyframes_;
  std::vector<size_t> presentation_order_;
  int64_t end_pts_ = 0;
  bool presentation_exact_ = true;
};

}  // namespace vigil::decoder

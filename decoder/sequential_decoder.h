// In-order decoding of one input: live URLs and pushed bytes (lowest latency, whole frames
// dropped when the consumer lags, reconnect for URLs), and the one-pass reference path for
// archives. A reader thread demuxes; a decoder thread decodes, samples and converts.
#pragma once

#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>

#include "decoder/frame_source.h"

namespace vigil::decoder {

class SequentialDecoder final : public FrameSource {
 public:
  enum class Pacing {
    kLossless,  // every frame reaches the consumer; the reader waits when queues are full
    kLive,      // the reader never waits: a full queue drops whole frames, counted
  };

  // input: already opened on source (pushed bytes cannot be read twice).
  SequentialDecoder(MediaSource source, DecodeOptions options, Pacing pacing, OpenedInput input,
                    StreamInfo info);
  ~SequentialDecoder() override;

  std::optional<Frame> next() override;
  void cancel() override;
  const StreamInfo& info() const override { return info_; }
  DecodeCountersSnapshot counters() const override { return counters_.snapshot(); }
  DamageReport damage() const override;
  int64_t planned_samples() const override { return -1; }

 private:
  // A demuxed packet, or a change of input after a reconnect, or the end.
  struct PacketItem {
    PacketPtr packet;
    CodecParametersPtr new_stream;  // set: the input was reopened with these parameters
    AVRational new_time_base{1, 1};
    bool end = false;
    std::exception_ptr error;  // with end: why the source stopped
  };
  class Sampler;

  void read_loop();
  void decode_loop();
  bool reconnect(std::exception_ptr& error);
  bool push_packet(PacketItem item);  // false once cancelled
  bool pop_packet(PacketItem& item);
  void push_frame(Frame frame);
  void end_frames(std::exception_ptr error);
  void record_decode_error(const std::string& message);
  bool cancelled() const;

  const MediaSource source_;
  const DecodeOptions options_;
  const Pacing pacing_;
  // Cancelled by cancel(); reaches an input that a reconnect is still opening.
  Interrupter cancel_signal_;
  OpenedInput input_;  // owned by the reader thread after construction
  const StreamInfo info_;
  mutable DecodeCounters counters_;

  mutable std::mutex mutex_;
  std::condition_variable packets_changed_;
  std::condition_variable frames_changed_;
  std::deque<PacketItem> packets_;
  bool dropping_until_keyframe_ = false;
  std::deque<Frame> frames_;
  bool frames_ended_ = false;
  std::exception_ptr error_;
  bool cancelled_ = false;
  bool reader_stop_ = false;  // the decoder thread ended: nothing more to read for
  DamageReport damage_;

  std::thread reader_;
  std::thread decoder_;
};

}  // namespace vigil::decoder

// A FrameSource over pushed JPEG pictures (JpegPushSource): each picture is decoded as it
// arrives (JpegDecoder) and sampled on the pictures' own timeline, so the rest of vigil sees the
// same RGB frames as from a decoded video stream.
//
// Timeline: time 0 is the first picture's time; a frame's time_seconds is its picture's time on
// it. Sampling at a rate (or at times) takes a picture when its time reaches the next sample
// time not yet taken, then moves past it: sample times that fell between two pictures are not
// filled with repeats (a live client decides its own picture rate). Every picture is decoded,
// sampled or not, so that each corrupt one is reported (JpegPushSource::reject) and counted in
// decode_errors; decoding goes on with the next picture.
#pragma once

#include <memory>
#include <mutex>
#include <optional>

#include "decoder/frame_source.h"
#include "decoder/jpeg_decoder.h"
#include "decoder/jpeg_push_source.h"

namespace vigil::decoder {

class JpegFrameSource final : public FrameSource {
 public:
  // Reads pictures from `pictures` (shared with its producer). options: sampling and
  // output_size are used. Throws DecodeError(kInvalidRequest) for a rate that is not > 0.
  JpegFrameSource(std::shared_ptr<JpegPushSource> pictures, const DecodeOptions& options);

  // Throws DecodeError(kTimeout) when no picture arrives within the push source's timeout.
  std::optional<Frame> next() override;
  void cancel() override;
  const StreamInfo& info() const override { return info_; }
  DecodeCountersSnapshot counters() const override { return counters_.snapshot(); }
  DamageReport damage() const override;
  int64_t planned_samples() const override { return -1; }

 private:
  // Sample time k of the request; false when the request has no more.
  bool target(size_t k, double& time) const;
  bool sampled(double time_seconds);

  std::shared_ptr<JpegPushSource> pictures_;
  DecodeOptions options_;
  JpegDecoder decoder_;
  StreamInfo info_;
  DecodeCounters counters_;
  mutable std::mutex damage_mutex_;
  DamageReport damage_;
  std::vector<double> sorted_times_;  // kTimes
  std::optional<double> origin_seconds_;
  size_t next_target_ = 0;
  int64_t next_sample_index_ = 0;
  int64_t next_picture_index_ = 0;
};

}  // namespace vigil::decoder

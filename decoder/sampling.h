// Which frames to return: at a steady rate or at given times, on the video's own timeline
// where time 0 is the first frame shown. The frame shown at time t is the last frame whose
// pts <= t.
#pragma once

#include <cstdint>
#include <vector>

extern "C" {
#include <libavutil/rational.h>
}

namespace vigil::decoder {

struct SampleRequest {
  enum class Mode { kAllFrames, kFramesPerSecond, kTimes };
  Mode mode = Mode::kAllFrames;
  double frames_per_second = 0;       // kFramesPerSecond: > 0
  std::vector<double> times_seconds;  // kTimes: each >= 0, in any order

  static SampleRequest all_frames() { return {}; }
  static SampleRequest at_rate(double frames_per_second);
  static SampleRequest at_times(std::vector<double> times_seconds);
};

// One requested sample and, once planned, the frame that answers it.
struct Sample {
  double time_seconds = 0;  // on the video timeline, 0 = first frame shown
  int64_t target_pts = 0;   // the time in stream time_base units
};

// The sample times of a request on a video lasting duration_pts from first_pts, in
// ascending time order. kTimes keeps duplicates. Throws DecodeError(kInvalidRequest) for a
// rate <= 0 or a time outside [0, duration).
std::vector<Sample> plan_samples(const SampleRequest& request, int64_t first_pts, int64_t end_pts,
                                 AVRational time_base);

// pts on the stream timeline of a time on the video timeline: the time is rounded to the
// microsecond grid, then to the tick at or below it, where a tick less than half a
// microsecond above counts as reached (a frame's own pts_seconds selects that frame).
int64_t time_to_pts(double time_seconds, int64_t first_pts, AVRational time_base);

// The k-th sample time of a rate, exact on the microsecond grid.
double rate_sample_time(int64_t k, double frames_per_second);

}  // namespace vigil::decoder

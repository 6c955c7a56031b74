#include "decoder/sampling.h"

#include <algorithm>
#include <cmath>
#include <sstream>

extern "C" {
#include <libavutil/mathematics.h>
}

#include "decoder/decode_error.h"

namespace vigil::decoder {
namespace {

// A plan beyond this many samples is a mistake (a rate of 1e12 fps), not a request.
constexpr size_t kMaxSamples = 50'000'000;

}  // namespace

SampleRequest SampleRequest::at_rate(double frames_per_second) {
  SampleRequest request;
  request.mode = Mode::kFramesPerSecond;
  request.frames_per_second = frames_per_second;
  return request;
}

SampleRequest SampleRequest::at_times(std::vector<double> times_seconds) {
  SampleRequest request;
  request.mode = Mode::kTimes;
  request.times_seconds = std::move(times_seconds);
  return request;
}

int64_t time_to_pts(double time_seconds, int64_t first_pts, AVRational time_base) {
  const int64_t microseconds = std::llround(time_seconds * 1e6);
  // A time on the microsecond grid stands for the half microsecond around it, so a frame
  // boundary that close counts as reached: a frame's own pts_seconds selects that frame even
  // where the time base is no whole number of microseconds (1/19200, 1/90000, 125/2997).
  return first_pts + av_rescale_rnd(2 * microseconds + 1, time_base.den,
                                    static_cast<int64_t>(time_base.num) * 2000000, AV_ROUND_DOWN);
}

double rate_sample_time(int64_t k, double frames_per_second) {
  return static_cast<double>(std::llround(static_cast<double>(k) * 1e6 / frames_per_second)) / 1e6;
}

std::vector<Sample> plan_samples(const SampleRequest& request, int64_t first_pts, int64_t end_pts,
                                 AVRational time_base) {
  const double duration = static_cast<double>(end_pts - first_pts) * av_q2d(time_base);
  std::vector<Sample> samples;
  switch (request.mode) {
    case SampleRequest::Mode::kAllFrames:
      throw DecodeError(DecodeErrorKind::kInvalidRequest, "plan_samples: all frames needs no plan");
    case SampleRequest::Mode::kFramesPerSecond: {
      if (!(request.frames_per_second > 0) || !std::isfinite(request.frames_per_second)) {
        throw DecodeError(DecodeErrorKind::kInvalidRequest,
                          "the sampling rate must be a positive number of frames per second");
      }
      for (int64_t k = 0;; ++k) {
        const double time = rate_sample_time(k, request.frames_per_second);
        const int64_t pts = time_to_pts(time, first_pts, time_base);
        if (pts >= end_pts) break;
        if (samples.size() >= kMaxSamples) {
          throw DecodeError(
              DecodeErrorKind::kInvalidRequest,
              "the sampling rate asks for more than " + std::to_string(kMaxSamples) + " frames");
        }
        samples.push_back({time, pts});
      }
      break;
    }
    case SampleRequest::Mode::kTimes: {
      for (const double time : request.times_seconds) {
        const int64_t pts = std::isfinite(time) ? time_to_pts(time, first_pts, time_base) : end_pts;
        if (!(time >= 0) || pts >= end_pts) {
          std::ostringstream message;
          message << "time " << time << " s is outside the video, which lasts " << duration << " s";
          throw DecodeError(DecodeErrorKind::kInvalidRequest, message.str());
        }
        samples.push_back({time, pts});
      }
      std::stable_sort(samples.begin(), samples.end(), [](const Sample& a, const Sample& b) {
        return a.time_seconds < b.time_seconds;
      });
      break;
    }
  }
  return samples;
}

}  // namespace vigil::decoder

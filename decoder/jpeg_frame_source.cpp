#include "decoder/jpeg_frame_source.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "decoder/decode_error.h"
#include "decoder/sampling.h"

namespace vigil::decoder {
namespace {

constexpr int kMicroseconds = 1000000;  // the pictures' time base: 1/1000000 s

}  // namespace

JpegFrameSource::JpegFrameSource(std::shared_ptr<JpegPushSource> pictures,
                                 const DecodeOptions& options)
    : pictures_(std::move(pictures)), options_(options), decoder_(options.output_size) {
  if (options_.sampling.mode == SampleRequest::Mode::kFramesPerSecond &&
      !(options_.sampling.frames_per_second > 0 &&
        std::isfinite(options_.sampling.frames_per_second))) {
    throw DecodeError(DecodeErrorKind::kInvalidRequest,
                      "pushed JPEG pictures: the sampling rate must be a positive number of "
                      "frames per second");
  }
  sorted_times_ = options_.sampling.times_seconds;
  std::sort(sorted_times_.begin(), sorted_times_.end());
  info_.container = "jpeg";
  info_.codec = "mjpeg";
  info_.time_base_num = 1;
  info_.time_base_den = kMicroseconds;
}

bool JpegFrameSource::target(size_t k, double& time) const {
  switch (options_.sampling.mode) {
    case SampleRequest::Mode::kAllFrames:
      return false;
    case SampleRequest::Mode::kFramesPerSecond:
      time = rate_sample_time(static_cast<int64_t>(k), options_.sampling.frames_per_second);
      return true;
    case SampleRequest::Mode::kTimes:
      if (k >= sorted_times_.size()) return false;
      time = sorted_times_[k];
      return true;
  }
  return false;
}

// Whether the picture at time_seconds (on the pictures' timeline) is taken; advances the
// targets past it when it is.
bool JpegFrameSource::sampled(double time_seconds) {
  if (options_.sampling.mode == SampleRequest::Mode::kAllFrames) return true;
  // Microsecond grid, as the decoders: a picture exactly at a sample time takes it.
  const auto at = [](double seconds) { return std::llround(seconds * kMicroseconds); };
  double time = 0;
  if (!target(next_target_, time) || at(time) > at(time_seconds)) return false;
  while (target(next_target_, time) && at(time) <= at(time_seconds)) ++next_target_;
  return true;
}

std::optional<Frame> JpegFrameSource::next() {
  while (std::optional<PushedPicture> picture = pictures_->pop()) {
    counters_.packets_read.fetch_add(1);
    const int64_t picture_index = next_picture_index_++;
    if (!origin_seconds_) origin_seconds_ = picture->time_seconds;
    const double time_seconds = picture->time_seconds - *origin_seconds_;
    try {
      decoder_.decode_picture(picture->jpeg.data(), picture->jpeg.size());
    } catch (const DecodeError& error) {
      counters_.decode_errors.fetch_add(1);
      {
        std::lock_guard<std::mutex> lock(damage_mutex_);
        ++damage_.decode_errors;
        if (damage_.first_error.empty()) damage_.first_error = error.what();
      }
      pictures_->reject(picture->time_seconds, error.what());
      continue;
    }
    counters_.frames_decoded.fetch_add(1);
    if (!sampled(time_seconds)) {
      counters_.frames_skipped.fetch_add(1);
      continue;
    }
    Frame frame;
    frame.sample_index = next_sample_index_++;
    frame.time_seconds = time_seconds;
    frame.frame_index = picture_index;
    frame.pts = std::llround(picture->time_seconds * kMicroseconds);
    frame.time_base_num = 1;
    frame.time_base_den = kMicroseconds;
    frame.pts_seconds = static_cast<double>(frame.pts) / kMicroseconds;
    decoder_.convert_last(frame);
    counters_.frames_converted.fetch_add(1);
    return frame;
  }
  return std::nullopt;
}

void JpegFrameSource::cancel() {
  pictures_->cancel();
}

DamageReport JpegFrameSource::damage() const {
  std::lock_guard<std::mutex> lock(damage_mutex_);
  return damage_;
}

}  // namespace vigil::decoder

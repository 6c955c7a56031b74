#include "decoder/jpeg_push_source.h"

#include <utility>

#include "decoder/decode_error.h"

namespace vigil::decoder {

JpegPushSource::JpegPushSource(size_t capacity_pictures, size_t capacity_bytes,
                               std::chrono::milliseconds read_timeout, RejectedHandler on_rejected)
    : capacity_pictures_(capacity_pictures),
      capacity_bytes_(capacity_bytes),
      read_timeout_(read_timeout),
      on_rejected_(std::move(on_rejected)) {}

bool JpegPushSource::push(std::vector<uint8_t> jpeg, double time_seconds) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_ || cancelled_) return false;
    if (pictures_.size() >= capacity_pictures_ || queued_bytes_ + jpeg.size() > capacity_bytes_) {
      return false;
    }
    queued_bytes_ += jpeg.size();
    ++total_pushed_;
    pictures_.push_back({std::move(jpeg), time_seconds});
  }
  readable_.notify_one();
  return true;
}

void JpegPushSource::close() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    closed_ = true;
  }
  readable_.notify_all();
}

void JpegPushSource::cancel() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    cancelled_ = true;
    pictures_.clear();
    queued_bytes_ = 0;
  }
  readable_.notify_all();
}

std::optional<PushedPicture> JpegPushSource::pop() {
  std::unique_lock<std::mutex> lock(mutex_);
  const bool ready = readable_.wait_for(
      lock, read_timeout_, [&] { return cancelled_ || closed_ || !pictures_.empty(); });
  if (cancelled_) return std::nullopt;
  if (!ready) {
    throw DecodeError(DecodeErrorKind::kTimeout, "pushed JPEG pictures: none arrived within " +
                                                     std::to_string(read_timeout_.count()) + " ms");
  }
  if (pictures_.empty()) return std::nullopt;  // closed and drained
  PushedPicture picture = std::move(pictures_.front());
  pictures_.pop_front();
  queued_bytes_ -= picture.jpeg.size();
  return picture;
}

void JpegPushSource::reject(double time_seconds, const std::string& reason) const {
  if (on_rejected_) on_rejected_(time_seconds, reason);
}

size_t JpegPushSource::queued_pictures() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return pictures_.size();
}

int64_t JpegPushSource::total_pictures_pushed() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return total_pushed_;
}

}  // namespace vigil::decoder

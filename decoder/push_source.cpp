#include "decoder/push_source.h"

#include <algorithm>
#include <cstring>

extern "C" {
#include <libavutil/error.h>
}

namespace vigil::decoder {

PushSource::PushSource(size_t capacity_bytes, std::chrono::milliseconds read_timeout)
    : capacity_bytes_(capacity_bytes), read_timeout_(read_timeout) {}

bool PushSource::push(const uint8_t* data, size_t size) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_ || cancelled_ || buffered_ + size > capacity_bytes_) return false;
    if (size == 0) return true;
    chunks_.emplace_back(data, data + size);
    buffered_ += size;
    total_pushed_ += static_cast<int64_t>(size);
  }
  readable_.notify_one();
  return true;
}

void PushSource::close() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    closed_ = true;
  }
  readable_.notify_all();
}

void PushSource::cancel() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    cancelled_ = true;
  }
  readable_.notify_all();
}

int PushSource::read(uint8_t* out, int size) {
  std::unique_lock<std::mutex> lock(mutex_);
  const bool ready = readable_.wait_for(lock, read_timeout_,
                                        [this] { return cancelled_ || closed_ || buffered_ > 0; });
  if (cancelled_) return AVERROR_EXIT;
  if (!ready) {
    timed_out_ = true;
    return AVERROR(ETIMEDOUT);
  }
  if (buffered_ == 0) return AVERROR_EOF;  // closed and drained

  size_t copied = 0;
  const size_t wanted = static_cast<size_t>(std::max(size, 0));
  while (copied < wanted && !chunks_.empty()) {
    const std::vector<uint8_t>& chunk = chunks_.front();
    const size_t take = std::min(wanted - copied, chunk.size() - front_offset_);
    std::memcpy(out + copied, chunk.data() + front_offset_, take);
    copied += take;
    front_offset_ += take;
    if (front_offset_ == chunk.size()) {
      chunks_.pop_front();
      front_offset_ = 0;
    }
  }
  buffered_ -= copied;
  return static_cast<int>(copied);
}

size_t PushSource::buffered_bytes() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return buffered_;
}

int64_t PushSource::total_bytes_pushed() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return total_pushed_;
}

bool PushSource::timed_out() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return timed_out_;
}

}  // namespace vigil::decoder

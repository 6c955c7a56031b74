#include "decoder/sequential_decoder.h"

#include <algorithm>
#include <cassert>

#include "decoder/decode_error.h"
#include "decoder/video_codec.h"

namespace vigil::decoder {

// Turns decoded pictures, in presentation order, into samples. The picture shown at time t
// is the last one whose pts <= t, so a picture is emitted once the next one (or the end)
// shows which sample times it covers; every frame mode emits at once.
class SequentialDecoder::Sampler {
 public:
  Sampler(SequentialDecoder& owner, AVRational time_base)
      : owner_(owner),
        converter_(owner.options_.output_size, owner.info_.rotation_degrees),
        held_(make_frame()),
        time_base_(time_base) {}

  // A new input (reconnect): the timeline continues where the last picture ended.
  void restart(AVRational time_base) {
    finish();
    time_offset_ = end_time_;
    time_base_ = time_base;
    has_origin_ = false;
  }

  // Returns false once no later picture can be sampled (all requested times are done).
  bool add(AVFrame& frame) {
    int64_t pts = frame.best_effort_timestamp;
    if (pts == AV_NOPTS_VALUE) {
      if (!has_origin_) return true;  // nothing to extrapolate from yet
      // A picture without a timestamp follows the last one at the usual spacing.
      pts = last_pts_ + std::max<int64_t>(previous_spacing_, 1);
    }
    if (has_origin_ && owner_.pacing_ == Pacing::kLive && is_discontinuity(pts)) {
      // The live source's clock jumped (encoder restart, MPEG-TS discontinuity): continue
      // the timeline right after the last picture, as after a reconnect, instead of
      // dropping every picture until the clock catches up or repeating one for hours.
      restart(time_base_);
    }
    if (!has_origin_) {
      origin_pts_ = pts;
      has_origin_ = true;
    } else if (pts <= last_pts_) {
      return true;  // out of order or repeated: not a new picture
    } else {
      previous_spacing_ = pts - last_pts_;
    }
    last_pts_ = pts;
    const SampleRequest& request = owner_.options_.sampling;
    if (request.mode == SampleRequest::Mode::kAllFrames) {
      emit(frame, pts, time_of(pts), next_frame_index_++);
      end_time_ = time_of(pts + std::max<int64_t>(frame.pkt_duration, 1));
      return true;
    }
    if (has_held_) emit_covered(pts);
    av_frame_unref(held_.get());
    av_frame_ref(held_.get(), &frame);
    has_held_ = true;
    held_pts_ = pts;
    held_index_ = next_frame_index_++;
    return !times_exhausted();
  }

  // End of an input: the held picture covers the times up to its own end.
  void finish() {
    if (!has_held_) return;
    const int64_t duration =
        held_->pkt_duration > 0 ? held_->pkt_duration : std::max<int64_t>(previous_spacing_, 1);
    emit_covered(held_pts_ + duration);
    end_time_ = time_of(held_pts_ + duration);
    av_frame_unref(held_.get());
    has_held_ = false;
  }

 private:
  // Thresholds as in the ffmpeg CLI's dts_delta_threshold (10 s) forwards; backwards, more
  // than any picture reordering moves a timestamp.
  bool is_discontinuity(int64_t pts) const {
    const double step =
        (static_cast<double>(pts) - static_cast<double>(last_pts_)) * av_q2d(time_base_);
    return step > 10.0 || step < -1.0;
  }

  double time_of(int64_t pts) const {
    return time_offset_ + static_cast<double>(pts - origin_pts_) * av_q2d(time_base_);
  }

  // Target k of the request, as a time on the whole timeline; false when there is none.
  bool target(size_t k, double& time) const {
    const SampleRequest& request = owner_.options_.sampling;
    if (request.mode == SampleRequest::Mode::kFramesPerSecond) {
      time = rate_sample_time(static_cast<int64_t>(k), request.frames_per_second);
      return true;
    }
    if (k >= sorted_times().size()) return false;
    time = sorted_times()[k];
    return true;
  }

  const std::vector<double>& sorted_times() const {
    if (sorted_times_.size() != owner_.options_.sampling.times_seconds.size()) {
      sorted_times_ = owner_.options_.sampling.times_seconds;
      std::sort(sorted_times_.begin(), sorted_times_.end());
    }
    return sorted_times_;
  }

  bool times_exhausted() const {
    double time = 0;
    return !target(next_target_, time);
  }

  // Emits the held picture for every target before `until_pts` (exclusive).
  void emit_covered(int64_t until_pts) {
    double time = 0;
    while (target(next_target_, time)) {
      const int64_t target_pts = time_to_pts(time - time_offset_, origin_pts_, time_base_);
      if (target_pts >= until_pts) break;
      emit(*held_, held_pts_, time, held_index_);
      ++next_target_;
    }
  }

  void emit(AVFrame& picture, int64_t pts, double time, int64_t frame_index) {
    Frame out;
    if (converted_pts_ == pts && converted_index_ == frame_index) {
      out.rgb = converted_.rgb;
      out.width = converted_.width;
      out.height = converted_.height;
    } else {
      converter_.convert(picture, out.rgb, out.width, out.height);
      owner_.counters_.frames_converted.fetch_add(1);
      if (owner_.options_.sampling.mode != SampleRequest::Mode::kAllFrames) {
        converted_.rgb = out.rgb;  // kept in case the next sample shows the same picture
        converted_.width = out.width;
        converted_.height = out.height;
        converted_pts_ = pts;
        converted_index_ = frame_index;
      }
    }
    out.sample_index = next_sample_index_++;
    out.time_seconds = time;
    out.frame_index = frame_index;
    out.pts = pts;
    out.time_base_num = time_base_.num;
    out.time_base_den = time_base_.den;
    out.pts_seconds = static_cast<double>(pts) * av_q2d(time_base_);
    owner_.push_frame(std::move(out));
  }

  SequentialDecoder& owner_;
  FrameConverter converter_;
  FramePtr held_;
  bool has_held_ = false;
  int64_t held_pts_ = 0;
  int64_t held_index_ = 0;
  int64_t previous_spacing_ = 0;  // pts distance between the last two pictures
  int64_t last_pts_ = 0;
  AVRational time_base_;
  bool has_origin_ = false;
  int64_t origin_pts_ = 0;
  double time_offset_ = 0;  // timeline time of origin_pts_ (non-zero after a reconnect)
  double end_time_ = 0;
  size_t next_target_ = 0;
  int64_t next_frame_index_ = 0;
  int64_t next_sample_index_ = 0;
  mutable std::vector<double> sorted_times_;
  Frame converted_;
  int64_t converted_pts_ = AV_NOPTS_VALUE;
  int64_t converted_index_ = -1;
};

SequentialDecoder::SequentialDecoder(MediaSource source, DecodeOptions options, Pacing pacing,
                                     OpenedInput input, StreamInfo info)
    : source_(std::move(source)),
      options_(std::move(options)),
      pacing_(pacing),
      input_(std::move(input)),
      info_(std::move(info)) {
  // The decoder thread starts from the parameters of the input as opened.
  PacketItem first;
  first.new_stream = copy_codec_parameters(*input_.stream()->codecpar);
  first.new_time_base = input_.stream()->time_base;
  packets_.push_back(std::move(first));
  decoder_ = std::thread([this] { decode_loop(); });
  reader_ = std::thread([this] { read_loop(); });
}

SequentialDecoder::~SequentialDecoder() {
  cancel();
  reader_.join();
  decoder_.join();
}

void SequentialDecoder::cancel() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    cancelled_ = true;
    // Under the lock: a reconnect replaces input_ under the same lock.
    if (input_.interrupter != nullptr) input_.interrupter->cancel();
  }
  cancel_signal_.cancel();
  if (source_.push_source() != nullptr) source_.push_source()->cancel();
  packets_changed_.notify_all();
  frames_changed_.notify_all();
}

bool SequentialDecoder::cancelled() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return cancelled_;
}

DamageReport SequentialDecoder::damage() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return damage_;
}

void SequentialDecoder::record_decode_error(const std::string& message) {
  counters_.decode_errors.fetch_add(1);
  std::lock_guard<std::mutex> lock(mutex_);
  damage_.decode_errors += 1;
  if (damage_.first_error.empty()) damage_.first_error = message;
}

bool SequentialDecoder::push_packet(PacketItem item) {
  std::unique_lock<std::mutex> lock(mutex_);
  const size_t capacity = static_cast<size_t>(std::max(options_.live_packet_queue, 2));
  if (item.packet != nullptr && pacing_ == Pacing::kLive && options_.drop_when_behind) {
    // The reader never waits: when the decoder lags, drop pictures up to the next keyframe,
    // so the decoder never sees a reference missing inside a GOP. Without drop_when_behind
    // the reader waits below instead, as DecodeOptions promises.
    const bool keyframe = (item.packet->flags & AV_PKT_FLAG_KEY) != 0;
    if (dropping_until_keyframe_ && keyframe && packets_.size() < capacity / 2) {
      dropping_until_keyframe_ = false;
    }
    if (!dropping_until_keyframe_ && packets_.size() >= capacity) dropping_until_keyframe_ = true;
    if (dropping_until_keyframe_) {
      counters_.frames_dropped.fetch_add(1);
      return !cancelled_ && !reader_stop_;
    }
  } else {
    packets_changed_.wait(
        lock, [&] { return cancelled_ || reader_stop_ || packets_.size() < capacity || item.end; });
  }
  if (cancelled_ || reader_stop_) return false;
  packets_.push_back(std::move(item));
  lock.unlock();
  packets_changed_.notify_all();
  return true;
}

bool SequentialDecoder::pop_packet(PacketItem& item) {
  std::unique_lock<std::mutex> lock(mutex_);
  packets_changed_.wait(lock, [&] { return cancelled_ || !packets_.empty(); });
  if (cancelled_) return false;
  item = std::move(packets_.front());
  packets_.pop_front();
  lock.unlock();
  packets_changed_.notify_all();
  return true;
}

void SequentialDecoder::push_frame(Frame frame) {
  std::unique_lock<std::mutex> lock(mutex_);
  const size_t capacity = static_cast<size_t>(std::max(options_.queue_frames, 1));
  if (pacing_ == Pacing::kLive && options_.drop_when_behind) {
    while (frames_.size() >= capacity) {
      frames_.pop_front();  // the oldest frame is the least useful to a live consumer
      counters_.frames_dropped.fetch_add(1);
    }
  } else {
    frames_changed_.wait(lock, [&] { return cancelled_ || frames_.size() < capacity; });
    if (cancelled_) return;
  }
  frames_.push_back(std::move(frame));
  lock.unlock();
  frames_changed_.notify_all();
}

void SequentialDecoder::end_frames(std::exception_ptr error) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    frames_ended_ = true;
    if (error_ == nullptr) error_ = error;
  }
  frames_changed_.notify_all();
}

std::optional<Frame> SequentialDecoder::next() {
  std::unique_lock<std::mutex> lock(mutex_);
  frames_changed_.wait(lock, [&] { return cancelled_ || !frames_.empty() || frames_ended_; });
  if (!frames_.empty()) {
    Frame frame = std::move(frames_.front());
    frames_.pop_front();
    lock.unlock();
    frames_changed_.notify_all();
    return frame;
  }
  if (error_ != nullptr && !cancelled_) std::rethrow_exception(error_);
  return std::nullopt;
}

bool SequentialDecoder::reconnect(std::exception_ptr& error) {
  const SourceOptions& policy = options_.source;
  std::chrono::milliseconds backoff = policy.reconnect_backoff_initial;
  for (int attempt = 0; policy.max_reconnects < 0 || attempt < policy.max_reconnects; ++attempt) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      if (packets_changed_.wait_for(lock, backoff, [&] { return cancelled_; })) return false;
    }
    backoff = std::min(backoff * 2, policy.reconnect_backoff_max);
    try {
      OpenedInput reopened = open_input(source_, policy, &cancel_signal_);
      PacketItem item;
      item.new_stream = copy_codec_parameters(*reopened.stream()->codecpar);
      item.new_time_base = reopened.stream()->time_base;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        if (cancelled_) return false;
        input_ = std::move(reopened);
      }
      counters_.reconnects.fetch_add(1);
      return push_packet(std::move(item));
    } catch (const DecodeError&) {
      error = std::current_exception();
    }
  }
  return false;
}

void SequentialDecoder::read_loop() {
  std::exception_ptr error;
  const bool can_reconnect = source_.kind() == MediaSource::Kind::kUrl && pacing_ == Pacing::kLive;
  for (;;) {
    PacketPtr packet = make_packet();
    input_.interrupter->arm(options_.source.read_timeout);
    const int result = av_read_frame(input_.format.get(), packet.get());
    if (result >= 0) {
      if (packet->stream_index != input_.video_stream) continue;
      counters_.packets_read.fetch_add(1);
      PacketItem item;
      item.packet = std::move(packet);
      if (!push_packet(std::move(item))) return;
      continue;
    }
    if (result == AVERROR(EAGAIN)) continue;
    if (cancelled()) return;
    const bool timed_out = result == AVERROR(ETIMEDOUT) || input_.interrupter->timed_out() ||
                           (input_.push != nullptr && input_.push->timed_out());
    if (timed_out) {
      error = std::make_exception_ptr(DecodeError(
          DecodeErrorKind::kTimeout, source_.describe() + ": no data for " +
                                         std::to_string(options_.source.read_timeout.count()) +
                                         " ms"));
    } else if (result != AVERROR_EOF) {
      error = std::make_exception_ptr(DecodeError(
          DecodeErrorKind::kIo, source_.describe() + ": read failed: " + av_error_string(result)));
    } else {
      error = nullptr;
    }
    if (can_reconnect && reconnect(error)) continue;
    if (cancelled()) return;
    PacketItem end;
    end.end = true;
    end.error = error;
    push_packet(std::move(end));
    return;
  }
}

void SequentialDecoder::decode_loop() {
  std::exception_ptr error;
  try {
    CodecContextPtr codec;
    std::unique_ptr<Sampler> sampler;
    FramePtr frame = make_frame();
    bool wants_more = true;
    const auto receive_all = [&] {
      for (;;) {
        const int result = avcodec_receive_frame(codec.get(), frame.get());
        if (result == AVERROR(EAGAIN) || result == AVERROR_EOF) return;
        if (result < 0) {
          record_decode_error("decoding failed: " + av_error_string(result));
          return;
        }
        counters_.frames_decoded.fetch_add(1);
        if (frame->decode_error_flags != 0 || (frame->flags & AV_FRAME_FLAG_CORRUPT) != 0) {
          // The codec concealed errors in this picture (the CLI's -xerror test).
          record_decode_error("picture at pts " + std::to_string(frame->best_effort_timestamp) +
                              " decoded with concealed errors");
        }
        if (wants_more) wants_more = sampler->add(*frame);
        av_frame_unref(frame.get());
      }
    };
    const auto send = [&](const AVPacket* packet) {
      int result = avcodec_send_packet(codec.get(), packet);
      while (result == AVERROR(EAGAIN)) {
        receive_all();
        result = avcodec_send_packet(codec.get(), packet);
      }
      if (result < 0 && result != AVERROR_EOF) {
        record_decode_error("packet rejected by the decoder: " + av_error_string(result));
      }
      receive_all();
    };

    PacketItem item;
    while (wants_more && pop_packet(item)) {
      if (item.new_stream != nullptr) {
        if (codec != nullptr) send(nullptr);  // drain the previous input's pictures
        codec = open_video_decoder(*item.new_stream, item.new_time_base, /*threads=*/1,
                                   source_.describe());
        if (sampler == nullptr) {
          sampler = std::make_unique<Sampler>(*this, item.new_time_base);
        } else {
          sampler->restart(item.new_time_base);
        }
        continue;
      }
      if (item.end) {
        error = item.error;
        break;
      }
      send(item.packet.get());
    }
    if (codec != nullptr && !cancelled()) {
      send(nullptr);
      sampler->finish();
    }
  } catch (...) {
    error = std::current_exception();
  }
  if (!cancelled()) {
    const DecodeCountersSnapshot counts = counters_.snapshot();
    if (error == nullptr && counts.frames_decoded == 0) {
      error = std::make_exception_ptr(DecodeError(
          DecodeErrorKind::kEmptyInput, source_.describe() + ": no frame could be decoded"));
    }
  }
  end_frames(error);
  {
    // The reader has nobody to read for: let it stop at its next packet.
    std::lock_guard<std::mutex> lock(mutex_);
    reader_stop_ = true;
  }
  packets_changed_.notify_all();
}

}  // namespace vigil::decoder

#include "decoder/archive_decoder.h"

#include <algorithm>
#include <cassert>
#include <cstdint>

#include "decoder/decode_error.h"
#include "decoder/video_codec.h"

namespace vigil::decoder {
namespace {

constexpr size_t kMinPacketsPerUnit = 48;

bool same_packet(const AVPacket& packet, const PacketEntry& entry) {
  if (packet.pos >= 0 && entry.position >= 0) return packet.pos == entry.position;
  const int64_t pts = packet.pts != AV_NOPTS_VALUE ? packet.pts : packet.dts;
  return pts == entry.pts && packet.dts == entry.dts;
}

bool past_packet(const AVPacket& packet, const PacketEntry& entry) {
  if (packet.pos >= 0 && entry.position >= 0) return packet.pos > entry.position;
  return packet.dts != AV_NOPTS_VALUE && entry.dts != AV_NOPTS_VALUE && packet.dts > entry.dts;
}

// Tags the picture that `packet` starts, so that it can be traced to its packet when it leaves
// a reordering decoder (picture_tag). Set just before sending the packet.
void tag_picture_of(AVCodecContext& codec, AVPacket& packet, int64_t tag) {
#if LIBAVCODEC_VERSION_MAJOR >= 60
  codec.flags |= AV_CODEC_FLAG_COPY_OPAQUE;
  packet.opaque = reinterpret_cast<void*>(static_cast<intptr_t>(tag));
#else
  codec.reordered_opaque = tag;
  static_cast<void>(packet);
#endif
}

int64_t picture_tag(const AVFrame& frame) {
#if LIBAVCODEC_VERSION_MAJOR >= 60
  return static_cast<int64_t>(reinterpret_cast<intptr_t>(frame.opaque));
#else
  return frame.reordered_opaque;
#endif
}

}  // namespace

// One decoding thread's private state: its own demuxer, codec context and converter.
class ArchiveDecoder::Worker {
 public:
  explicit Worker(ArchiveDecoder& owner)
      : owner_(owner),
        input_(open_input(owner.source_, owner.options_.source)),
        codec_(open_video_decoder(*input_.stream(), /*threads=*/1, owner.source_.describe())),
        converter_(owner.options_.output_size, owner.info_.rotation_degrees),
        packet_(make_packet()),
        frame_(make_frame()) {}

  // Decodes one unit, publishing its wanted frames in presentation order.
  void decode(size_t unit_id) {
    const DecodeInterval& unit = owner_.plan_.intervals[unit_id];
    if (fresh_ && unit.start_packet != 0) prime();
    collected_ = 0;
    avcodec_flush_buffers(codec_.get());
    if (!seek_to(unit.start_packet)) return;  // cancelled
    wanted_ = &unit.wanted_pts;

    for (size_t position = unit.start_packet;; ++position) {
      const int64_t pts = packet_->pts != AV_NOPTS_VALUE ? packet_->pts : packet_->dts;
      const bool wanted = std::binary_search(unit.wanted_pts.begin(), unit.wanted_pts.end(), pts);
      // A picture no sample needs is not decoded unless later pictures reference it.
      codec_->skip_frame = wanted ? AVDISCARD_DEFAULT : AVDISCARD_NONREF;
      const int64_t tag = next_tag_++;
      tag_picture_of(*codec_, *packet_, tag);
      if (!wanted) {
        unseen_discardable_tags_.push_back(tag);
        // libavcodec decodes the packets before an MP4 edit list's start (flagged discard)
        // but hides their pictures; let them out, so that the counters see every picture
        // decoded. No sample wants them, so none is published.
        packet_->flags &= ~AV_PKT_FLAG_DISCARD;
      }
      send(packet_.get());
      av_packet_unref(packet_.get());
      if (collected_ == unit.wanted_pts.size() || position >= unit.last_packet) break;
      if (!read_video_packet()) break;  // end of file: drain what is left
    }
    send(nullptr);  // drain the codec's delayed pictures
    // Every picture the codec decoded has come out by now; the packets sent under
    // AVDISCARD_NONREF whose picture never did are the ones it discarded.
    owner_.counters_.frames_skipped.fetch_add(
        static_cast<int64_t>(unseen_discardable_tags_.size()));
    unseen_discardable_tags_.clear();
  }

 private:
  // Some streams carry their parameter sets (H.264 SPS/PPS, MPEG-4 VOL) only in the first
  // packet, not in the container's extradata. A worker that starts mid-file decodes that
  // packet once, so later keyframes decode exactly as in a sequential pass; flushing keeps
  // the parameter sets and drops the picture.
  void prime() {
    fresh_ = false;
    if (!read_video_packet()) return;
    const std::vector<int64_t> nothing;
    wanted_ = &nothing;
    send(packet_.get());
    av_packet_unref(packet_.get());
    avcodec_flush_buffers(codec_.get());
    wanted_ = nullptr;
  }

  // Leaves packet_ holding the keyframe at decode position `target`.
  bool seek_to(size_t target) {
    const std::vector<PacketEntry>& packets = owner_.index_.packets();
    const std::vector<size_t>& keyframes = owner_.index_.keyframes();
    const PacketEntry& entry = packets[target];
    if (fresh_ && target == 0) {
      fresh_ = false;
      if (read_video_packet() && same_packet(*packet_, entry)) return true;
    }
    fresh_ = false;
    // Try the keyframe itself, then earlier ones: some demuxers land a little late.
    const size_t ordinal = static_cast<size_t>(
        std::lower_bound(keyframes.begin(), keyframes.end(), target) - keyframes.begin());
    const size_t steps_back[] = {0, 1, 4, SIZE_MAX};
    for (const size_t back : steps_back) {
      if (owner_.cancelled()) return false;
      const size_t from = back == SIZE_MAX || back > ordinal ? 0 : ordinal - back;
      const PacketEntry& anchor = packets[keyframes[from]];
      const int64_t timestamp = anchor.dts != AV_NOPTS_VALUE ? anchor.dts : anchor.pts;
      owner_.counters_.seeks.fetch_add(1);
      int result = avformat_seek_file(input_.format.get(), input_.video_stream, INT64_MIN,
                                      timestamp, timestamp, 0);
      if (result < 0 && back == SIZE_MAX) {
        result = avformat_seek_file(input_.format.get(), -1, INT64_MIN, 0, 0, AVSEEK_FLAG_BYTE);
      }
      if (result < 0) continue;
      while (read_video_packet()) {
        if (same_packet(*packet_, entry)) return true;
        if (past_packet(*packet_, entry)) break;  // overshot: go back further
        av_packet_unref(packet_.get());
      }
    }
    throw DecodeError(DecodeErrorKind::kIo, owner_.source_.describe() +
                                                ": cannot find the keyframe at decode position " +
                                                std::to_string(target) + " again after seeking");
  }

  // Reads the next packet of the video stream into packet_; false at end of file.
  bool read_video_packet() {
    for (;;) {
      av_packet_unref(packet_.get());
      input_.interrupter->arm(owner_.options_.source.read_timeout);
      const int result = av_read_frame(input_.format.get(), packet_.get());
      if (result < 0) {
        if (result == AVERROR(EAGAIN)) continue;
        return false;
      }
      if (packet_->stream_index == input_.video_stream) {
        owner_.counters_.packets_read.fetch_add(1);
        return true;
      }
      av_packet_unref(packet_.get());
    }
  }

  void send(const AVPacket* packet) {
    int result = avcodec_send_packet(codec_.get(), packet);
    while (result == AVERROR(EAGAIN)) {
      receive_all();
      result = avcodec_send_packet(codec_.get(), packet);
    }
    if (result < 0 && result != AVERROR_EOF) {
      owner_.record_decode_error("packet rejected by the decoder: " + av_error_string(result));
    }
    receive_all();
  }

  void receive_all() {
    for (;;) {
      const int result = avcodec_receive_frame(codec_.get(), frame_.get());
      if (result == AVERROR(EAGAIN) || result == AVERROR_EOF) return;
      if (result < 0) {
        owner_.record_decode_error("decoding failed: " + av_error_string(result));
        return;
      }
      owner_.counters_.frames_decoded.fetch_add(1);
      const int64_t tag = picture_tag(*frame_);
      const auto unseen =
          std::lower_bound(unseen_discardable_tags_.begin(), unseen_discardable_tags_.end(), tag);
      if (unseen != unseen_discardable_tags_.end() && *unseen == tag) {
        unseen_discardable_tags_.erase(unseen);  // a reference picture: decoded despite NONREF
      }
      const int64_t pts = frame_->best_effort_timestamp;
      if (std::binary_search(wanted_->begin(), wanted_->end(), pts) && pts > last_published_pts_) {
        Frame out;
        out.pts = pts;
        converter_.convert(*frame_, out.rgb, out.width, out.height);
        owner_.counters_.frames_converted.fetch_add(1);
        if (frame_->decode_error_flags != 0 || (frame_->flags & AV_FRAME_FLAG_CORRUPT) != 0) {
          // Delivered, but the codec concealed errors in it (the CLI's -xerror test).
          owner_.record_decode_error("picture at pts " + std::to_string(pts) +
                                     " decoded with concealed errors");
        }
        last_published_pts_ = pts;
        ++collected_;
        owner_.publish(current_unit_, std::move(out));
      }
      av_frame_unref(frame_.get());
    }
  }

 public:
  void set_unit(size_t unit) {
    current_unit_ = unit;
    last_published_pts_ = INT64_MIN;
  }

 private:
  ArchiveDecoder& owner_;
  OpenedInput input_;
  CodecContextPtr codec_;
  FrameConverter converter_;
  PacketPtr packet_;
  FramePtr frame_;
  bool fresh_ = true;  // nothing read since open: the demuxer stands at the first packet
  size_t current_unit_ = 0;
  int64_t last_published_pts_ = INT64_MIN;
  size_t collected_ = 0;
  // Tags (tag_picture_of) count the packets sent; the list holds, in increasing order, those
  // of this unit's packets sent under AVDISCARD_NONREF whose picture has not come out yet.
  int64_t next_tag_ = 0;
  std::vector<int64_t> unseen_discardable_tags_;
  const std::vector<int64_t>* wanted_ = nullptr;
};

ArchiveDecoder::ArchiveDecoder(MediaSource source, DecodeOptions options, KeyframeIndex index,
                               StreamInfo info, std::vector<Sample> samples)
    : source_(std::move(source)),
      options_(std::move(options)),
      index_(std::move(index)),
      info_(std::move(info)),
      samples_(std::move(samples)) {
  plan_ = plan_intervals(index_, samples_, kMinPacketsPerUnit);
  outputs_.resize(plan_.intervals.size());
  int workers = options_.workers > 0
                    ? options_.workers
                    : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  workers = std::max(1, std::min<int>(workers, static_cast<int>(plan_.intervals.size())));
  max_units_in_flight_ = static_cast<size_t>(workers) * 2;
  // Room for every unit in flight to finish without waiting (else workers ahead of the
  // consumer stall and the decode serialises), within the byte budget.
  size_t largest_unit = 1;
  for (const DecodeInterval& interval : plan_.intervals) {
    largest_unit = std::max(largest_unit, interval.wanted_pts.size());
  }
  const int64_t frame_bytes =
      options_.output_size.native()
          ? static_cast<int64_t>(info_.width) * info_.height * 3
          : static_cast<int64_t>(options_.output_size.width) * options_.output_size.height * 3;
  const size_t affordable = static_cast<size_t>(
      std::max<int64_t>(1, options_.archive_buffer_bytes / std::max<int64_t>(frame_bytes, 1)));
  frame_capacity_ = std::max(static_cast<size_t>(std::max(options_.queue_frames, 1)),
                             std::min(max_units_in_flight_ * largest_unit, affordable));
  for (int i = 0; i < workers; ++i) threads_.emplace_back([this] { run_worker(); });
}

ArchiveDecoder::~ArchiveDecoder() {
  cancel();
  for (std::thread& thread : threads_) thread.join();
}

bool ArchiveDecoder::cancelled() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return cancelled_;
}

void ArchiveDecoder::cancel() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    cancelled_ = true;
  }
  changed_.notify_all();
}

void ArchiveDecoder::run_worker() {
  try {
    std::unique_ptr<Worker> worker;
    for (;;) {
      size_t unit = 0;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        changed_.wait(lock, [&] {
          return cancelled_ || error_ != nullptr || next_unit_to_claim_ >= outputs_.size() ||
                 next_unit_to_claim_ < consumer_unit_ + max_units_in_flight_;
        });
        if (cancelled_ || error_ != nullptr || next_unit_to_claim_ >= outputs_.size()) return;
        unit = next_unit_to_claim_++;
      }
      if (worker == nullptr) worker = std::make_unique<Worker>(*this);
      worker->set_unit(unit);
      worker->decode(unit);
      finish_unit(unit);
    }
  } catch (...) {
    fail(std::current_exception());
  }
}

bool ArchiveDecoder::wait_for_room(size_t unit) {
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [&] {
    return cancelled_ || unit == consumer_unit_ || buffered_frames_ < frame_capacity_;
  });
  return !cancelled_;
}

void ArchiveDecoder::publish(size_t unit, Frame frame) {
  // The unit the consumer drains never waits, so the pipeline cannot deadlock; units ahead
  // wait while the queue is full, which bounds memory.
  if (!wait_for_room(unit)) return;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    outputs_[unit].frames.push_back(std::move(frame));
    ++buffered_frames_;
  }
  changed_.notify_all();
}

void ArchiveDecoder::finish_unit(size_t unit) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    outputs_[unit].finished = true;
  }
  changed_.notify_all();
}

void ArchiveDecoder::record_decode_error(const std::string& message) {
  counters_.decode_errors.fetch_add(1);
  std::lock_guard<std::mutex> lock(mutex_);
  damage_.decode_errors += 1;
  if (damage_.first_error.empty()) damage_.first_error = message;
}

void ArchiveDecoder::fail(std::exception_ptr error) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (error_ == nullptr) error_ = error;
  }
  changed_.notify_all();
}

DamageReport ArchiveDecoder::damage() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return damage_;
}

std::optional<Frame> ArchiveDecoder::next() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (next_sample_ < samples_.size()) {
    const size_t sample = next_sample_;
    const int64_t frame_index = plan_.frame_of_sample[sample];
    const int64_t pts = index_.frame_pts(frame_index);

    Frame out;
    bool found = false;
    if (last_emitted_.has_value() && last_emitted_->pts == pts) {
      out = *last_emitted_;  // the same frame answers several sample times
      found = true;
    } else {
      while (consumer_unit_ < outputs_.size()) {
        const DecodeInterval& unit = plan_.intervals[consumer_unit_];
        if (sample >= unit.first_sample + unit.sample_count) {
          // Everything this unit owes has been taken: release it.
          buffered_frames_ -= outputs_[consumer_unit_].frames.size();
          outputs_[consumer_unit_].frames.clear();
          ++consumer_unit_;
          changed_.notify_all();
          continue;
        }
        UnitOutput& output = outputs_[consumer_unit_];
        changed_.wait(lock, [&] {
          return cancelled_ || error_ != nullptr || !output.frames.empty() || output.finished;
        });
        if (error_ != nullptr) std::rethrow_exception(error_);
        if (cancelled_) return std::nullopt;
        while (!output.frames.empty() && output.frames.front().pts < pts) {
          output.frames.pop_front();  // a frame of a sample already counted missing
          --buffered_frames_;
        }
        if (!output.frames.empty()) {
          if (output.frames.front().pts == pts) {
            out = std::move(output.frames.front());
            output.frames.pop_front();
            --buffered_frames_;
            changed_.notify_all();
            found = true;
          }
          break;  // either found, or the frame this sample needs was never produced
        }
        if (output.finished) break;  // the unit ended without this frame
      }
    }
    ++next_sample_;
    if (!found) {
      damage_.missing_samples += 1;
      continue;
    }
    out.sample_index = static_cast<int64_t>(sample);
    out.time_seconds = samples_[sample].time_seconds;
    out.frame_index = frame_index;
    out.time_base_num = info_.time_base_num;
    out.time_base_den = info_.time_base_den;
    out.pts_seconds = static_cast<double>(pts) * info_.time_base_num / info_.time_base_den;
    const bool shown_again =
        sample + 1 < samples_.size() && plan_.frame_of_sample[sample + 1] == frame_index;
    if (shown_again) {
      last_emitted_ = out;
    } else {
      last_emitted_.reset();
    }
    return out;
  }
  // At the end, wait for every worker to finish its unit so the counters are final.
  changed_.wait(lock, [&] {
    return cancelled_ || error_ != nullptr ||
           std::all_of(outputs_.begin(),
                       outputs_.begin() + static_cast<std::ptrdiff_t>(
                                              std::min(next_unit_to_claim_, outputs_.size())),
                       [](const UnitOutput& output) { return output.finished; });
  });
  if (error_ != nullptr) std::rethrow_exception(error_);
  return std::nullopt;
}

}  // namespace vigil::decoder

#include "decoder/keyframe_index.h"

#include <algorithm>
#include <numeric>

#include "decoder/decode_error.h"

namespace vigil::decoder {

KeyframeIndex KeyframeIndex::scan(OpenedInput& input, std::chrono::milliseconds read_timeout,
                                  DecodeCounters* counters) {
  KeyframeIndex index;
  PacketPtr packet = make_packet();
  bool missing_pts = false;
  for (;;) {
    input.interrupter->arm(read_timeout);
    const int result = av_read_frame(input.format.get(), packet.get());
    if (result == AVERROR_EOF) break;
    if (result < 0) {
      // A damaged tail ends the scan; what was read so far is still exact.
      if (result == AVERROR(EAGAIN)) continue;
      break;
    }
    if (packet->stream_index == input.video_stream) {
      if (counters != nullptr) counters->packets_read.fetch_add(1);
      PacketEntry entry;
      entry.dts = packet->dts;
      entry.pts = packet->pts != AV_NOPTS_VALUE ? packet->pts : packet->dts;
      missing_pts = missing_pts || packet->pts == AV_NOPTS_VALUE;
      entry.position = packet->pos;
      entry.duration = packet->duration;
      entry.size = packet->size;
      entry.keyframe = (packet->flags & AV_PKT_FLAG_KEY) != 0;
      entry.shown = (packet->flags & AV_PKT_FLAG_DISCARD) == 0 && entry.pts != AV_NOPTS_VALUE &&
                    // an empty packet (AVI's dropped frame) shows nothing new
                    packet->size > 0;
      index.packets_.push_back(entry);
    }
    av_packet_unref(packet.get());
  }

  for (size_t i = 0; i < index.packets_.size(); ++i) {
    if (index.packets_[i].shown) index.presentation_order_.push_back(i);
    if (index.packets_[i].keyframe) index.keyframes_.push_back(i);
  }
  if (index.presentation_order_.empty()) {
    throw DecodeError(DecodeErrorKind::kEmptyInput,
                      "the video stream has no frame with a timestamp");
  }
  if (index.keyframes_.empty() || index.keyframes_.front() != 0) {
    // Some containers do not flag the first packet; decoding always starts there anyway.
    index.keyframes_.insert(index.keyframes_.begin(), 0);
  }
  std::stable_sort(
      index.presentation_order_.begin(), index.presentation_order_.end(),
      [&](size_t a, size_t b) { return index.packets_[a].pts < index.packets_[b].pts; });
  // Two packets with one pts show one frame: keep the first in decode order.
  index.presentation_order_.erase(
      std::unique(
          index.presentation_order_.begin(), index.presentation_order_.end(),
          [&](size_t a, size_t b) { return index.packets_[a].pts == index.packets_[b].pts; }),
      index.presentation_order_.end());

  index.presentation_exact_ = !(missing_pts && input.stream()->codecpar->video_delay > 0);

  const PacketEntry& last = index.packets_[index.presentation_order_.back()];
  int64_t last_duration = last.duration;
  if (last_duration <= 0 && index.presentation_order_.size() > 1) {
    const size_t n = index.presentation_order_.size();
    last_duration = last.pts - index.packets_[index.presentation_order_[n - 2]].pts;
  }
  index.end_pts_ = last.pts + std::max<int64_t>(last_duration, 1);
  return index;
}

int64_t KeyframeIndex::frame_at_pts(int64_t pts) const {
  const auto it =
      std::upper_bound(presentation_order_.begin(), presentation_order_.end(), pts,
                       [&](int64_t value, size_t packet) { return value < packets_[packet].pts; });
  return static_cast<int64_t>(it - presentation_order_.begin()) - 1;
}

}  // namespace vigil::decoder

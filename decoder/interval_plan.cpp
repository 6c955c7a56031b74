#include "decoder/interval_plan.h"

#include <algorithm>
#include <cassert>

namespace vigil::decoder {

IntervalPlan plan_intervals(const KeyframeIndex& index, const std::vector<Sample>& samples,
                            size_t min_packets_per_unit) {
  const std::vector<PacketEntry>& packets = index.packets();
  const std::vector<size_t>& keyframes = index.keyframes();

  // Presentation boundary of each keyframe interval; kept non-decreasing so that a damaged
  // stream with a keyframe out of order still yields ordered intervals.
  std::vector<int64_t> boundaries(keyframes.size());
  for (size_t k = 0; k < keyframes.size(); ++k) {
    boundaries[k] = packets[keyframes[k]].pts;
    if (k > 0) boundaries[k] = std::max(boundaries[k], boundaries[k - 1]);
  }
  const auto interval_of = [&](int64_t pts) -> size_t {
    const auto it = std::upper_bound(boundaries.begin(), boundaries.end(), pts);
    return it == boundaries.begin() ? 0 : static_cast<size_t>(it - boundaries.begin()) - 1;
  };

  IntervalPlan plan;
  plan.frame_of_sample.reserve(samples.size());
  size_t current_keyframe_interval = SIZE_MAX;
  for (size_t i = 0; i < samples.size(); ++i) {
    const int64_t frame = std::max<int64_t>(index.frame_at_pts(samples[i].target_pts), 0);
    plan.frame_of_sample.push_back(frame);
    const size_t packet = index.presentation_order()[frame];
    const int64_t pts = packets[packet].pts;
    const size_t keyframe_interval = interval_of(pts);
    if (keyframe_interval != current_keyframe_interval || plan.intervals.empty()) {
      DecodeInterval interval;
      interval.start_packet = keyframes[keyframe_interval];
      interval.last_packet = packet;
      interval.first_sample = i;
      plan.intervals.push_back(interval);
      current_keyframe_interval = keyframe_interval;
    }
    DecodeInterval& interval = plan.intervals.back();
    interval.sample_count += 1;
    interval.last_packet = std::max(interval.last_packet, packet);
    if (packet < interval.start_packet) {
      // Decode order disagrees with presentation order across keyframes: start earlier.
      const auto it = std::upper_bound(keyframes.begin(), keyframes.end(), packet);
      interval.start_packet = *(it - 1);
    }
    if (interval.wanted_pts.empty() || interval.wanted_pts.back() != pts) {
      interval.wanted_pts.push_back(pts);
    }
  }

  // Merge neighbours that are too short to be worth a seek and a codec flush.
  std::vector<DecodeInterval> merged;
  for (DecodeInterval& interval : plan.intervals) {
    if (!merged.empty()) {
      DecodeInterval& previous = merged.back();
      const bool short_previous =
          previous.last_packet - previous.start_packet < min_packets_per_unit;
      if (short_previous && interval.start_packet >= previous.start_packet) {
        previous.last_packet = std::max(previous.last_packet, interval.last_packet);
        previous.sample_count += interval.sample_count;
        previous.wanted_pts.insert(previous.wanted_pts.end(), interval.wanted_pts.begin(),
                                   interval.wanted_pts.end());
        std::sort(previous.wanted_pts.begin(), previous.wanted_pts.end());
        previous.wanted_pts.erase(
            std::unique(previous.wanted_pts.begin(), previous.wanted_pts.end()),
            previous.wanted_pts.end());
        continue;
      }
    }
    merged.push_back(std::move(interval));
  }
  plan.intervals = std::move(merged);
  return plan;
}

}  // namespace vigil::decoder

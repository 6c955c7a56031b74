// Cutting an archived video into keyframe-aligned units of work that decode independently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "decoder/keyframe_index.h"
#include "decoder/sampling.h"

namespace vigil::decoder {

// Decode packets [start_packet, last_packet] (decode order) on a fresh decoder to obtain the
// frames of wanted_pts; the unit answers samples [first_sample, first_sample + sample_count).
struct DecodeInterval {
  size_t start_packet = 0;          // a keyframe
  size_t last_packet = 0;           // the last packet any wanted frame needs
  std::vector<int64_t> wanted_pts;  // ascending, unique
  size_t first_sample = 0;
  size_t sample_count = 0;
};

// Frames of sample i: frame_of_sample[i] is its presentation index in `index`.
struct IntervalPlan {
  std::vector<DecodeInterval> intervals;  // in time order
  std::vector<int64_t> frame_of_sample;
};

// Groups the samples by the keyframe interval that shows their frame. A frame with pts in
// [pts(K_i), pts(K_i+1)) is decoded from keyframe K_i, including the leading pictures of an
// open GOP that follow K_i+1 in decode order. Adjacent intervals shorter than
// min_packets_per_unit merge so that tiny GOPs do not cost a seek each.
IntervalPlan plan_intervals(const KeyframeIndex& index, const std::vector<Sample>& samples,
                            size_t min_packets_per_unit);

}  // namespace vigil::decoder

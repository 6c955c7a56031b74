// What a video stream is: container, codec, size, rotation, timing. Read from the opened
// input and, where exactness matters (frame count, duration), from the keyframe index.
#pragma once

#include <cstdint>
#include <string>

#include "decoder/keyframe_index.h"
#include "decoder/media_source.h"

namespace vigil::decoder {

struct StreamInfo {
  std::string container;     // libavformat's name, e.g. "mov,mp4,m4a,3gp,3g2,mj2"
  std::string codec;         // e.g. "h264"
  std::string pixel_format;  // e.g. "yuv420p"
  int coded_width = 0;       // as stored
  int coded_height = 0;
  int width = 0;  // as displayed, after rotation
  int height = 0;
  int rotation_degrees = 0;  // clockwise rotation applied for display: 0, 90, 180 or 270
  int time_base_num = 1;
  int time_base_den = 1;
  double frame_rate = 0;  // average frames per second
  double duration_seconds = 0;
  int64_t frame_count = 0;     // exact when indexed, else the container's estimate (or 0)
  int64_t keyframe_count = 0;  // exact when indexed, else 0
  int64_t bit_rate = 0;        // bits per second, 0 when unknown
  bool indexed = false;        // frame_count, keyframe_count and duration come from a packet scan
};

// Clockwise display rotation from the stream's display matrix, rounded to a multiple of 90.
int display_rotation_degrees(const AVStream& stream);

// Stream facts from the container alone (live sources, before any packet is read).
StreamInfo describe_stream(const OpenedInput& input);
// The same, made exact by a packet scan.
StreamInfo describe_stream(const OpenedInput& input, const KeyframeIndex& index);

}  // namespace vigil::decoder

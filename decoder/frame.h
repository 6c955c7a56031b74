// A decoded, sampled frame as the rest of vigil sees it: packed RGB24 with exact timing.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace vigil::decoder {

struct Frame {
  int64_t sample_index = 0;  // position of this frame in the output sequence, from 0
  double time_seconds = 0;   // requested time on the video timeline (0 = first frame shown)
  int64_t frame_index = 0;   // presentation index of the picture in its stream, from 0
  int64_t pts = 0;           // exact presentation timestamp, in time_base units
  int time_base_num = 1;
  int time_base_den = 1;
  double pts_seconds = 0;  // pts * time_base: exact stream time in seconds
  int width = 0;           // after rotation and resizing
  int height = 0;
  std::vector<uint8_t> rgb;  // width * height * 3 bytes, rows top to bottom, packed R,G,B
};

// What went wrong without stopping the decode: damaged packets and samples never produced.
struct DamageReport {
  int64_t decode_errors = 0;    // packets the codec rejected, pictures it concealed errors in
  int64_t missing_samples = 0;  // sampled frames that could not be decoded
  std::string first_error;      // FFmpeg's message for the first rejected packet, if any
  bool damaged() const { return decode_errors > 0 || missing_samples > 0; }
};

}  // namespace vigil::decoder

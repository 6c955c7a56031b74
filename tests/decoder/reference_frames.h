// What the ffmpeg CLI makes of a video: every frame in presentation order as RGB24 at native
// (display-rotated) size, with ffprobe's best_effort_timestamp. This is the golden reference:
//   ffmpeg -i IN -map 0:v:0 -fps_mode passthrough -f rawvideo -pix_fmt rgb24 -
//   ffprobe -select_streams v:0 -show_entries frame=best_effort_timestamp,pkt_duration IN
// Frames are kept as MD5 digests (a long real video is gigabytes of RGB), cached on disk.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace vigil::testing {

// An exact time in seconds, numerator / denominator (sample times are rational: k / 3.7).
struct ExactTime {
  int64_t numerator = 0;
  int64_t denominator = 1;
  double seconds() const {
    return static_cast<double>(numerator) / static_cast<double>(denominator);
  }
};

struct ReferenceFrame {
  int64_t pts = 0;        // time_base units; extrapolated from its neighbours when !pts_known
  bool pts_known = true;  // false where ffprobe reports N/A
  int64_t duration = 0;   // pkt_duration, time_base units, 0 when unknown
  std::string md5;        // of the frame's width * height * 3 RGB24 bytes, lowercase hex
};

struct Reference {
  int width = 0;  // as displayed, after the CLI's autorotation
  int height = 0;
  int time_base_num = 1;
  int time_base_den = 1;
  // Clockwise turn the CLI applies for display: minus ffprobe's display-matrix rotation
  // (which is counter-clockwise), in [0, 360).
  int rotation_degrees = 0;
  std::vector<ReferenceFrame> frames;  // presentation order

  int64_t first_pts() const { return frames.front().pts; }
  // End of the last frame: its pts plus its duration, or the last spacing between frames.
  int64_t end_pts() const;
  // The frame shown at `time` on the video timeline (0 = first frame): the last frame whose
  // pts <= first_pts + floor(time / time_base), computed exactly; -1 before the first.
  int64_t frame_at(const ExactTime& time) const;
  // The pts a time maps to, exactly: first_pts + floor(time / time_base).
  int64_t pts_at(const ExactTime& time) const;
};

// The reference of the video at path (made by the CLI once, then read from the cache).
// Throws std::runtime_error when ffmpeg or ffprobe fail or disagree on the frame count.
const Reference& reference_for(const std::string& path);

// The RGB24 bytes of reference frame frame_index (decoded again; for failure messages).
std::vector<uint8_t> reference_frame_rgb(const std::string& path, int64_t frame_index);

// MD5 of bytes as lowercase hex.
std::string md5_hex(const uint8_t* data, size_t size);

}  // namespace vigil::testing

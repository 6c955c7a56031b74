// Converting decoded pictures to packed RGB24 at the requested size, display-rotated.
#pragma once

#include <cstdint>
#include <vector>

#include "decoder/ffmpeg_handles.h"

namespace vigil::decoder {

// Output size after rotation; {0, 0} keeps the native (rotated) size.
struct OutputSize {
  int width = 0;
  int height = 0;
  bool native() const { return width == 0 && height == 0; }
};

// Not thread-safe: one per decoding thread. Caches its SwsContext across frames of one
// geometry. Colour handling follows FFmpeg's scale filter (frame's matrix and range, bicubic)
// so that native-size output is byte-identical to the ffmpeg CLI's rgb24.
class FrameConverter {
 public:
  FrameConverter(OutputSize size, int rotation_degrees);

  // Writes frame as RGB24 into rgb (resized to width*height*3) and sets width and height.
  void convert(const AVFrame& frame, std::vector<uint8_t>& rgb, int& width, int& height);

 private:
  void configure(const AVFrame& frame, int scaled_width, int scaled_height);

  OutputSize size_;
  int rotation_degrees_;
  SwsContextPtr sws_;
  std::vector<uint8_t> unrotated_;
  // Geometry of the cached context.
  int source_width_ = 0, source_height_ = 0, source_format_ = -1;
  int source_colorspace_ = -1, source_range_ = -1;
  int scaled_width_ = 0, scaled_height_ = 0;
};

// Rotates packed RGB24 clockwise by 90, 180 or 270 degrees; output dims returned.
void rotate_rgb(const uint8_t* source, int width, int height, int clockwise_degrees,
                uint8_t* destination);

}  // namespace vigil::decoder

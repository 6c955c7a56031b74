#include "decoder/frame_converter.h"

#include <cassert>
#include <cstring>
#include <stdexcept>

namespace vigil::decoder {
namespace {

// The coefficients FFmpeg's scale filter picks for a frame's colour matrix (vf_scale.c,
// parse_yuv_type with "auto"): the frame's own, or BT.601 when it is unknown.
const int* coefficients_for(AVColorSpace colorspace) {
  int space = colorspace;
  if (space < 1 || space > 10 || space == 8) space = AVCOL_SPC_BT470BG;
  return sws_getCoefficients(space);
}

}  // namespace

FrameConverter::FrameConverter(OutputSize size, int rotation_degrees)
    : size_(size), rotation_degrees_(rotation_degrees) {
  assert(rotation_degrees == 0 || rotation_degrees == 90 || rotation_degrees == 180 ||
         rotation_degrees == 270);
}

void FrameConverter::configure(const AVFrame& frame, int scaled_width, int scaled_height) {
  if (sws_ != nullptr && frame.width == source_width_ && frame.height == source_height_ &&
      frame.format == source_format_ && frame.colorspace == source_colorspace_ &&
      frame.color_range == source_range_ && scaled_width == scaled_width_ &&
      scaled_height == scaled_height_) {
    return;
  }
  sws_.reset(sws_getContext(frame.width, frame.height, static_cast<AVPixelFormat>(frame.format),
                            scaled_width, scaled_height, AV_PIX_FMT_RGB24, SWS_BICUBIC, nullptr,
                            nullptr, nullptr));
  if (sws_ == nullptr) {
    throw std::runtime_error("swscale cannot convert " + std::to_string(frame.width) + "x" +
                             std::to_string(frame.height) + " pixel format " +
                             std::to_string(frame.format) + " to RGB24");
  }
  int* inverse_table = nullptr;
  int* table = nullptr;
  int source_full = 0, destination_full = 0, brightness = 0, contrast = 0, saturation = 0;
  sws_getColorspaceDetails(sws_.get(), &inverse_table, &source_full, &table, &destination_full,
                           &brightness, &contrast, &saturation);
  const int* frame_table = coefficients_for(frame.colorspace);
  if (frame.color_range != AVCOL_RANGE_UNSPECIFIED) {
    source_full = frame.color_range == AVCOL_RANGE_JPEG ? 1 : 0;
  }
  sws_setColorspaceDetails(sws_.get(), frame_table, source_full, frame_table, destination_full,
                           brightness, contrast, saturation);
  source_width_ = frame.width;
  source_height_ = frame.height;
  source_format_ = frame.format;
  source_colorspace_ = frame.colorspace;
  source_range_ = frame.color_range;
  scaled_width_ = scaled_width;
  scaled_height_ = scaled_height;
}

void FrameConverter::convert(const AVFrame& frame, std::vector<uint8_t>& rgb, int& width,
                             int& height) {
  const bool swapped = rotation_degrees_ == 90 || rotation_degrees_ == 270;
  // The scaler works before rotation, so it targets the rotated size with axes swapped.
  int scaled_width = frame.width;
  int scaled_height = frame.height;
  if (!size_.native()) {
    scaled_width = swapped ? size_.height : size_.width;
    scaled_height = swapped ? size_.width : size_.height;
  }
  configure(frame, scaled_width, scaled_height);

  const size_t bytes = static_cast<size_t>(scaled_width) * scaled_height * 3;
  std::vector<uint8_t>& target = rotation_degrees_ == 0 ? rgb : unrotated_;
  target.resize(bytes);
  uint8_t* planes[4] = {target.data(), nullptr, nullptr, nullptr};
  int strides[4] = {scaled_width * 3, 0, 0, 0};
  const int rows =
      sws_scale(sws_.get(), frame.data, frame.linesize, 0, frame.height, planes, strides);
  if (rows != scaled_height) {
    throw std::runtime_error("swscale produced " + std::to_string(rows) + " rows of " +
                             std::to_string(scaled_height));
  }
  width = swapped ? scaled_height : scaled_width;
  height = swapped ? scaled_width : scaled_height;
  if (rotation_degrees_ != 0) {
    rgb.resize(bytes);
    rotate_rgb(unrotated_.data(), scaled_width, scaled_height, rotation_degrees_, rgb.data());
  }
}

void rotate_rgb(const uint8_t* source, int width, int height, int clockwise_degrees,
                uint8_t* destination) {
  const auto pixel = [&](int row, int column) {
    return source + (static_cast<size_t>(row) * width + column) * 3;
  };
  if (clockwise_degrees == 180) {
    for (int row = 0; row < height; ++row) {
      for (int column = 0; column < width; ++column) {
        std::memcpy(destination + (static_cast<size_t>(row) * width + column) * 3,
                    pixel(height - 1 - row, width - 1 - column), 3);
      }
    }
    return;
  }
  // 90 or 270: the output is height wide and width tall.
  const int out_width = height;
  const int out_height = width;
  for (int row = 0; row < out_height; ++row) {
    for (int column = 0; column < out_width; ++column) {
      const uint8_t* from = clockwise_degrees == 90 ? pixel(height - 1 - column, row)
                                                    : pixel(column, width - 1 - row);
      std::memcpy(destination + (static_cast<size_t>(row) * out_width + column) * 3, from, 3);
    }
  }
}

}  // namespace vigil::decoder

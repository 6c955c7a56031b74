#include "decoder/stream_info.h"

#include <cmath>

extern "C" {
#include <libavutil/display.h>
#include <libavutil/pixdesc.h>
}

namespace vigil::decoder {

int display_rotation_degrees(const AVStream& stream) {
  const auto* matrix = reinterpret_cast<const int32_t*>(
      av_stream_get_side_data(&stream, AV_PKT_DATA_DISPLAYMATRIX, nullptr));
  if (matrix == nullptr) return 0;
  // av_display_rotation_get is counter-clockwise; display needs the clockwise correction.
  const double counter_clockwise = av_display_rotation_get(matrix);
  if (std::isnan(counter_clockwise)) return 0;
  int clockwise = static_cast<int>(std::lround(-counter_clockwise / 90.0)) * 90;
  clockwise %= 360;
  if (clockwise < 0) clockwise += 360;
  return clockwise;
}

StreamInfo describe_stream(const OpenedInput& input) {
  const AVStream& stream = *input.stream();
  const AVCodecParameters& parameters = *stream.codecpar;
  StreamInfo info;
  info.container = input.format->iformat->name;
  info.codec = avcodec_get_name(parameters.codec_id);
  const char* pixel_format = av_get_pix_fmt_name(static_cast<AVPixelFormat>(parameters.format));
  info.pixel_format = pixel_format != nullptr ? pixel_format : "unknown";
  info.coded_width = parameters.width;
  info.coded_height = parameters.height;
  info.rotation_degrees = display_rotation_degrees(stream);
  const bool swapped = info.rotation_degrees == 90 || info.rotation_degrees == 270;
  info.width = swapped ? parameters.height : parameters.width;
  info.height = swapped ? parameters.width : parameters.height;
  info.time_base_num = stream.time_base.num;
  info.time_base_den = stream.time_base.den;
  if (stream.avg_frame_rate.num > 0 && stream.avg_frame_rate.den > 0) {
    info.frame_rate = av_q2d(stream.avg_frame_rate);
  } else if (stream.r_frame_rate.num > 0 && stream.r_frame_rate.den > 0) {
    info.frame_rate = av_q2d(stream.r_frame_rate);
  }
  if (stream.duration != AV_NOPTS_VALUE) {
    info.duration_seconds = static_cast<double>(stream.duration) * av_q2d(stream.time_base);
  } else if (input.format->duration != AV_NOPTS_VALUE) {
    info.duration_seconds = static_cast<double>(input.format->duration) / AV_TIME_BASE;
  }
  info.frame_count = stream.nb_frames;
  info.bit_rate = parameters.bit_rate > 0 ? parameters.bit_rate : input.format->bit_rate;
  return info;
}

StreamInfo describe_stream(const OpenedInput& input, const KeyframeIndex& index) {
  StreamInfo info = describe_stream(input);
  const AVRational time_base = input.stream()->time_base;
  info.frame_count = index.frame_count();
  info.keyframe_count = static_cast<int64_t>(index.keyframes().size());
  info.duration_seconds =
      static_cast<double>(index.end_pts() - index.first_pts()) * av_q2d(time_base);
  if (info.duration_seconds > 0) {
    info.frame_rate = static_cast<double>(info.frame_count) / info.duration_seconds;
  }
  info.indexed = true;
  return info;
}

}  // namespace vigil::decoder

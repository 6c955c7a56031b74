// vigil_loop_video IN OUT N: writes N back-to-back copies of IN's video stream into OUT (the
// container follows OUT's extension), shifting each copy's timestamps by the segment's length.
// Packets are stream-copied, never re-encoded: a one-minute encoded segment becomes a
// ten-minute benchmark clip in a second, also on machines without an encoder (the GPU machine
// has no ffmpeg CLI and no x264/x265). Other streams (audio, subtitles) are dropped.
//
// Every copy starts at IN's first packet, which must be a keyframe, so the result decodes like
// one long recording whose GOPs restart at each seam.

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>

#include "decoder/ffmpeg_handles.h"

namespace vigil::bench {
namespace {

using decoder::av_error_string;
using decoder::FormatContextPtr;
using decoder::make_packet;
using decoder::PacketPtr;

// Bad arguments, unreadable input or a failed write; main prints it and exits with 1.
class LoopError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

void check(int result, const std::string& what) {
  if (result < 0) throw LoopError(what + ": " + av_error_string(result));
}

// An output context owns its file (unlike an input context, which avformat_close_input
// frees): close the file, then free the context. Move to decoder/ffmpeg_handles.h once
// a second writer (the encoder side) needs it.
struct OutputContextDeleter {
  void operator()(AVFormatContext* context) const {
    if (context->pb != nullptr && (context->oformat->flags & AVFMT_NOFILE) == 0) {
      avio_closep(&context->pb);
    }
    avformat_free_context(context);
  }
};
using OutputContextPtr = std::unique_ptr<AVFormatContext, OutputContextDeleter>;

struct Input {
  FormatContextPtr format;
  int video_stream = -1;
  AVStream* stream() const { return format->streams[video_stream]; }
};

// Opens path and selects its best video stream. Throws LoopError.
Input open_input(const std::string& path) {
  AVFormatContext* raw = nullptr;
  check(avformat_open_input(&raw, path.c_str(), nullptr, nullptr), "cannot open " + path);
  Input input;
  input.format.reset(raw);
  check(avformat_find_stream_info(input.format.get(), nullptr), "cannot read streams of " + path);
  input.video_stream =
      av_find_best_stream(input.format.get(), AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  check(input.video_stream, "no video stream in " + path);
  return input;
}

// Reads the next packet of the selected stream into packet; false at end of file.
bool read_video_packet(Input& input, AVPacket* packet) {
  for (;;) {
    av_packet_unref(packet);
    const int result = av_read_frame(input.format.get(), packet);
    if (result == AVERROR_EOF) return false;
    check(result, "cannot read " + std::string(input.format->url));
    if (packet->stream_index == input.video_stream) return true;
  }
}

// The segment's extent on its own timeline, in the stream's time_base.
struct SegmentTiming {
  int64_t packets = 0;
  int64_t first_pts = std::numeric_limits<int64_t>::max();
  int64_t end_pts = std::numeric_limits<int64_t>::min();  // max(pts + duration)
  int64_t period() const { return end_pts - first_pts; }  // shift between copies
};

// One demux pass (no decoding): where the segment starts and ends. Packets without a
// duration count one frame at the stream's average rate. Throws LoopError.
SegmentTiming measure_segment(Input& input, const std::string& path) {
  const AVStream& stream = *input.stream();
  int64_t frame_duration = 0;
  if (stream.avg_frame_rate.num > 0 && stream.avg_frame_rate.den > 0) {
    frame_duration = av_rescale_q(1, av_inv_q(stream.avg_frame_rate), stream.time_base);
  }
  SegmentTiming timing;
  PacketPtr packet = make_packet();
  bool first = true;
  while (read_video_packet(input, packet.get())) {
    if (first && (packet->flags & AV_PKT_FLAG_KEY) == 0) {
      throw LoopError(path + ": the first video packet is not a keyframe; copies would not decode");
    }
    first = false;
    if (packet->pts == AV_NOPTS_VALUE) {
      throw LoopError(path + ": a video packet without pts; cannot shift copies");
    }
    const int64_t duration = packet->duration > 0 ? packet->duration : frame_duration;
    timing.first_pts = std::min(timing.first_pts, packet->pts);
    timing.end_pts = std::max(timing.end_pts, packet->pts + duration);
    ++timing.packets;
  }
  if (timing.packets == 0) throw LoopError(path + ": no video packets");
  if (timing.period() <= 0) throw LoopError(path + ": cannot tell the segment's duration");
  return timing;
}

// Copies the stream's display matrix and other side data, so rotation survives.
void copy_stream_side_data(const AVStream& from, AVStream& to) {
  for (int i = 0; i < from.nb_side_data; ++i) {
    const AVPacketSideData& side = from.side_data[i];
    uint8_t* data = av_stream_new_side_data(&to, side.type, side.size);
    if (data == nullptr) throw std::bad_alloc();
    std::copy(side.data, side.data + side.size, data);
  }
}

int64_t parse_copies(const std::string& text) {
  char* end = nullptr;
  const long long copies = std::strtoll(text.c_str(), &end, 10);
  if (end == text.c_str() || *end != '\0' || copies < 1 || copies > 100000) {
    throw LoopError("N must be a whole number from 1 to 100000, got '" + text + "'");
  }
  return copies;
}

void loop_video(const std::string& in_path, const std::string& out_path, int64_t copies) {
  Input input = open_input(in_path);
  const SegmentTiming timing = measure_segment(input, in_path);
  const AVStream& in_stream = *input.stream();

  AVFormatContext* raw = nullptr;
  check(avformat_alloc_output_context2(&raw, nullptr, nullptr, out_path.c_str()),
        "cannot choose a container for " + out_path);
  OutputContextPtr output(raw);
  AVStream* out_stream = avformat_new_stream(output.get(), nullptr);
  if (out_stream == nullptr) throw std::bad_alloc();
  check(avcodec_parameters_copy(out_stream->codecpar, in_stream.codecpar), "codec parameters");
  out_stream->codecpar->codec_tag = 0;  // let the output container pick its own tag
  out_stream->time_base = in_stream.time_base;
  out_stream->avg_frame_rate = in_stream.avg_frame_rate;
  out_stream->r_frame_rate = in_stream.r_frame_rate;
  copy_stream_side_data(in_stream, *out_stream);
  if ((output->oformat->flags & AVFMT_NOFILE) == 0) {
    check(avio_open(&output->pb, out_path.c_str(), AVIO_FLAG_WRITE), "cannot create " + out_path);
  }
  check(avformat_write_header(output.get(), nullptr), "cannot write the header of " + out_path);

  PacketPtr packet = make_packet();
  int64_t written = 0;
  for (int64_t copy = 0; copy < copies; ++copy) {
    // A fresh demuxer per copy: as cheap as a seek, and exact for any container.
    Input segment = open_input(in_path);
    const int64_t shift = copy * timing.period();
    while (read_video_packet(segment, packet.get())) {
      packet->pts += shift;
      if (packet->dts != AV_NOPTS_VALUE) packet->dts += shift;
      av_packet_rescale_ts(packet.get(), in_stream.time_base, out_stream->time_base);
      packet->stream_index = out_stream->index;
      packet->pos = -1;
      check(av_interleaved_write_frame(output.get(), packet.get()), "cannot write " + out_path);
      ++written;
    }
  }
  check(av_write_trailer(output.get()), "cannot finish " + out_path);

  const double segment_seconds = static_cast<double>(timing.period()) * av_q2d(in_stream.time_base);
  std::cout << "vigil_loop_video: " << out_path << ": " << copies << " x " << segment_seconds
            << " s = " << static_cast<double>(copies) * segment_seconds << " s, " << written
            << " packets\n";
  if (written != copies * timing.packets) {
    throw LoopError("wrote " + std::to_string(written) + " packets, expected " +
                    std::to_string(copies * timing.packets));
  }
}

}  // namespace
}  // namespace vigil::bench

int main(int argc, char** argv) {
  if (argc != 4) {
    std::cerr << "usage: vigil_loop_video IN OUT N\n"
                 "  writes N back-to-back stream copies of IN's video into OUT (no re-encoding)\n";
    return 2;
  }
  av_log_set_level(AV_LOG_ERROR);
  try {
    vigil::bench::loop_video(argv[1], argv[2], vigil::bench::parse_copies(argv[3]));
  } catch (const std::exception& error) {
    std::cerr << "vigil_loop_video: " << error.what() << "\n";
    return 1;
  }
  return 0;
}

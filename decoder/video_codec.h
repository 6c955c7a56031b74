// Opening a decoder for a video stream.
#pragma once

#include <string>

#include "decoder/ffmpeg_handles.h"

namespace vigil::decoder {

// A codec context for a stream's parameters, opened with `threads` threads (1 = lowest
// latency, 0 = FFmpeg's choice). Each decoding thread of vigil owns its own. Throws
// DecodeError(kUnsupportedCodec) naming the codec and `source_name`.
CodecContextPtr open_video_decoder(const AVCodecParameters& parameters, AVRational time_base,
                                   int threads, const std::string& source_name);
inline CodecContextPtr open_video_decoder(const AVStream& stream, int threads,
                                          const std::string& source_name) {
  return open_video_decoder(*stream.codecpar, stream.time_base, threads, source_name);
}

}  // namespace vigil::decoder

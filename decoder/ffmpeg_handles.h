// Owning handles for every FFmpeg resource the decoder touches, defined once so that
// business logic never calls a *_free function by hand.
#pragma once

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/frame.h>
#include <libswscale/swscale.h>
}

#include <memory>
#include <string>

namespace vigil::decoder {

struct FormatContextDeleter {
  void operator()(AVFormatContext* context) const;
};
struct CodecContextDeleter {
  void operator()(AVCodecContext* context) const;
};
struct FrameDeleter {
  void operator()(AVFrame* frame) const;
};
struct PacketDeleter {
  void operator()(AVPacket* packet) const;
};
struct SwsContextDeleter {
  void operator()(SwsContext* context) const;
};
struct IoContextDeleter {
  void operator()(AVIOContext* context) const;
};
struct CodecParametersDeleter {
  void operator()(AVCodecParameters* parameters) const;
};
struct DictionaryDeleter {
  void operator()(AVDictionary* dictionary) const;
};

using FormatContextPtr = std::unique_ptr<AVFormatContext, FormatContextDeleter>;
using CodecContextPtr = std::unique_ptr<AVCodecContext, CodecContextDeleter>;
using FramePtr = std::unique_ptr<AVFrame, FrameDeleter>;
using PacketPtr = std::unique_ptr<AVPacket, PacketDeleter>;
using SwsContextPtr = std::unique_ptr<SwsContext, SwsContextDeleter>;
using IoContextPtr = std::unique_ptr<AVIOContext, IoContextDeleter>;
using CodecParametersPtr = std::unique_ptr<AVCodecParameters, CodecParametersDeleter>;

// Allocates; throws std::bad_alloc when FFmpeg cannot.
FramePtr make_frame();
PacketPtr make_packet();
// A copy of a stream's codec parameters.
CodecParametersPtr copy_codec_parameters(const AVCodecParameters& source);

// FFmpeg's own message for an AVERROR code, e.g. "Invalid data found when processing input".
std::string av_error_string(int error_code);

// An AVDictionary of options that frees itself; FFmpeg consumes entries it recognises.
class Options {
 public:
  Options() = default;
  Options(const Options&) = delete;
  Options& operator=(const Options&) = delete;
  ~Options();
  void set(const std::string& key, const std::string& value);
  void set(const std::string& key, int64_t value);
  AVDictionary** address() { return &dictionary_; }

 private:
  AVDictionary* dictionary_ = nullptr;
};

}  // namespace vigil::decoder

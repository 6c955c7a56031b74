#include "decoder/video_codec.h"

#include "decoder/decode_error.h"

namespace vigil::decoder {

CodecContextPtr open_video_decoder(const AVCodecParameters& parameters, AVRational time_base,
                                   int threads, const std::string& source_name) {
  const AVCodec* codec = avcodec_find_decoder(parameters.codec_id);
  const std::string codec_name = avcodec_get_name(parameters.codec_id);
  if (codec == nullptr) {
    throw DecodeError(DecodeErrorKind::kUnsupportedCodec,
                      source_name + ": no decoder for video codec '" + codec_name + "'");
  }
  CodecContextPtr context(avcodec_alloc_context3(codec));
  if (context == nullptr) throw std::bad_alloc();
  int result = avcodec_parameters_to_context(context.get(), &parameters);
  if (result < 0) {
    throw DecodeError(DecodeErrorKind::kUnsupportedCodec,
                      source_name + ": bad parameters for codec '" + codec_name +
                          "': " + av_error_string(result));
  }
  context->pkt_timebase = time_base;
  context->thread_count = threads;
  context->thread_type = FF_THREAD_FRAME | FF_THREAD_SLICE;
  result = avcodec_open2(context.get(), codec, nullptr);
  if (result < 0) {
    throw DecodeError(
        DecodeErrorKind::kUnsupportedCodec,
        source_name + ": cannot open decoder '" + codec_name + "': " + av_error_string(result));
  }
  return context;
}

}  // namespace vigil::decoder

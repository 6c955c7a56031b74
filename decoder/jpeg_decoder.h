// One JPEG picture at a time to packed RGB24 (FFmpeg's mjpeg decoder, then the same
// FrameConverter as every other decoded picture), for clients that push pictures instead of a
// video stream.
#pragma once

#include <cstddef>
#include <cstdint>

#include "decoder/ffmpeg_handles.h"
#include "decoder/frame.h"
#include "decoder/frame_converter.h"

namespace vigil::decoder {

// Whether data starts with a JPEG's start-of-image marker and the marker after it (FF D8 FF):
// a cheap test to pick JPEG from container bytes, not a validation.
bool starts_like_jpeg(const uint8_t* data, size_t size);

// Not thread-safe: one per decoding thread. Pictures are independent (JPEG is intra only), so
// one corrupt picture does not affect the next.
class JpegDecoder {
 public:
  // size: the RGB output size ({0, 0}: the picture's own). Throws DecodeError
  // (kUnsupportedCodec) when this FFmpeg has no mjpeg decoder.
  explicit JpegDecoder(OutputSize size = {});

  // Decodes one complete JPEG picture (SOI to EOI) of size bytes. The picture stays valid
  // until the next call. Throws DecodeError(kInvalidData) with FFmpeg's message for bytes that
  // are not a whole, decodable JPEG (truncated, corrupt entropy data, not a JPEG at all).
  const AVFrame& decode_picture(const uint8_t* data, size_t size);
  // The last decoded picture as RGB24: sets frame.width, frame.height and frame.rgb only (the
  // caller times the frame). Needs a decode_picture() that succeeded.
  void convert_last(Frame& frame);
  // decode_picture, then convert_last.
  void decode(const uint8_t* data, size_t size, Frame& frame);

  int64_t pictures_decoded() const { return pictures_decoded_; }

 private:
  CodecContextPtr codec_;
  PacketPtr packet_;
  FramePtr picture_;
  FrameConverter converter_;
  bool have_picture_ = false;
  int64_t pictures_decoded_ = 0;
};

}  // namespace vigil::decoder

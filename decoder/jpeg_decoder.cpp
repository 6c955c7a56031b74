#include "decoder/jpeg_decoder.h"

#include <cassert>
#include <climits>
#include <cstring>
#include <string>

#include "decoder/decode_error.h"

namespace vigil::decoder {
namespace {

[[noreturn]] void throw_invalid(const std::string& why) {
  throw DecodeError(DecodeErrorKind::kInvalidData, "invalid JPEG picture: " + why);
}

}  // namespace

bool starts_like_jpeg(const uint8_t* data, size_t size) {
  return size >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF;
}

JpegDecoder::JpegDecoder(OutputSize size)
    : packet_(make_packet()), picture_(make_frame()), converter_(size, /*rotation_degrees=*/0) {
  const AVCodec* codec = avcodec_find_decoder(AV_CODEC_ID_MJPEG);
  if (codec == nullptr) {
    throw DecodeError(DecodeErrorKind::kUnsupportedCodec, "this FFmpeg has no mjpeg decoder");
  }
  codec_.reset(avcodec_alloc_context3(codec));
  if (!codec_) throw std::bad_alloc();
  codec_->thread_count = 1;  // one picture at a time: frame threading would only add latency
  // Fail on damage instead of concealing it: a corrupt picture must be reported, not encoded.
  codec_->err_recognition = AV_EF_EXPLODE | AV_EF_BUFFER | AV_EF_COMPLIANT;
  const int opened = avcodec_open2(codec_.get(), codec, nullptr);
  if (opened < 0) {
    throw DecodeError(DecodeErrorKind::kUnsupportedCodec,
                      "cannot open the mjpeg decoder: " + av_error_string(opened));
  }
}

const AVFrame& JpegDecoder::decode_picture(const uint8_t* data, size_t size) {
  have_picture_ = false;
  if (!starts_like_jpeg(data, size)) throw_invalid("it does not start with FF D8 FF (SOI)");
  // A whole picture ends with EOI (FF D9); the mjpeg decoder would conceal a truncated one.
  if (size < 4 || data[size - 2] != 0xFF || data[size - 1] != 0xD9) {
    throw_invalid("it does not end with FF D9 (EOI): truncated?");
  }
  if (size > static_cast<size_t>(INT_MAX - AV_INPUT_BUFFER_PADDING_SIZE)) {
    throw_invalid("too large (" + std::to_string(size) + " bytes)");
  }
  av_packet_unref(packet_.get());
  const int allocated = av_new_packet(packet_.get(), static_cast<int>(size));
  if (allocated < 0) throw std::bad_alloc();
  std::memcpy(packet_->data, data, size);
  packet_->flags |= AV_PKT_FLAG_KEY;
  // Intra only: a flush between pictures costs nothing and guarantees one picture per packet.
  avcodec_flush_buffers(codec_.get());
  const int sent = avcodec_send_packet(codec_.get(), packet_.get());
  if (sent < 0) throw_invalid(av_error_string(sent));
  av_frame_unref(picture_.get());
  const int received = avcodec_receive_frame(codec_.get(), picture_.get());
  if (received < 0) throw_invalid(av_error_string(received));
  if (picture_->decode_error_flags != 0 || (picture_->flags & AV_FRAME_FLAG_CORRUPT) != 0) {
    throw_invalid("the decoder found damaged data");
  }
  if (picture_->width <= 0 || picture_->height <= 0) throw_invalid("no picture size");
  have_picture_ = true;
  ++pictures_decoded_;
  return *picture_;
}

void JpegDecoder::convert_last(Frame& frame) {
  assert(have_picture_ && "convert_last needs a decoded picture");
  converter_.convert(*picture_, frame.rgb, frame.width, frame.height);
}

void JpegDecoder::decode(const uint8_t* data, size_t size, Frame& frame) {
  decode_picture(data, size);
  convert_last(frame);
}

}  // namespace vigil::decoder

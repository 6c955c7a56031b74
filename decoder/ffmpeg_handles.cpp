#include "decoder/ffmpeg_handles.h"

#include <new>

namespace vigil::decoder {

void FormatContextDeleter::operator()(AVFormatContext* context) const {
  // avformat_close_input also frees a custom pb only when FFmpeg owns it; custom I/O
  // contexts are owned by their own IoContextPtr (AVFMT_FLAG_CUSTOM_IO).
  avformat_close_input(&context);
}
void CodecContextDeleter::operator()(AVCodecContext* context) const {
  avcodec_free_context(&context);
}
void FrameDeleter::operator()(AVFrame* frame) const {
  av_frame_free(&frame);
}
void PacketDeleter::operator()(AVPacket* packet) const {
  av_packet_free(&packet);
}
void SwsContextDeleter::operator()(SwsContext* context) const {
  sws_freeContext(context);
}
void IoContextDeleter::operator()(AVIOContext* context) const {
  if (context != nullptr) av_freep(&context->buffer);
  avio_context_free(&context);
}
void CodecParametersDeleter::operator()(AVCodecParameters* parameters) const {
  avcodec_parameters_free(&parameters);
}
void DictionaryDeleter::operator()(AVDictionary* dictionary) const {
  av_dict_free(&dictionary);
}

FramePtr make_frame() {
  AVFrame* frame = av_frame_alloc();
  if (frame == nullptr) throw std::bad_alloc();
  return FramePtr(frame);
}

PacketPtr make_packet() {
  AVPacket* packet = av_packet_alloc();
  if (packet == nullptr) throw std::bad_alloc();
  return PacketPtr(packet);
}

CodecParametersPtr copy_codec_parameters(const AVCodecParameters& source) {
  CodecParametersPtr copy(avcodec_parameters_alloc());
  if (copy == nullptr || avcodec_parameters_copy(copy.get(), &source) < 0) throw std::bad_alloc();
  return copy;
}

std::string av_error_string(int error_code) {
  char buffer[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(error_code, buffer, sizeof(buffer));
  return buffer;
}

Options::~Options() {
  av_dict_free(&dictionary_);
}

void Options::set(const std::string& key, const std::string& value) {
  av_dict_set(&dictionary_, key.c_str(), value.c_str(), 0);
}

void Options::set(const std::string& key, int64_t value) {
  av_dict_set_int(&dictionary_, key.c_str(), value, 0);
}

}  // namespace vigil::decoder

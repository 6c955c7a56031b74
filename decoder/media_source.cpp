#include "decoder/media_source.h"

#include <sys/stat.h>

#include <utility>

#include "decoder/decode_error.h"

namespace vigil::decoder {
namespace {

constexpr int kPushIoBufferBytes = 64 * 1024;

int read_pushed_bytes(void* opaque, uint8_t* buffer, int size) {
  return static_cast<PushSource*>(opaque)->read(buffer, size);
}

std::string scheme_of(const std::string& url) {
  const size_t colon = url.find("://");
  return colon == std::string::npos ? std::string() : url.substr(0, colon);
}

[[noreturn]] void throw_open_error(const MediaSource& source, const OpenedInput& input,
                                   int error_code, const char* step) {
  const bool timed_out = error_code == AVERROR(ETIMEDOUT) ||
                         (input.interrupter != nullptr && input.interrupter->timed_out()) ||
                         (input.push != nullptr && input.push->timed_out());
  const DecodeErrorKind kind = timed_out
                                   ? DecodeErrorKind::kTimeout
                                   : (error_code == AVERROR_EXIT ? DecodeErrorKind::kCancelled
                                                                 : DecodeErrorKind::kOpenFailed);
  std::string message = "cannot open " + source.describe() + ": " + step + " failed: " +
                        (timed_out ? std::string("timed out") : av_error_string(error_code));
  throw DecodeError(kind, message);
}

}  // namespace

MediaSource MediaSource::file(std::string path) {
  MediaSource source;
  source.kind_ = Kind::kFile;
  source.location_ = std::move(path);
  return source;
}

MediaSource MediaSource::url(std::string url) {
  MediaSource source;
  source.kind_ = Kind::kUrl;
  source.location_ = std::move(url);
  return source;
}

MediaSource MediaSource::push(std::shared_ptr<PushSource> push_source, std::string format_name) {
  MediaSource source;
  source.kind_ = Kind::kPush;
  source.push_ = std::move(push_source);
  source.format_name_ = std::move(format_name);
  return source;
}

MediaSource MediaSource::jpeg_push(std::shared_ptr<JpegPushSource> jpeg_source) {
  MediaSource source;
  source.kind_ = Kind::kJpegPush;
  source.jpeg_push_ = std::move(jpeg_source);
  return source;
}

MediaSource MediaSource::from_string(const std::string& location) {
  const std::string scheme = scheme_of(location);
  if (scheme.empty() || scheme == "file") {
    return file(scheme.empty() ? location : location.substr(7));
  }
  return url(location);
}

void MediaSource::cancel_pushed() const {
  if (push_) push_->cancel();
  if (jpeg_push_) jpeg_push_->cancel();
}

std::string MediaSource::describe() const {
  switch (kind_) {
    case Kind::kFile:
      return "file '" + location_ + "'";
    case Kind::kUrl:
      return "URL '" + location_ + "'";
    case Kind::kPush:
      return "pushed stream";
    case Kind::kJpegPush:
      return "pushed JPEG pictures";
  }
  return "source";
}

OpenedInput open_input(const MediaSource& source, const SourceOptions& options,
                       const Interrupter* cancel_signal) {
  OpenedInput input;
  input.interrupter = std::make_unique<Interrupter>();
  input.interrupter->follow(cancel_signal);

  if (source.kind() == MediaSource::Kind::kJpegPush) {
    throw DecodeError(DecodeErrorKind::kInvalidRequest,
                      source.describe() + " have no container to open: decode them one by one");
  }
  if (source.kind() == MediaSource::Kind::kFile) {
    struct stat status {};
    if (::stat(source.location().c_str(), &status) != 0) {
      throw DecodeError(DecodeErrorKind::kOpenFailed,
                        "cannot open " + source.describe() + ": no such file");
    }
    if (S_ISREG(status.st_mode) && status.st_size == 0) {
      throw DecodeError(DecodeErrorKind::kEmptyInput,
                        "cannot open " + source.describe() + ": the file is empty");
    }
  }

  AVFormatContext* raw = avformat_alloc_context();
  if (raw == nullptr) throw std::bad_alloc();
  raw->interrupt_callback = input.interrupter->callback();

  Options av_options;
  const AVInputFormat* forced_format = nullptr;
  if (source.kind() == MediaSource::Kind::kPush) {
    if (source.push_source() == nullptr) {
      avformat_free_context(raw);
      throw DecodeError(DecodeErrorKind::kInvalidRequest, "push source without a buffer");
    }
    input.push = source.push_source();
    auto* buffer = static_cast<uint8_t*>(av_malloc(kPushIoBufferBytes));
    AVIOContext* io = avio_alloc_context(buffer, kPushIoBufferBytes, /*write_flag=*/0,
                                         input.push.get(), &read_pushed_bytes, nullptr, nullptr);
    if (buffer == nullptr || io == nullptr) {
      av_free(buffer);
      avformat_free_context(raw);
      throw std::bad_alloc();
    }
    io->seekable = 0;
    input.io.reset(io);
    raw->pb = io;
    raw->flags |= AVFMT_FLAG_CUSTOM_IO;
    raw->probesize = options.push_probe_bytes;
    if (!source.format_name().empty()) {
      forced_format = av_find_input_format(source.format_name().c_str());
      if (forced_format == nullptr) {
        avformat_free_context(raw);
        throw DecodeError(DecodeErrorKind::kInvalidRequest,
                          "unknown push format '" + source.format_name() + "'");
      }
    }
  } else if (source.kind() == MediaSource::Kind::kUrl) {
    const std::string scheme = scheme_of(source.location());
    const int64_t read_timeout_us =
        std::chrono::duration_cast<std::chrono::microseconds>(options.read_timeout).count();
    av_options.set("rw_timeout", read_timeout_us);
    if (scheme == "rtsp" || scheme == "rtsps") {
      av_options.set("rtsp_transport", options.rtsp_transport);
      av_options.set("timeout", read_timeout_us);
    }
    if (scheme == "tcp" || scheme == "http" || scheme == "https") {
      av_options.set("timeout", read_timeout_us);
    }
  }

  input.interrupter->arm(options.connect_timeout);
  const std::string url = source.kind() == MediaSource::Kind::kPush ? "" : source.location();
  int result = avformat_open_input(&raw, url.c_str(), forced_format, av_options.address());
  if (result < 0) {
    // avformat_open_input frees raw on failure.
    throw_open_error(source, input, result, "avformat_open_input");
  }
  input.format.reset(raw);

  result = avformat_find_stream_info(input.format.get(), nullptr);
  if (result < 0) throw_open_error(source, input, result, "reading stream parameters");

  const AVCodec* codec = nullptr;
  result = av_find_best_stream(input.format.get(), AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
  if (result == AVERROR_STREAM_NOT_FOUND) {
    throw DecodeError(DecodeErrorKind::kNoVideoStream, source.describe() + " has no video stream");
  }
  if (result == AVERROR_DECODER_NOT_FOUND || (result >= 0 && codec == nullptr)) {
    const AVStream* stream = input.format->streams[std::max(result, 0)];
    throw DecodeError(DecodeErrorKind::kUnsupportedCodec,
                      source.describe() + ": no decoder for video codec '" +
                          avcodec_get_name(stream->codecpar->codec_id) + "'");
  }
  if (result < 0) throw_open_error(source, input, result, "selecting the video stream");
  input.video_stream = result;
  const AVCodecParameters* parameters = input.stream()->codecpar;
  if (parameters->width <= 0 || parameters->height <= 0) {
    throw DecodeError(DecodeErrorKind::kOpenFailed,
                      source.describe() + ": the video stream has no frame size");
  }
  for (unsigned i = 0; i < input.format->nb_streams; ++i) {
    if (static_cast<int>(i) != input.video_stream) {
      input.format->streams[i]->discard = AVDISCARD_ALL;
    }
  }
  // Pushed bytes arriving slowly (a 1-fps camera) outlast the open deadline while FFmpeg probes
  // them; the probe then stops with what it has, which is not an error. Left set, the flag
  // would report the stream's clean end, later, as a timeout.
  if (input.push != nullptr) input.interrupter->forget_timeout();
  return input;
}

bool is_seekable_archive(const MediaSource& source, const OpenedInput& input) {
  if (source.kind() == MediaSource::Kind::kPush || source.kind() == MediaSource::Kind::kJpegPush) {
    return false;
  }
  if (source.kind() == MediaSource::Kind::kFile) return true;
  const std::string scheme = scheme_of(source.location());
  const bool byte_protocol = scheme == "http" || scheme == "https" || scheme == "file";
  const AVIOContext* io = input.format->pb;
  return byte_protocol && io != nullptr && (io->seekable & AVIO_SEEKABLE_NORMAL) != 0 &&
         input.format->duration != AV_NOPTS_VALUE;
}

}  // namespace vigil::decoder

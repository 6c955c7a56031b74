// Where video comes from (a file, a URL, pushed bytes, pushed JPEG pictures) and how to open
// it with libavformat.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "decoder/ffmpeg_handles.h"
#include "decoder/interrupt.h"
#include "decoder/jpeg_push_source.h"
#include "decoder/push_source.h"

namespace vigil::decoder {

// Timeouts and reconnect policy for opening and reading a source.
struct SourceOptions {
  std::chrono::milliseconds connect_timeout{5000};  // open + stream probing
  std::chrono::milliseconds read_timeout{5000};     // one packet read
  int max_reconnects = 5;                           // live URLs; -1 = forever
  std::chrono::milliseconds reconnect_backoff_initial{200};
  std::chrono::milliseconds reconnect_backoff_max{5000};
  std::string rtsp_transport = "tcp";     // "tcp" or "udp"
  int64_t push_probe_bytes = 512 * 1024;  // probesize for pushed bytes
};

class MediaSource {
 public:
  enum class Kind { kFile, kUrl, kPush, kJpegPush };

  static MediaSource file(std::string path);
  static MediaSource url(std::string url);
  // format_name: "mpegts", "mp4" or "" to let FFmpeg probe the bytes.
  static MediaSource push(std::shared_ptr<PushSource> source, std::string format_name);
  // Whole JPEG pictures pushed one at a time with their times (no container: open_frame_source
  // decodes them one by one, open_input refuses them).
  static MediaSource jpeg_push(std::shared_ptr<JpegPushSource> source);
  // A path or URL: "scheme://..." is a URL, anything else a file.
  static MediaSource from_string(const std::string& location);

  Kind kind() const { return kind_; }
  const std::string& location() const { return location_; }
  const std::shared_ptr<PushSource>& push_source() const { return push_; }
  const std::shared_ptr<JpegPushSource>& jpeg_push_source() const { return jpeg_push_; }
  const std::string& format_name() const { return format_name_; }
  // Abandons pushed bytes or pictures, so that a blocked read returns at once (thread-safe);
  // nothing for files and URLs.
  void cancel_pushed() const;
  // A readable name for messages: the path, the URL, "pushed stream" or "pushed JPEG pictures".
  std::string describe() const;

 private:
  Kind kind_ = Kind::kFile;
  std::string location_;
  std::shared_ptr<PushSource> push_;
  std::shared_ptr<JpegPushSource> jpeg_push_;
  std::string format_name_;
};

// An opened input and everything it depends on, destroyed in the right order.
struct OpenedInput {
  std::unique_ptr<Interrupter> interrupter;  // polled by format; declared first, freed last
  std::shared_ptr<PushSource> push;          // read by io
  IoContextPtr io;                           // custom I/O for pushed bytes
  FormatContextPtr format;
  int video_stream = -1;
  AVStream* stream() const { return format->streams[video_stream]; }
};

// Opens the source, reads stream parameters and selects the best video stream; other
// streams are discarded at demux. Throws DecodeError (kOpenFailed, kTimeout,
// kNoVideoStream, kUnsupportedCodec, kEmptyInput) naming the source and FFmpeg's error, and
// kInvalidRequest for pushed JPEG pictures (there is no container to open).
// cancel_signal, when given, aborts the open (and later reads) once it is cancelled
// (kCancelled); it must outlive the returned input.
OpenedInput open_input(const MediaSource& source, const SourceOptions& options,
                       const Interrupter* cancel_signal = nullptr);

// Whether the opened input is a seekable archive (can be indexed and decoded in parallel)
// rather than a live stream that must be read in order.
bool is_seekable_archive(const MediaSource& source, const OpenedInput& input);

}  // namespace vigil::decoder

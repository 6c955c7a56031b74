// Real live sources for the live tests: the ffmpeg CLI encoding a synthetic clip in real time
// (-re) and serving it over TCP, UDP, HTTP or RTSP (through Debian's rtsp-server-perl), plus
// the consumer-side measurements the tests assert on.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "decoder/frame_source.h"
#include "tests/support/test_support.h"

namespace vigil::testing {

enum class LiveProtocol { kTcp, kUdp, kHttp, kRtsp };

const char* to_string(LiveProtocol protocol);
// For GoogleTest's names and messages.
inline void PrintTo(LiveProtocol protocol, std::ostream* out) {
  *out << to_string(protocol);
}

// The synthetic clip every live source sends: testsrc2, H.264 for the lowest latency.
constexpr int kLiveWidth = 320;
constexpr int kLiveHeight = 240;
constexpr int kLiveFramesPerSecond = 25;

// A shell command running ffmpeg that encodes `seconds` of the synthetic clip (one keyframe
// a second) and writes it to `output` (format options and URL): at its native rate (-re)
// when real_time, else as fast as it can (a file to serve later).
std::string live_encoder_command(double seconds, const std::string& output, bool real_time = true);

// One live stream served by real processes, killed on destruction. url() is what vigil
// opens; options carry what the protocol needs (RTSP over UDP for rtsp-server-perl).
class LiveServer {
 public:
  // Starts the processes for `seconds` of stream. For TCP and HTTP ffmpeg listens for a
  // single client, so nothing may connect to probe it: open_when_ready retries instead.
  LiveServer(LiveProtocol protocol, double seconds);
  // Starts a TCP server on a port chosen by the caller (a restarted source).
  static std::unique_ptr<LiveServer> tcp_on_port(int port, double seconds);

  const std::string& url() const { return url_; }
  int port() const { return port_; }
  // Sets what this protocol needs on options (rtsp_transport for the RTSP server).
  void configure(decoder::SourceOptions& options) const;
  void pause();  // SIGSTOP to the stream's sender: a stalled source
  void stop();   // kills every process: a source that dies

 private:
  LiveServer() = default;
  LiveProtocol protocol_ = LiveProtocol::kTcp;
  int port_ = 0;
  std::string url_;
  std::unique_ptr<BackgroundProcess> relay_;   // rtsp-server-perl, RTSP only
  std::unique_ptr<BackgroundProcess> sender_;  // the ffmpeg encoder
};

// A TCP port that accepts connections (the kernel completes them) and never sends a byte:
// a source that hangs while being opened.
class SilentListener {
 public:
  explicit SilentListener(int port);
  ~SilentListener();
  SilentListener(const SilentListener&) = delete;
  SilentListener& operator=(const SilentListener&) = delete;

 private:
  int fd_ = -1;
};

// Serves fixed bytes (e.g. MPEG-TS made by the ffmpeg CLI) to the first client that connects,
// spread evenly over `seconds` like a live sender, then closes the connection. The bytes are
// sent as they are: timestamps that jump stay jumping, which no ffmpeg relay would allow.
class ByteStreamServer {
 public:
  ByteStreamServer(std::vector<uint8_t> bytes, double seconds);
  ~ByteStreamServer();  // stops sending and joins
  ByteStreamServer(const ByteStreamServer&) = delete;
  ByteStreamServer& operator=(const ByteStreamServer&) = delete;
  std::string url() const { return "tcp://127.0.0.1:" + std::to_string(port_); }

 private:
  void serve();

  int listen_fd_ = -1;
  int port_ = 0;
  const std::vector<uint8_t> bytes_;
  const double seconds_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

// Opens a live source that may not be ready yet: retries while opening throws
// DecodeError(kOpenFailed) (connection refused, RTSP 404 before the publisher announced)
// until `patience` has passed, then rethrows.
std::unique_ptr<decoder::FrameSource> open_when_ready(const decoder::MediaSource& source,
                                                      const decoder::DecodeOptions& options,
                                                      std::chrono::milliseconds patience);

// A frame's timing as the consumer saw it (the pixels are checked and dropped).
struct Arrival {
  int64_t sample_index = 0;
  double time_seconds = 0;
  double pts_seconds = 0;
  double arrival_seconds = 0;  // steady clock, seconds since an arbitrary origin
  int width = 0;
  int height = 0;
  size_t rgb_bytes = 0;
};

using SteadyClock = std::chrono::steady_clock;

double seconds_since(SteadyClock::time_point start);

// Receives up to `count` frames, sleeping `consumer_delay` after each (a slow consumer);
// stops early at the end of the stream or at `deadline`. Exceptions from next() propagate.
std::vector<Arrival> receive_frames(decoder::FrameSource& frames, size_t count,
                                    std::chrono::milliseconds consumer_delay,
                                    SteadyClock::time_point deadline);

// How much decoding fell behind the stream's own clock over the run: the largest growth of
// (arrival − time_seconds) over its smallest value so far, in seconds. A burst of buffered frames
// at the start lowers the baseline and does not count; a pipeline that blocks makes it grow
// by the consumer's whole delay.
double latency_growth_seconds(const std::vector<Arrival>& arrivals);

// Where timing goes backwards, for a test's failure message; empty when it never does.
std::string timing_regressions(const std::vector<Arrival>& arrivals);

}  // namespace vigil::testing

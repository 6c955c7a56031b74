#include "tests/live/live_stream.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "decoder/decode_error.h"

namespace vigil::testing {
namespace {

// The longest a test's helper process may live, far longer than any live test runs.
constexpr int kProcessLifetimeSeconds = 120;

}  // namespace

const char* to_string(LiveProtocol protocol) {
  switch (protocol) {
    case LiveProtocol::kTcp:
      return "tcp";
    case LiveProtocol::kUdp:
      return "udp";
    case LiveProtocol::kHttp:
      return "http";
    case LiveProtocol::kRtsp:
      return "rtsp";
  }
  return "unknown";
}

std::string live_encoder_command(double seconds, const std::string& output, bool real_time) {
  std::ostringstream command;
  // timeout: a test that crashes leaves no sender behind (a listening ffmpeg would wait for
  // its client forever); the whole process group is paused and killed together.
  command << "exec timeout -s KILL " << kProcessLifetimeSeconds
          << " ffmpeg -nostdin -hide_banner -loglevel error " << (real_time ? "-re " : "")
          << "-f lavfi -i testsrc2=size=" << kLiveWidth << "x" << kLiveHeight
          << ":rate=" << kLiveFramesPerSecond << " -t " << seconds
          << " -c:v libx264 -preset ultrafast -tune zerolatency -g " << kLiveFramesPerSecond
          << " -pix_fmt yuv420p " << output;
  return command.str();
}

LiveServer::LiveServer(LiveProtocol protocol, double seconds) : protocol_(protocol) {
  port_ = free_tcp_port();
  const std::string address = "127.0.0.1:" + std::to_string(port_);
  switch (protocol) {
    case LiveProtocol::kTcp:
      // One client; vigil connects to ffmpeg's listening socket.
      url_ = "tcp://" + address;
      sender_ = std::make_unique<BackgroundProcess>(
          live_encoder_command(seconds, "-f mpegts " + shell_quote(url_ + "?listen=1")));
      break;
    case LiveProtocol::kUdp:
      // vigil binds the port (libavformat's udp input listens on the URL's port) and ffmpeg
      // sends datagrams of seven TS packets to it; what is sent before vigil binds is lost,
      // as on a real multicast feed.
      url_ = "udp://" + address;
      sender_ = std::make_unique<BackgroundProcess>(
          live_encoder_command(seconds, "-f mpegts " + shell_quote(url_ + "?pkt_size=1316")));
      break;
    case LiveProtocol::kHttp:
      // ffmpeg's own single-client HTTP server, a progressive (unbounded) MPEG-TS response.
      url_ = "http://" + address + "/live.ts";
      sender_ = std::make_unique<BackgroundProcess>(
          live_encoder_command(seconds, "-listen 1 -f mpegts " + shell_quote(url_)));
      break;
    case LiveProtocol::kRtsp: {
      // rtsp-server-perl relays RTP over UDP only: the publisher ANNOUNCEs/RECORDs on the
      // server port, vigil PLAYs from the client port with rtsp_transport=udp (its TCP
      // SETUP is answered 400 because there is no client_port).
      const int source_port = free_tcp_port();
      const int rtp_start_port = free_tcp_port() & ~1;
      relay_ = std::make_unique<BackgroundProcess>(
          "exec timeout -s KILL " + std::to_string(kProcessLifetimeSeconds) +
          " rtsp-server-perl --client_listen_address 127.0.0.1 --clientport " +
          std::to_string(port_) + " --source_listen_address 127.0.0.1 --serverport " +
          std::to_string(source_port) + " --rtp_start_port " + std::to_string(rtp_start_port) +
          " --loglevel 1");
      if (!wait_for_tcp_port(source_port, 10000)) {
        throw std::runtime_error("rtsp-server-perl did not listen on port " +
                                 std::to_string(source_port));
      }
      url_ = "rtsp://" + address + "/live";
      sender_ = std::make_unique<BackgroundProcess>(live_encoder_command(
          seconds,
          "-f rtsp -rtsp_transport udp rtsp://127.0.0.1:" + std::to_string(source_port) + "/live"));
      break;
    }
  }
}

std::unique_ptr<LiveServer> LiveServer::tcp_on_port(int port, double seconds) {
  std::unique_ptr<LiveServer> server(new LiveServer());
  server->port_ = port;
  server->url_ = "tcp://127.0.0.1:" + std::to_string(port);
  server->sender_ = std::make_unique<BackgroundProcess>(
      live_encoder_command(seconds, "-f mpegts " + shell_quote(server->url_ + "?listen=1")));
  return server;
}

void LiveServer::configure(decoder::SourceOptions& options) const {
  if (protocol_ == LiveProtocol::kRtsp) options.rtsp_transport = "udp";
}

void LiveServer::pause() {
  if (sender_ != nullptr) sender_->pause();
}

void LiveServer::stop() {
  if (sender_ != nullptr) sender_->stop();
  if (relay_ != nullptr) relay_->stop();
}

SilentListener::SilentListener(int port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  const int reuse = 1;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<uint16_t>(port));
  if (fd_ < 0 || ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &reuse, sizeof(reuse)) != 0 ||
      ::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      ::listen(fd_, 16) != 0) {
    if (fd_ >= 0) ::close(fd_);
    throw std::runtime_error("cannot listen on port " + std::to_string(port));
  }
}

SilentListener::~SilentListener() {
  ::close(fd_);
}

ByteStreamServer::ByteStreamServer(std::vector<uint8_t> bytes, double seconds)
    : bytes_(std::move(bytes)), seconds_(seconds) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof(address);
  if (listen_fd_ < 0 ||
      ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      ::listen(listen_fd_, 1) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    if (listen_fd_ >= 0) ::close(listen_fd_);
    throw std::runtime_error("cannot listen for the byte stream");
  }
  port_ = ntohs(address.sin_port);
  thread_ = std::thread([this] { serve(); });
}

ByteStreamServer::~ByteStreamServer() {
  stopping_.store(true);
  thread_.join();
  ::close(listen_fd_);
}

void ByteStreamServer::serve() {
  int client = -1;
  while (client < 0 && !stopping_.load()) {
    pollfd waiting{listen_fd_, POLLIN, 0};
    if (::poll(&waiting, 1, 100) > 0) client = ::accept(listen_fd_, nullptr, nullptr);
  }
  if (client < 0) return;
  constexpr size_t kChunkBytes = 188 * 7;  // one UDP-sized bundle of TS packets
  const auto start = SteadyClock::now();
  for (size_t offset = 0; offset < bytes_.size() && !stopping_.load();) {
    // Not ahead of the byte's place on the clock: offset / size of `seconds`.
    const auto due =
        start + std::chrono::duration_cast<SteadyClock::duration>(std::chrono::duration<double>(
                    seconds_ * static_cast<double>(offset) / static_cast<double>(bytes_.size())));
    std::this_thread::sleep_until(due);
    const size_t take = std::min(kChunkBytes, bytes_.size() - offset);
    const ssize_t sent = ::send(client, bytes_.data() + offset, take, MSG_NOSIGNAL);
    if (sent <= 0) break;  // the client went away
    offset += static_cast<size_t>(sent);
  }
  ::close(client);
}

std::unique_ptr<decoder::FrameSource> open_when_ready(const decoder::MediaSource& source,
                                                      const decoder::DecodeOptions& options,
                                                      std::chrono::milliseconds patience) {
  const auto deadline = SteadyClock::now() + patience;
  for (;;) {
    try {
      return decoder::open_frame_source(source, options);
    } catch (const decoder::DecodeError& error) {
      if (error.kind() != decoder::DecodeErrorKind::kOpenFailed || SteadyClock::now() >= deadline) {
        throw;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

double seconds_since(SteadyClock::time_point start) {
  return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

std::vector<Arrival> receive_frames(decoder::FrameSource& frames, size_t count,
                                    std::chrono::milliseconds consumer_delay,
                                    SteadyClock::time_point deadline) {
  std::vector<Arrival> arrivals;
  while (arrivals.size() < count && SteadyClock::now() < deadline) {
    std::optional<decoder::Frame> frame = frames.next();
    if (!frame.has_value()) break;
    Arrival arrival;
    arrival.arrival_seconds =
        std::chrono::duration<double>(SteadyClock::now().time_since_epoch()).count();
    arrival.sample_index = frame->sample_index;
    arrival.time_seconds = frame->time_seconds;
    arrival.pts_seconds = frame->pts_seconds;
    arrival.width = frame->width;
    arrival.height = frame->height;
    arrival.rgb_bytes = frame->rgb.size();
    arrivals.push_back(arrival);
    if (consumer_delay.count() > 0) std::this_thread::sleep_for(consumer_delay);
  }
  return arrivals;
}

double latency_growth_seconds(const std::vector<Arrival>& arrivals) {
  double growth = 0;
  double smallest_latency = 0;
  for (size_t i = 0; i < arrivals.size(); ++i) {
    const double latency = arrivals[i].arrival_seconds - arrivals[i].time_seconds;
    smallest_latency = i == 0 ? latency : std::min(smallest_latency, latency);
    growth = std::max(growth, latency - smallest_latency);
  }
  return growth;
}

std::string timing_regressions(const std::vector<Arrival>& arrivals) {
  std::ostringstream out;
  for (size_t i = 1; i < arrivals.size(); ++i) {
    const Arrival& before = arrivals[i - 1];
    const Arrival& after = arrivals[i];
    if (after.sample_index <= before.sample_index || after.time_seconds <= before.time_seconds) {
      out << "frame " << i << ": sample " << before.sample_index << " -> " << after.sample_index
          << ", time " << before.time_seconds << " -> " << after.time_seconds << "; ";
    }
  }
  return out.str();
}

}  // namespace vigil::testing

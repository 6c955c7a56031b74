// What goes wrong with live sources, done for real over TCP: a sender that stalls (while
// streaming or while being opened), one that dies and comes back, one whose clock jumps, a
// consumer that falls behind, and a caller that cancels (also during a reconnect).
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <future>
#include <thread>

#include "decoder/decode_error.h"
#include "decoder/frame_source.h"
#include "tests/live/live_stream.h"

namespace vigil::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

decoder::DecodeOptions small_live_options() {
  decoder::DecodeOptions options;
  options.output_size = {64, 48};
  options.source.connect_timeout = milliseconds(8000);
  options.source.read_timeout = milliseconds(4000);
  options.source.max_reconnects = 0;
  return options;
}

std::unique_ptr<decoder::FrameSource> open_server(const LiveServer& server,
                                                  const decoder::DecodeOptions& options) {
  return open_when_ready(decoder::MediaSource::url(server.url()), options, milliseconds(10000));
}

TEST(LiveFailureTest, StalledSourceTripsTheReadTimeout) {
  LiveServer server(LiveProtocol::kTcp, /*seconds=*/30);
  decoder::DecodeOptions options = small_live_options();
  options.source.read_timeout = milliseconds(1000);
  std::unique_ptr<decoder::FrameSource> frames = open_server(server, options);
  ASSERT_EQ(receive_frames(*frames, 10, milliseconds(0), SteadyClock::now() + seconds(10)).size(),
            10u);

  server.pause();
  const auto paused_at = SteadyClock::now();
  try {
    // What was already sent still arrives; then the source is silent.
    while (frames->next().has_value()) {
      ASSERT_LT(seconds_since(paused_at), 20.0) << "frames keep coming from a paused sender";
    }
    FAIL() << "a stalled source ended without an error";
  } catch (const decoder::DecodeError& error) {
    EXPECT_EQ(error.kind(), decoder::DecodeErrorKind::kTimeout) << error.what();
    EXPECT_NE(std::string(error.what()).find(server.url()), std::string::npos) << error.what();
  }
  const double waited = seconds_since(paused_at);
  EXPECT_GE(waited, 0.9);  // not before the source was silent for read_timeout
  EXPECT_LT(waited, 6.0);  // and not long after
}

TEST(LiveFailureTest, StalledSourceDuringOpenTripsTheConnectTimeout) {
  const int port = free_tcp_port();
  SilentListener silent(port);
  decoder::DecodeOptions options = small_live_options();
  options.source.connect_timeout = milliseconds(1000);
  const auto start = SteadyClock::now();
  try {
    decoder::open_frame_source(decoder::MediaSource::url("tcp://127.0.0.1:" + std::to_string(port)),
                               options);
    FAIL() << "opened a source that never sent a byte";
  } catch (const decoder::DecodeError& error) {
    EXPECT_EQ(error.kind(), decoder::DecodeErrorKind::kTimeout) << error.what();
  }
  EXPECT_LT(seconds_since(start), 6.0);
}

TEST(LiveFailureTest, DeadSourceIsReconnectedAndTheTimelineContinues) {
  LiveServer first(LiveProtocol::kTcp, /*seconds=*/30);
  decoder::DecodeOptions options = small_live_options();
  options.source.max_reconnects = 30;
  options.source.reconnect_backoff_initial = milliseconds(100);
  options.source.reconnect_backoff_max = milliseconds(300);
  std::unique_ptr<decoder::FrameSource> frames = open_server(first, options);
  std::vector<Arrival> arrivals =
      receive_frames(*frames, 20, milliseconds(0), SteadyClock::now() + seconds(10));
  ASSERT_EQ(arrivals.size(), 20u);

  // The sender dies (its connection closes) and a new one comes up on the same port.
  first.stop();
  std::unique_ptr<LiveServer> second = LiveServer::tcp_on_port(first.port(), /*seconds=*/30);

  // What the first sender got out before it died is a second or two of frames at most, so
  // 60 more must include the second sender's.
  const std::vector<Arrival> more =
      receive_frames(*frames, 60, milliseconds(0), SteadyClock::now() + seconds(20));
  ASSERT_EQ(more.size(), 60u);
  arrivals.insert(arrivals.end(), more.begin(), more.end());

  EXPECT_GE(frames->counters().reconnects, 1);
  EXPECT_EQ(timing_regressions(arrivals), "");
  // The second sender's clock starts again, so its pictures' pts go back, while the
  // timeline the consumer sees continues right after the last picture of the first one.
  size_t restart = 0;
  for (size_t i = 1; i < arrivals.size(); ++i) {
    if (arrivals[i].pts_seconds < arrivals[i - 1].pts_seconds) restart = i;
  }
  ASSERT_GT(restart, 0u) << "no frame of the second sender arrived";
  const double step = arrivals[restart].time_seconds - arrivals[restart - 1].time_seconds;
  EXPECT_GT(step, 0.0);
  EXPECT_LE(step, 1.0);
}

TEST(LiveFailureTest, SlowConsumerGetsRecentFramesAndDropsTheRest) {
  LiveServer server(LiveProtocol::kTcp, /*seconds=*/30);
  decoder::DecodeOptions options = small_live_options();
  options.queue_frames = 4;
  std::unique_ptr<decoder::FrameSource> frames = open_server(server, options);

  // 5 frames/s consumed out of 25 sent: four in five must go.
  const std::vector<Arrival> arrivals =
      receive_frames(*frames, 20, milliseconds(200), SteadyClock::now() + seconds(20));
  ASSERT_EQ(arrivals.size(), 20u);
  EXPECT_EQ(timing_regressions(arrivals), "");
  EXPECT_GT(frames->counters().frames_dropped, 0);
  // Nothing blocks: what the consumer gets stays as recent as a few queued frames; a reader
  // that waited for the consumer would fall behind by 160 ms a frame, 3 s over the run.
  EXPECT_LT(latency_growth_seconds(arrivals), 1.5);
  // And the frames it skips are really skipped: its 20 frames span about 4 s of stream
  // time, not the 0.8 s they would if every frame were kept.
  EXPECT_GT(arrivals.back().time_seconds - arrivals.front().time_seconds, 2.5);
}

TEST(LiveFailureTest, ClockJumpsContinueTheTimeline) {
  // Three 2 s segments whose clocks start at 1000 s, 0 s and 5000 s, sent back to back on
  // one connection: an encoder restarting behind a relay, MPEG-TS discontinuities.
  TempDir folder;
  std::vector<uint8_t> stream;
  for (const int offset : {1000, 0, 5000}) {
    const std::string path = folder.file("segment_" + std::to_string(offset) + ".ts");
    // Not in real time: the server below paces the bytes.
    ASSERT_EQ(run_command(live_encoder_command(2,
                                               "-output_ts_offset " + std::to_string(offset) +
                                                   " -f mpegts " + shell_quote(path),
                                               /*real_time=*/false))
                  .exit_code,
              0);
    const std::vector<uint8_t> segment = read_file(path);
    stream.insert(stream.end(), segment.begin(), segment.end());
  }
  ByteStreamServer server(std::move(stream), /*seconds=*/3);  // twice real time

  decoder::DecodeOptions options = small_live_options();
  options.sampling = decoder::SampleRequest::at_rate(5);
  std::unique_ptr<decoder::FrameSource> frames =
      open_when_ready(decoder::MediaSource::url(server.url()), options, milliseconds(5000));
  const std::vector<Arrival> arrivals =
      receive_frames(*frames, 1000, milliseconds(0), SteadyClock::now() + seconds(20));

  // 6 s of pictures at 5 samples a second, on one unbroken timeline.
  EXPECT_GE(arrivals.size(), 24u);
  EXPECT_LE(arrivals.size(), 36u);
  EXPECT_EQ(timing_regressions(arrivals), "");
  int clock_jumps = 0;
  for (size_t i = 1; i < arrivals.size(); ++i) {
    EXPECT_LE(arrivals[i].time_seconds - arrivals[i - 1].time_seconds, 1.0) << "sample " << i;
    if (std::abs(arrivals[i].pts_seconds - arrivals[i - 1].pts_seconds) > 10) ++clock_jumps;
  }
  EXPECT_EQ(clock_jumps, 2) << "pictures of every segment arrive";
  ASSERT_FALSE(arrivals.empty());
  EXPECT_LT(arrivals.back().time_seconds, 8.0);
}

TEST(LiveFailureTest, CancelReleasesABlockedNext) {
  LiveServer server(LiveProtocol::kTcp, /*seconds=*/30);
  decoder::DecodeOptions options = small_live_options();
  options.source.read_timeout = milliseconds(30000);  // the stall never times out here
  std::unique_ptr<decoder::FrameSource> frames = open_server(server, options);
  ASSERT_EQ(receive_frames(*frames, 5, milliseconds(0), SteadyClock::now() + seconds(10)).size(),
            5u);
  server.pause();

  std::promise<SteadyClock::time_point> cancelled_at;
  std::thread canceller([&] {
    std::this_thread::sleep_for(milliseconds(1500));  // next() is blocked by then
    cancelled_at.set_value(SteadyClock::now());
    frames->cancel();
  });
  int64_t after_pause = 0;
  while (frames->next().has_value()) ++after_pause;  // buffered frames, then nullopt
  const auto returned_at = SteadyClock::now();
  canceller.join();
  EXPECT_LT(std::chrono::duration<double>(returned_at - cancelled_at.get_future().get()).count(),
            2.0);
  EXPECT_LT(after_pause, 100);

  // Cancelled, the decoder's threads stop at once: destruction does not wait for a read.
  const auto destroy_start = SteadyClock::now();
  frames.reset();
  EXPECT_LT(seconds_since(destroy_start), 2.0);
}

TEST(LiveFailureTest, CancelDuringAReconnectDoesNotWaitForTheConnectTimeout) {
  LiveServer server(LiveProtocol::kTcp, /*seconds=*/30);
  decoder::DecodeOptions options = small_live_options();
  options.source.connect_timeout = milliseconds(30000);
  options.source.max_reconnects = 5;
  options.source.reconnect_backoff_initial = milliseconds(50);
  std::unique_ptr<decoder::FrameSource> frames = open_server(server, options);
  ASSERT_EQ(receive_frames(*frames, 5, milliseconds(0), SteadyClock::now() + seconds(10)).size(),
            5u);

  // The sender dies; what answers on its port accepts the reconnect and never sends.
  const int port = server.port();
  server.stop();
  SilentListener silent(port);
  std::thread canceller([&] {
    std::this_thread::sleep_for(milliseconds(2000));  // the reconnect is opening by then
    frames->cancel();
  });
  while (frames->next().has_value()) {
  }
  canceller.join();
  const auto destroy_start = SteadyClock::now();
  frames.reset();
  EXPECT_LT(seconds_since(destroy_start), 2.0);
}

}  // namespace
}  // namespace vigil::testing

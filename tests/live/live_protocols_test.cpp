// Each network protocol, served live by real processes, decodes in order with bounded latency.
#include <gtest/gtest.h>

#include <chrono>

#include "decoder/frame_source.h"
#include "tests/live/live_stream.h"

namespace vigil::testing {
namespace {

using std::chrono::milliseconds;

class LiveProtocolTest : public ::testing::TestWithParam<LiveProtocol> {};

TEST_P(LiveProtocolTest, DecodesInOrderWithBoundedLatency) {
  constexpr size_t kFrames = 50;  // two seconds of stream after the start
  LiveServer server(GetParam(), /*seconds=*/20);

  decoder::DecodeOptions options;
  options.output_size = {64, 48};
  // Room for the burst of about a second of frames that stream probing buffers at the start
  // (more when joining UDP or RTSP mid-GOP): this consumer keeps up, so nothing may drop.
  options.queue_frames = 100;
  options.source.connect_timeout = milliseconds(8000);
  options.source.read_timeout = milliseconds(4000);
  options.source.max_reconnects = 0;
  server.configure(options.source);
  std::unique_ptr<decoder::FrameSource> frames =
      open_when_ready(decoder::MediaSource::url(server.url()), options, milliseconds(10000));

  EXPECT_EQ(frames->info().codec, "h264");
  EXPECT_EQ(frames->info().width, kLiveWidth);
  EXPECT_EQ(frames->info().height, kLiveHeight);
  EXPECT_EQ(frames->planned_samples(), -1);  // live: no plan up front

  const std::vector<Arrival> arrivals = receive_frames(
      *frames, kFrames, milliseconds(0), SteadyClock::now() + std::chrono::seconds(20));
  ASSERT_EQ(arrivals.size(), kFrames);
  EXPECT_EQ(timing_regressions(arrivals), "");
  for (size_t i = 0; i < arrivals.size(); ++i) {
    EXPECT_EQ(arrivals[i].width, 64);
    EXPECT_EQ(arrivals[i].height, 48);
    EXPECT_EQ(arrivals[i].rgb_bytes, size_t{64 * 48 * 3});
    if (i > 0) {
      // One picture per 1/25 s on the stream's own clock, none lost when the consumer keeps up.
      EXPECT_NEAR(arrivals[i].pts_seconds - arrivals[i - 1].pts_seconds, 1.0 / kLiveFramesPerSecond,
                  1e-3)
          << "frame " << i;
      EXPECT_NEAR(arrivals[i].time_seconds - arrivals[i - 1].time_seconds,
                  1.0 / kLiveFramesPerSecond, 1e-3)
          << "frame " << i;
    }
  }
  EXPECT_DOUBLE_EQ(arrivals.front().time_seconds, 0.0);
  // The decoder keeps pace with the sender's clock: latency never builds up.
  EXPECT_LT(latency_growth_seconds(arrivals), 2.0);

  const decoder::DecodeCountersSnapshot counters = frames->counters();
  EXPECT_GT(counters.packets_read, 0);
  EXPECT_GE(counters.frames_decoded, static_cast<int64_t>(kFrames));
  EXPECT_EQ(counters.frames_dropped, 0);
  EXPECT_EQ(counters.reconnects, 0);
}

INSTANTIATE_TEST_SUITE_P(Protocols, LiveProtocolTest,
                         ::testing::Values(LiveProtocol::kTcp, LiveProtocol::kUdp,
                                           LiveProtocol::kHttp, LiveProtocol::kRtsp),
                         [](const ::testing::TestParamInfo<LiveProtocol>& info) {
                           return std::string(to_string(info.param));
                         });

}  // namespace
}  // namespace vigil::testing

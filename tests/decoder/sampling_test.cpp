// Unit tests of the sampling rule: time_to_pts and plan_samples at exact boundaries, with
// duplicates, unordered times and the time bases real files use.
#include "decoder/sampling.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "decoder/decode_error.h"

namespace vigil::testing {
namespace {

using decoder::DecodeError;
using decoder::DecodeErrorKind;
using decoder::plan_samples;
using decoder::rate_sample_time;
using decoder::Sample;
using decoder::SampleRequest;
using decoder::time_to_pts;

// Asserts that planning `request` throws DecodeError(kInvalidRequest).
void expect_invalid(const SampleRequest& request, int64_t first_pts, int64_t end_pts,
                    AVRational time_base) {
  try {
    plan_samples(request, first_pts, end_pts, time_base);
    ADD_FAILURE() << "no error for an invalid request";
  } catch (const DecodeError& error) {
    EXPECT_EQ(error.kind(), DecodeErrorKind::kInvalidRequest) << error.what();
  }
}

TEST(TimeToPtsTest, ExactFrameBoundariesMapToTheirTick) {
  EXPECT_EQ(time_to_pts(0.0, 0, {1, 12800}), 0);
  EXPECT_EQ(time_to_pts(0.04, 0, {1, 12800}), 512);  // 25 fps frame 1
  EXPECT_EQ(time_to_pts(0.04, 0, {1, 25}), 1);
  EXPECT_EQ(time_to_pts(10.0, 0, {1, 12800}), 128000);
  EXPECT_EQ(time_to_pts(0.04, 133200, {1, 90000}), 133200 + 3600);  // MPEG-TS offset
  EXPECT_EQ(time_to_pts(1.0 / 3.0, 0, {1, 75}), 25);
}

TEST(TimeToPtsTest, RoundsDownBetweenTicks) {
  EXPECT_EQ(time_to_pts(0.039999, 0, {1, 12800}), 511);
  // Ticks of 1/12800 s are 78.125 us: tick 513 is at 40078.125 us.
  EXPECT_EQ(time_to_pts(0.040077, 0, {1, 12800}), 512);
  // Within half a microsecond below a tick, the tick counts as reached.
  EXPECT_EQ(time_to_pts(0.040078, 0, {1, 12800}), 513);
  EXPECT_EQ(time_to_pts(0.5, 0, {1, 1}), 0);
  EXPECT_EQ(time_to_pts(0.999999, 0, {1, 1}), 0);
  EXPECT_EQ(time_to_pts(1.0, 0, {1, 1}), 1);
  EXPECT_EQ(time_to_pts(0.0417, 0, {1, 1000}), 41);
}

TEST(TimeToPtsTest, NegativeFirstPtsShiftsTheTimeline) {
  // cockatoo.mp4's first packet has dts -1024; a stream may start below zero.
  EXPECT_EQ(time_to_pts(0.0, -1024, {1, 10240}), -1024);
  EXPECT_EQ(time_to_pts(0.1, -1024, {1, 10240}), 0);
}

// A frame's own time (what Frame::pts_seconds reports, relative to the first frame) must
// select that frame, in the time bases real files use, including those that are no whole
// number of microseconds.
TEST(TimeToPtsTest, AFramesOwnTimeSelectsThatFrame) {
  struct Stream {
    AVRational time_base;
    int64_t first_pts;
    int64_t frame_spacing;
  };
  const Stream streams[] = {
      {{1, 12800}, 0, 512},        // MP4 at 25 fps
      {{1, 19200}, 0, 256},        // the VFR clip's time base
      {{1, 90000}, 133200, 3003},  // MPEG-TS at 29.97 fps
      {{1, 90000}, 0, 1499},       // realshort.mp4
      {{1, 30000}, 0, 1001},       // NTSC MP4
      {{125, 2997}, 0, 1},         // Megamind.avi
      {{1001, 30000}, 0, 1},       // AVI at 29.97 fps
      {{1, 10240}, -1024, 512},    // cockatoo.mp4
      {{1, 1000}, 0, 33},          // Matroska / FLV
  };
  for (const Stream& stream : streams) {
    for (int64_t frame = 0; frame < 3000; ++frame) {
      const int64_t pts = stream.first_pts + frame * stream.frame_spacing;
      const double time = static_cast<double>(pts - stream.first_pts) * av_q2d(stream.time_base);
      ASSERT_EQ(time_to_pts(time, stream.first_pts, stream.time_base), pts)
          << "frame " << frame << " at " << time << " s, time base " << stream.time_base.num << "/"
          << stream.time_base.den;
      // One tick earlier still shows the previous frame.
      const double earlier =
          static_cast<double>(pts - 1 - stream.first_pts) * av_q2d(stream.time_base);
      if (frame > 0 && stream.time_base.den / stream.time_base.num <= 1000000) {
        ASSERT_EQ(time_to_pts(earlier, stream.first_pts, stream.time_base), pts - 1)
            << "one tick before frame " << frame;
      }
    }
  }
}

TEST(RateSampleTimeTest, SampleTimesAreExactOnTheMicrosecondGrid) {
  EXPECT_EQ(rate_sample_time(0, 3.7), 0.0);
  EXPECT_EQ(rate_sample_time(37, 3.7), 10.0);  // 37 / 3.7 is 9.999999999999998 in doubles
  EXPECT_EQ(rate_sample_time(1, 3.0), 0.333333);
  EXPECT_EQ(rate_sample_time(3, 3.0), 1.0);
  EXPECT_EQ(rate_sample_time(1000000, 25.0), 40000.0);
}

TEST(PlanSamplesTest, RateCoversTheVideoAndExcludesItsEnd) {
  // 3 s at 1 fps: 0, 1, 2 (3 s is the end, not inside the video).
  const std::vector<Sample> samples = plan_samples(SampleRequest::at_rate(1.0), 0, 3000, {1, 1000});
  ASSERT_EQ(samples.size(), 3u);
  for (size_t k = 0; k < samples.size(); ++k) {
    EXPECT_EQ(samples[k].time_seconds, static_cast<double>(k));
    EXPECT_EQ(samples[k].target_pts, static_cast<int64_t>(k) * 1000);
  }
  // One tick more and the sample at 3 s is inside.
  EXPECT_EQ(plan_samples(SampleRequest::at_rate(1.0), 0, 3001, {1, 1000}).size(), 4u);
}

TEST(PlanSamplesTest, RateTargetsStartAtTheFirstPts) {
  const std::vector<Sample> samples =
      plan_samples(SampleRequest::at_rate(2.0), 133200, 133200 + 90000, {1, 90000});
  ASSERT_EQ(samples.size(), 2u);
  EXPECT_EQ(samples[0].target_pts, 133200);
  EXPECT_EQ(samples[1].target_pts, 133200 + 45000);
}

TEST(PlanSamplesTest, FractionalRateHitsExactBoundaries) {
  // At 3.7 fps sample 37 is at exactly 10 s, a 25 fps frame boundary.
  const std::vector<Sample> samples =
      plan_samples(SampleRequest::at_rate(3.7), 0, 10 * 12800 + 512, {1, 12800});
  ASSERT_EQ(samples.size(), 38u);
  EXPECT_EQ(samples[37].time_seconds, 10.0);
  EXPECT_EQ(samples[37].target_pts, 128000);
  for (size_t k = 1; k < samples.size(); ++k) {
    EXPECT_GT(samples[k].target_pts, samples[k - 1].target_pts);
  }
}

TEST(PlanSamplesTest, TimesAreSortedAndDuplicatesKept) {
  const std::vector<Sample> samples =
      plan_samples(SampleRequest::at_times({2.0, 0.5, 2.0, 0.0, 1.25}), 0, 3000, {1, 1000});
  const double expected_times[] = {0.0, 0.5, 1.25, 2.0, 2.0};
  const int64_t expected_pts[] = {0, 500, 1250, 2000, 2000};
  ASSERT_EQ(samples.size(), 5u);
  for (size_t i = 0; i < samples.size(); ++i) {
    EXPECT_EQ(samples[i].time_seconds, expected_times[i]) << i;
    EXPECT_EQ(samples[i].target_pts, expected_pts[i]) << i;
  }
}

TEST(PlanSamplesTest, TimeBoundariesOfTheVideo) {
  // The last tick of the video is inside; its end is not.
  const std::vector<Sample> last =
      plan_samples(SampleRequest::at_times({2.999}), 0, 3000, {1, 1000});
  ASSERT_EQ(last.size(), 1u);
  EXPECT_EQ(last[0].target_pts, 2999);
  expect_invalid(SampleRequest::at_times({3.0}), 0, 3000, {1, 1000});
  expect_invalid(SampleRequest::at_times({0.0, 1000.0}), 0, 3000, {1, 1000});
}

TEST(PlanSamplesTest, ImpossibleRequestsAreRejected) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double infinity = std::numeric_limits<double>::infinity();
  for (const double rate : {0.0, -1.0, -0.0, nan, infinity, -infinity}) {
    SCOPED_TRACE(rate);
    expect_invalid(SampleRequest::at_rate(rate), 0, 3000, {1, 1000});
  }
  for (const double time : {-0.001, -1.0, nan, infinity, -infinity}) {
    SCOPED_TRACE(time);
    expect_invalid(SampleRequest::at_times({0.0, time}), 0, 3000, {1, 1000});
  }
}

TEST(PlanSamplesTest, EmptyTimeListPlansNothing) {
  EXPECT_TRUE(plan_samples(SampleRequest::at_times({}), 0, 3000, {1, 1000}).empty());
}

}  // namespace
}  // namespace vigil::testing

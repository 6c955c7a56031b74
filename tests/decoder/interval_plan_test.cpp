// The keyframe index of a real clip (one packet scan) and the plan that cuts it into
// keyframe-aligned intervals: exact timelines against ffprobe, open-GOP leading pictures in
// the interval before their keyframe, merging of short intervals, and the plan's invariants.
#include "decoder/interval_plan.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <optional>

#include "decoder/keyframe_index.h"
#include "decoder/media_source.h"
#include "tests/decoder/clips.h"
#include "tests/decoder/reference_frames.h"
#include "tests/support/test_support.h"

namespace vigil::testing {
namespace {

using decoder::DecodeInterval;
using decoder::IntervalPlan;
using decoder::KeyframeIndex;
using decoder::plan_intervals;
using decoder::Sample;

KeyframeIndex index_of(const std::string& path) {
  decoder::OpenedInput input =
      decoder::open_input(decoder::MediaSource::file(path), decoder::SourceOptions{});
  return KeyframeIndex::scan(input, std::chrono::seconds(10));
}

// A sample aimed at pts (its time is not used by the plan).
Sample at_pts(int64_t pts) {
  return {0.0, pts};
}

// Decode position of the frame with presentation index `frame`.
size_t packet_of(const KeyframeIndex& index, int64_t frame) {
  return index.presentation_order()[static_cast<size_t>(frame)];
}

// Checks everything a plan promises for these samples.
void expect_valid_plan(const KeyframeIndex& index, const std::vector<Sample>& samples,
                       const IntervalPlan& plan) {
  const std::vector<size_t>& keyframes = index.keyframes();
  ASSERT_EQ(plan.frame_of_sample.size(), samples.size());
  size_t next_sample = 0;
  size_t previous_start = 0;
  for (const DecodeInterval& interval : plan.intervals) {
    EXPECT_EQ(interval.first_sample, next_sample) << "intervals must partition the samples";
    EXPECT_GT(interval.sample_count, 0u);
    EXPECT_TRUE(std::binary_search(keyframes.begin(), keyframes.end(), interval.start_packet))
        << "interval starts at packet " << interval.start_packet << ", not a keyframe";
    EXPECT_GE(interval.start_packet, previous_start) << "intervals out of order";
    EXPECT_LE(interval.start_packet, interval.last_packet);
    EXPECT_TRUE(std::is_sorted(interval.wanted_pts.begin(), interval.wanted_pts.end()));
    EXPECT_EQ(std::adjacent_find(interval.wanted_pts.begin(), interval.wanted_pts.end()),
              interval.wanted_pts.end())
        << "wanted_pts holds a duplicate";
    for (size_t i = interval.first_sample; i < interval.first_sample + interval.sample_count; ++i) {
      const int64_t frame = plan.frame_of_sample[i];
      EXPECT_EQ(frame, std::max<int64_t>(index.frame_at_pts(samples[i].target_pts), 0));
      const size_t packet = packet_of(index, frame);
      EXPECT_GE(packet, interval.start_packet) << "sample " << i;
      EXPECT_LE(packet, interval.last_packet) << "sample " << i;
      EXPECT_TRUE(std::binary_search(interval.wanted_pts.begin(), interval.wanted_pts.end(),
                                     index.frame_pts(frame)))
          << "sample " << i << "'s frame is not wanted by its interval";
    }
    next_sample += interval.sample_count;
    previous_start = interval.start_packet;
  }
  EXPECT_EQ(next_sample, samples.size());
}

class KeyframeTimelineTest : public ::testing::TestWithParam<Clip> {};

TEST_P(KeyframeTimelineTest, TimelineMatchesFfprobe) {
  const std::string path = clip_path(GetParam());
  const KeyframeIndex index = index_of(path);
  const Reference& reference = reference_for(path);
  ASSERT_EQ(index.frame_count(), static_cast<int64_t>(reference.frames.size()));
  for (int64_t i = 0; i < index.frame_count(); ++i) {
    ASSERT_EQ(index.frame_pts(i), reference.frames[static_cast<size_t>(i)].pts) << "frame " << i;
    EXPECT_EQ(index.frame_at_pts(index.frame_pts(i)), i);
    if (i > 0 && index.frame_pts(i) - index.frame_pts(i - 1) > 1) {
      EXPECT_EQ(index.frame_at_pts(index.frame_pts(i) - 1), i - 1);
    }
  }
  EXPECT_EQ(index.frame_at_pts(index.first_pts() - 1), -1);
  EXPECT_EQ(index.end_pts(), reference.end_pts());
  ASSERT_FALSE(index.keyframes().empty());
  EXPECT_EQ(index.keyframes().front(), 0u);
  for (const size_t keyframe : index.keyframes()) {
    EXPECT_TRUE(index.packets()[keyframe].keyframe || keyframe == 0);
  }
  EXPECT_TRUE(index.presentation_exact());
}

INSTANTIATE_TEST_SUITE_P(Clips, KeyframeTimelineTest,
                         ::testing::Values(Clip::kH264SeveralGops, Clip::kOpenGopTs,
                                           Clip::kOpenGopMp4, Clip::kVariableFrameRate, Clip::kHevc,
                                           Clip::kVp9),
                         [](const ::testing::TestParamInfo<Clip>& info) {
                           return std::string(clip_name(info.param));
                         });

TEST(KeyframeIndexTest, ClosedGopsOfFiftyFrames) {
  const KeyframeIndex index = index_of(clip_path(Clip::kH264SeveralGops));
  ASSERT_EQ(index.frame_count(), 400);
  ASSERT_EQ(index.keyframes().size(), 8u);
  for (size_t k = 0; k < 8; ++k) EXPECT_EQ(index.keyframes()[k], 50 * k);
}

TEST(KeyframeIndexTest, AviWithPackedBFramesIsNotPresentationExact) {
  const std::string path = opencv_sample("Megamind.avi");
  if (!file_exists(path)) GTEST_SKIP() << path << " is not installed";
  EXPECT_FALSE(index_of(path).presentation_exact());
}

TEST(IntervalPlanTest, OpenGopLeadingPicturesBelongToThePreviousInterval) {
  const KeyframeIndex index = index_of(clip_path(Clip::kOpenGopLongMp4));
  const std::vector<decoder::PacketEntry>& packets = index.packets();
  const std::vector<size_t>& keyframes = index.keyframes();
  ASSERT_GE(keyframes.size(), 2u);
  // An open-GOP I picture: B pictures that follow it in decode order are shown before it
  // (they reference the GOP before). Find the first keyframe that has them.
  size_t ordinal = 1;
  std::optional<size_t> leading;
  for (; ordinal < keyframes.size() && !leading.has_value(); ++ordinal) {
    const size_t keyframe = keyframes[ordinal];
    for (size_t p = keyframe + 1; p < packets.size() && p < keyframe + 8; ++p) {
      if (packets[p].pts < packets[keyframe].pts) leading = p;
    }
  }
  ASSERT_TRUE(leading.has_value()) << "the clip has no open GOP";
  const size_t keyframe = keyframes[ordinal - 1];

  const std::vector<Sample> samples = {at_pts(packets[*leading].pts),
                                       at_pts(packets[keyframe].pts)};
  const IntervalPlan plan = plan_intervals(index, samples, /*min_packets_per_unit=*/0);
  expect_valid_plan(index, samples, plan);
  ASSERT_EQ(plan.intervals.size(), 2u);
  const DecodeInterval& before = plan.intervals[0];
  EXPECT_EQ(before.start_packet, keyframes[ordinal - 2])
      << "a leading picture decodes from the GOP before";
  EXPECT_GE(before.last_packet, *leading) << "and past its own keyframe";
  EXPECT_EQ(before.wanted_pts, std::vector<int64_t>{packets[*leading].pts});
  const DecodeInterval& after = plan.intervals[1];
  EXPECT_EQ(after.start_packet, keyframe);
  EXPECT_EQ(after.wanted_pts, std::vector<int64_t>{packets[keyframe].pts});
}

TEST(IntervalPlanTest, ShortIntervalsMerge) {
  const KeyframeIndex index = index_of(clip_path(Clip::kH264SeveralGops));
  const std::vector<decoder::PacketEntry>& packets = index.packets();
  // One sample per keyframe: each interval on its own is a single packet long.
  std::vector<Sample> samples;
  for (const size_t keyframe : index.keyframes()) {
    samples.push_back(at_pts(packets[keyframe].pts));
  }
  ASSERT_EQ(samples.size(), 8u);

  const IntervalPlan separate = plan_intervals(index, samples, 0);
  expect_valid_plan(index, samples, separate);
  ASSERT_EQ(separate.intervals.size(), 8u);
  for (size_t k = 0; k < 8; ++k) {
    EXPECT_EQ(separate.intervals[k].start_packet, index.keyframes()[k]);
    EXPECT_EQ(separate.intervals[k].last_packet, index.keyframes()[k]);
    EXPECT_EQ(separate.intervals[k].sample_count, 1u);
  }

  // An interval shorter than one packet takes in its neighbour; the merged one (50 packets)
  // is long enough to stand, so the next starts afresh: pairs.
  const IntervalPlan pairs = plan_intervals(index, samples, 1);
  expect_valid_plan(index, samples, pairs);
  ASSERT_EQ(pairs.intervals.size(), 4u);
  for (size_t k = 0; k < 4; ++k) {
    EXPECT_EQ(pairs.intervals[k].start_packet, index.keyframes()[2 * k]);
    EXPECT_EQ(pairs.intervals[k].last_packet, index.keyframes()[2 * k + 1]);
    EXPECT_EQ(pairs.intervals[k].sample_count, 2u);
    EXPECT_EQ(pairs.intervals[k].wanted_pts.size(), 2u);
  }

  const IntervalPlan one = plan_intervals(index, samples, 1000);
  expect_valid_plan(index, samples, one);
  ASSERT_EQ(one.intervals.size(), 1u);
  EXPECT_EQ(one.intervals[0].start_packet, 0u);
  EXPECT_EQ(one.intervals[0].last_packet, index.keyframes().back());
  EXPECT_EQ(one.intervals[0].sample_count, 8u);
  EXPECT_EQ(one.intervals[0].wanted_pts.size(), 8u);
}

TEST(IntervalPlanTest, DuplicateSamplesShareOneWantedFrame) {
  const KeyframeIndex index = index_of(clip_path(Clip::kH264SeveralGops));
  const int64_t pts = index.frame_pts(10);
  // The same frame three times: at its pts, and one tick later twice.
  const std::vector<Sample> samples = {at_pts(pts), at_pts(pts + 1), at_pts(pts + 1)};
  const IntervalPlan plan = plan_intervals(index, samples, 0);
  expect_valid_plan(index, samples, plan);
  ASSERT_EQ(plan.intervals.size(), 1u);
  EXPECT_EQ(plan.intervals[0].sample_count, 3u);
  EXPECT_EQ(plan.intervals[0].wanted_pts, std::vector<int64_t>{pts});
  EXPECT_EQ(plan.frame_of_sample, (std::vector<int64_t>{10, 10, 10}));
}

TEST(IntervalPlanTest, InvariantsHoldForManySamplings) {
  const Clip clips[] = {Clip::kH264SeveralGops, Clip::kOpenGopTs, Clip::kOpenGopLongMp4,
                        Clip::kVariableFrameRate, Clip::kHevc};
  for (const Clip clip : clips) {
    const KeyframeIndex index = index_of(clip_path(clip));
    // Every frame; one tick after every 7th frame; every 23rd frame twice.
    std::vector<Sample> every_frame, offset, sparse;
    for (int64_t i = 0; i < index.frame_count(); ++i) {
      every_frame.push_back(at_pts(index.frame_pts(i)));
      if (i % 7 == 0) offset.push_back(at_pts(index.frame_pts(i) + 1));
      if (i % 23 == 0) {
        sparse.push_back(at_pts(index.frame_pts(i)));
        sparse.push_back(at_pts(index.frame_pts(i)));
      }
    }
    for (const std::vector<Sample>& samples : {every_frame, offset, sparse}) {
      for (const size_t min_packets : {size_t{0}, size_t{1}, size_t{48}, size_t{100000}}) {
        SCOPED_TRACE(std::string(clip_name(clip)) + ", " + std::to_string(samples.size()) +
                     " samples, min " + std::to_string(min_packets));
        expect_valid_plan(index, samples, plan_intervals(index, samples, min_packets));
      }
    }
  }
}

}  // namespace
}  // namespace vigil::testing

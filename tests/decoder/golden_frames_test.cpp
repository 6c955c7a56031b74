// Golden tests: vigil's frames equal the ffmpeg CLI's, byte for byte (RGB24 at native,
// display-rotated size), at the same timestamps, for every codec and container the decoder
// meets: all frames, frames sampled at a rate, and frames at chosen times. The sampling rule
// is checked independently with exact rational arithmetic: the frame for time t is the last
// frame whose pts <= first_pts + floor(t / time_base).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <ostream>

#include "decoder/frame_source.h"
#include "tests/decoder/clips.h"
#include "tests/decoder/decode_helpers.h"
#include "tests/decoder/reference_frames.h"
#include "tests/support/test_support.h"

namespace vigil::testing {
namespace {

// A video the golden tests decode: a synthetic clip or a real sample video.
struct GoldenInput {
  std::string name;
  std::optional<Clip> clip;
  std::string sample_path;  // when !clip
  bool rotated = false;     // carries display rotation metadata
};

// Names the parameter in GoogleTest's messages.
void PrintTo(const GoldenInput& input, std::ostream* out) {
  *out << input.name;
}

GoldenInput synthetic(Clip clip, bool rotated = false) {
  return {clip_name(clip), clip, "", rotated};
}

GoldenInput sample(std::string name, std::string path) {
  return {std::move(name), std::nullopt, std::move(path), false};
}

std::string describe_difference(const std::vector<uint8_t>& expected,
                                const std::vector<uint8_t>& actual, int width) {
  if (expected.size() != actual.size()) {
    return "sizes differ: " + std::to_string(expected.size()) + " vs " +
           std::to_string(actual.size());
  }
  size_t differing = 0, first = 0;
  int largest = 0;
  for (size_t i = 0; i < expected.size(); ++i) {
    const int difference = std::abs(int{expected[i]} - int{actual[i]});
    if (difference == 0) continue;
    if (differing++ == 0) first = i;
    largest = std::max(largest, difference);
  }
  const size_t pixel = first / 3;
  return std::to_string(differing) + " of " + std::to_string(expected.size()) +
         " bytes differ, by up to " + std::to_string(largest) +
         "; first at x=" + std::to_string(pixel % static_cast<size_t>(width)) +
         " y=" + std::to_string(pixel / static_cast<size_t>(width));
}

bool earlier(const ExactTime& a, const ExactTime& b) {
  return static_cast<__int128>(a.numerator) * b.denominator <
         static_cast<__int128>(b.numerator) * a.denominator;
}

class GoldenFramesTest : public ::testing::TestWithParam<GoldenInput> {
 protected:
  void SetUp() override {
    const GoldenInput& input = GetParam();
    if (input.clip.has_value()) {
      const std::string unavailable = clip_unavailable_reason(*input.clip);
      if (!unavailable.empty()) GTEST_SKIP() << unavailable;
      path_ = clip_path(*input.clip);
    } else {
      if (!file_exists(input.sample_path)) {
        GTEST_SKIP() << input.sample_path << " is not installed (tools/install_deps.sh)";
      }
      path_ = input.sample_path;
    }
    reference_ = &reference_for(path_);
  }

  ExactTime time_of_pts(int64_t pts) const {
    return {(pts - reference_->first_pts()) * reference_->time_base_num, reference_->time_base_den};
  }

  // Checks an output frame against reference frame `expected_index`.
  void check_frame(const decoder::Frame& frame, int64_t expected_index) {
    ASSERT_GE(expected_index, 0);
    ASSERT_LT(expected_index, static_cast<int64_t>(reference_->frames.size()));
    const ReferenceFrame& expected = reference_->frames[static_cast<size_t>(expected_index)];
    SCOPED_TRACE("output " + std::to_string(frame.sample_index) + ", reference frame " +
                 std::to_string(expected_index));
    EXPECT_EQ(frame.frame_index, expected_index);
    if (expected.pts_known) {
      EXPECT_EQ(frame.pts, expected.pts);
    }
    EXPECT_EQ(frame.time_base_num, reference_->time_base_num);
    EXPECT_EQ(frame.time_base_den, reference_->time_base_den);
    EXPECT_NEAR(
        frame.pts_seconds,
        static_cast<double>(frame.pts) * reference_->time_base_num / reference_->time_base_den,
        1e-9);
    ASSERT_EQ(frame.width, reference_->width);
    ASSERT_EQ(frame.height, reference_->height);
    ASSERT_EQ(frame.rgb.size(), static_cast<size_t>(frame.width) * frame.height * 3);
    const std::string md5 = md5_hex(frame.rgb.data(), frame.rgb.size());
    if (md5 == expected.md5) return;
    std::string detail;
    if (pixel_failures_++ == 0) {
      detail =
          describe_difference(reference_frame_rgb(path_, expected_index), frame.rgb, frame.width);
    }
    ADD_FAILURE() << "pixels differ from the ffmpeg CLI's frame " << expected_index << " (md5 "
                  << md5 << " vs " << expected.md5 << ") " << detail;
  }

  std::string path_;
  const Reference* reference_ = nullptr;
  int pixel_failures_ = 0;
};

TEST_P(GoldenFramesTest, AllFramesMatchTheCli) {
  int64_t count = 0;
  const DecodeRun run = decode_to_end(
      decoder::MediaSource::file(path_), options_for(decoder::SampleRequest::all_frames()),
      [&](const decoder::Frame& frame) {
        EXPECT_EQ(frame.sample_index, count);
        check_frame(frame, count);
        EXPECT_NEAR(frame.time_seconds,
                    static_cast<double>(frame.pts - reference_->first_pts()) *
                        reference_->time_base_num / reference_->time_base_den,
                    1e-6);
        ++count;
      });
  EXPECT_EQ(count, static_cast<int64_t>(reference_->frames.size()));
  EXPECT_EQ(run.info.width, reference_->width);
  EXPECT_EQ(run.info.height, reference_->height);
  // FFmpeg 5.1's mov muxer stores rotate=90 as a counter-clockwise display matrix, which the
  // CLI undoes by turning 270 degrees clockwise: the CLI, not the tag, is the reference.
  EXPECT_EQ(run.info.rotation_degrees, reference_->rotation_degrees);
  if (GetParam().rotated) {
    EXPECT_NE(reference_->rotation_degrees, 0) << "the clip lost its rotation metadata";
  }
  EXPECT_FALSE(run.damage.damaged()) << run.damage.first_error;
  EXPECT_EQ(run.counters.frames_converted, count);
}

TEST_P(GoldenFramesTest, FramesAtARateFollowTheSamplingRule) {
  // 3.7 frames per second: sample k is at exactly 10k/37 s, rarely on a frame boundary.
  const auto sample_time = [](int64_t k) { return ExactTime{10 * k, 37}; };
  int64_t expected_count = 0;
  while (reference_->pts_at(sample_time(expected_count)) < reference_->end_pts()) {
    ++expected_count;
  }
  int64_t count = 0;
  const DecodeRun run = decode_to_end(
      decoder::MediaSource::file(path_), options_for(decoder::SampleRequest::at_rate(3.7)),
      [&](const decoder::Frame& frame) {
        EXPECT_EQ(frame.sample_index, count);
        EXPECT_NEAR(frame.time_seconds, sample_time(count).seconds(), 1e-6);
        check_frame(frame, reference_->frame_at(sample_time(count)));
        ++count;
      });
  EXPECT_EQ(count, expected_count);
  EXPECT_FALSE(run.damage.damaged()) << run.damage.first_error;
  EXPECT_EQ(run.counters.frames_converted, distinct_pictures(run.frames));
}

TEST_P(GoldenFramesTest, FramesAtChosenTimesFollowTheSamplingRule) {
  const Reference& reference = *reference_;
  const int64_t n = static_cast<int64_t>(reference.frames.size());
  const ExactTime one_tick{reference.time_base_num, reference.time_base_den};
  const auto boundary = [&](int64_t frame) {
    return time_of_pts(reference.frames[static_cast<size_t>(frame)].pts);
  };
  const auto minus_tick = [&](ExactTime time) {
    return ExactTime{time.numerator - one_tick.numerator, time.denominator};
  };
  // Unsorted on purpose, with a duplicate: exact frame boundaries (a frame's own time
  // shows that frame; one tick earlier shows the one before), a third of a second, the
  // middle, the last frame and the last tick of the video.
  std::vector<ExactTime> times = {
      time_of_pts((reference.first_pts() + reference.end_pts()) / 2),
      boundary(n / 3),
      minus_tick(boundary(std::max<int64_t>(n / 3, 1))),
      boundary(std::min(n / 3 + 1, n - 1)),
      ExactTime{1, 3},
      ExactTime{0, 1},
      boundary(n - 1),
      boundary(n / 2),
      minus_tick(time_of_pts(reference.end_pts())),
      boundary(n / 3),
  };
  std::vector<double> seconds;
  for (const ExactTime& time : times) seconds.push_back(time.seconds());
  std::stable_sort(times.begin(), times.end(), earlier);

  size_t count = 0;
  decode_to_end(decoder::MediaSource::file(path_),
                options_for(decoder::SampleRequest::at_times(seconds)),
                [&](const decoder::Frame& frame) {
                  ASSERT_LT(count, times.size());
                  EXPECT_EQ(frame.sample_index, static_cast<int64_t>(count));
                  EXPECT_NEAR(frame.time_seconds, times[count].seconds(), 1e-9);
                  check_frame(frame, reference.frame_at(times[count]));
                  ++count;
                });
  EXPECT_EQ(count, times.size()) << "one frame per requested time, duplicates included";
}

std::vector<GoldenInput> golden_inputs() {
  return {
      synthetic(Clip::kH264Gop250),
      synthetic(Clip::kH264Gop25),
      synthetic(Clip::kH264SeveralGops),
      synthetic(Clip::kHevc),
      synthetic(Clip::kVp9),
      synthetic(Clip::kAv1),
      synthetic(Clip::kMpeg4Mp4),
      synthetic(Clip::kMpeg4Avi),
      synthetic(Clip::kOpenGopTs),
      synthetic(Clip::kOpenGopMp4),
      synthetic(Clip::kOpenGopLongMp4),
      synthetic(Clip::kVariableFrameRate),
      synthetic(Clip::kOddSizeVp9),
      synthetic(Clip::kOddSizeH264Yuv444),
      synthetic(Clip::kRotate90, /*rotated=*/true),
      synthetic(Clip::kRotate180, /*rotated=*/true),
      synthetic(Clip::kRotate270, /*rotated=*/true),
      synthetic(Clip::kPushTs),
      synthetic(Clip::kPushFragmentedMp4),
      // AVI with packed B-frames and no timestamps (decoded in one ordered pass); its last
      // frame has no timestamp in ffprobe.
      sample("megamind_avi", opencv_sample("Megamind.avi")),
      sample("vtest_avi", opencv_sample("vtest.avi")),
      // Cinepak with dropped (empty) frames: 68 pictures over 444 frame slots.
      sample("tree_avi", opencv_sample("tree.avi")),
      // H.264 4:4:4 whose second GOP's IDR has no in-band SPS.
      sample("cockatoo_mp4", imageio_sample("cockatoo.mp4")),
      sample("realshort_mp4", imageio_sample("realshort.mp4")),
  };
}

INSTANTIATE_TEST_SUITE_P(Videos, GoldenFramesTest, ::testing::ValuesIn(golden_inputs()),
                         [](const ::testing::TestParamInfo<GoldenInput>& info) {
                           return info.param.name;
                         });

}  // namespace
}  // namespace vigil::testing

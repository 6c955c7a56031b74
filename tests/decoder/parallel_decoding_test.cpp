// Parallel keyframe-aligned decoding (ArchiveDecoder) gives exactly the frames and pts of the
// one-pass sequential decode, for 1 to 8 workers; its counters show the work it saved.
#include <gtest/gtest.h>

#include <optional>
#include <ostream>

#include "decoder/frame_source.h"
#include "tests/decoder/clips.h"
#include "tests/decoder/decode_helpers.h"
#include "tests/decoder/ffmpeg_cli.h"
#include "tests/support/test_support.h"

namespace vigil::testing {
namespace {

using decoder::DecodeOptions;
using decoder::MediaSource;
using decoder::SampleRequest;

struct ParallelCase {
  std::string name;
  std::optional<Clip> clip;
  std::string sample_path;  // when !clip
  SampleRequest sampling;
  bool several_intervals = false;  // the plan must cut the clip into several intervals
};

void PrintTo(const ParallelCase& parallel_case, std::ostream* out) {
  *out << parallel_case.name;
}

ParallelCase clip_case(Clip clip, const std::string& mode, SampleRequest sampling,
                       bool several_intervals = false) {
  return {std::string(clip_name(clip)) + "_" + mode, clip, "", std::move(sampling),
          several_intervals};
}

class ParallelDecodingTest : public ::testing::TestWithParam<ParallelCase> {};

TEST_P(ParallelDecodingTest, OneToEightWorkersMatchTheSequentialPass) {
  const ParallelCase& parallel_case = GetParam();
  std::string path = parallel_case.sample_path;
  if (parallel_case.clip.has_value()) {
    path = clip_path(*parallel_case.clip);
  } else if (!file_exists(path)) {
    GTEST_SKIP() << path << " is not installed (tools/install_deps.sh)";
  }
  const MediaSource source = MediaSource::file(path);

  DecodeOptions sequential_options = options_for(parallel_case.sampling);
  sequential_options.force_sequential = true;
  const DecodeRun sequential = decode_to_end(source, sequential_options);
  ASSERT_FALSE(sequential.frames.empty());
  EXPECT_EQ(sequential.counters.frames_converted, distinct_pictures(sequential.frames));

  for (int workers = 1; workers <= 8; ++workers) {
    SCOPED_TRACE(std::to_string(workers) + " workers");
    DecodeOptions options = options_for(parallel_case.sampling);
    options.workers = workers;
    const DecodeRun parallel = decode_to_end(source, options);
    expect_same_frames(sequential.frames, parallel.frames,
                       std::to_string(workers) + " workers vs sequential");
    EXPECT_EQ(parallel.counters.frames_converted, distinct_pictures(parallel.frames));
    EXPECT_FALSE(parallel.damage.damaged()) << parallel.damage.first_error;
    if (parallel_case.several_intervals) {
      EXPECT_GT(parallel.counters.seeks, 0) << "the clip decoded as a single interval";
    }
  }
}

const double kSomeTimes[] = {0.0, 2.5, 0.3, 7.77, 2.5, 15.0, 4.04};

std::vector<ParallelCase> parallel_cases() {
  return {
      // 8 closed GOPs of 50 frames: every worker count gets intervals of its own.
      clip_case(Clip::kH264SeveralGops, "all", SampleRequest::all_frames(), true),
      clip_case(Clip::kH264SeveralGops, "rate", SampleRequest::at_rate(3.7), true),
      clip_case(Clip::kH264SeveralGops, "times",
                SampleRequest::at_times({std::begin(kSomeTimes), std::end(kSomeTimes)}), true),
      // Open GOPs: the leading pictures of each GOP decode in the previous interval.
      clip_case(Clip::kOpenGopLongMp4, "all", SampleRequest::all_frames(), true),
      clip_case(Clip::kOpenGopLongMp4, "rate", SampleRequest::at_rate(3.7), true),
      clip_case(Clip::kOpenGopTs, "all", SampleRequest::all_frames()),
      clip_case(Clip::kHevc, "all", SampleRequest::all_frames()),
      clip_case(Clip::kMpeg4Mp4, "all", SampleRequest::all_frames()),
      clip_case(Clip::kVp9, "rate", SampleRequest::at_rate(3.7)),
      // The second GOP's IDR of cockatoo.mp4 has no in-band SPS: workers that start there
      // decode only because they prime with the first packet. Times in all three GOPs.
      {"cockatoo_times", std::nullopt, imageio_sample("cockatoo.mp4"),
       SampleRequest::at_times({13.9, 0.0, 4.0, 6.5, 2.0, 7.3, 9.95}), true},
  };
}

INSTANTIATE_TEST_SUITE_P(Clips, ParallelDecodingTest, ::testing::ValuesIn(parallel_cases()),
                         [](const ::testing::TestParamInfo<ParallelCase>& info) {
                           return info.param.name;
                         });

TEST(DecodeCountersTest, SamplingSkipsNonReferencePictures) {
  const MediaSource source = MediaSource::file(clip_path(Clip::kH264Gop250));
  DecodeOptions options = options_for(SampleRequest::at_rate(1.0));
  // One worker: each interval's skip count is added before the next interval's frames are
  // delivered, so the counters read after the last frame include the first interval's.
  options.workers = 1;
  const DecodeRun run = decode_to_end(source, options);
  ASSERT_EQ(run.frames.size(), 11u);  // 10.4 s at 1 fps
  EXPECT_GT(run.counters.frames_skipped, 0) << "B-frames nobody wants were decoded";
  EXPECT_LT(run.counters.frames_decoded, run.counters.packets_read);
  EXPECT_EQ(run.counters.frames_converted, 11);
  EXPECT_EQ(run.counters.frames_converted, distinct_pictures(run.frames));
}

// kH264NonReferenceB: the frame shown at 4.02 s is P100, packet 97 in decode order. Its unit
// sends packets 0..97: the I, 25 P-frames (decoded) and 72 B-frames, all non-reference and
// unwanted (skipped); the 3 B-frames after P100 are never read.
constexpr double kLastFrameTime = 4.02;
constexpr int64_t kPacketsSent = 98;
constexpr int64_t kReferencePicturesSent = 26;
constexpr int64_t kNonReferencePicturesSent = 72;

TEST(DecodeCountersTest, CountsExactlyTheNonReferencePicturesSkipped) {
  const MediaSource source = MediaSource::file(clip_path(Clip::kH264NonReferenceB));
  DecodeOptions options = options_for(SampleRequest::at_times({kLastFrameTime}));
  options.workers = 1;
  const DecodeRun run = decode_to_end(source, options);
  ASSERT_EQ(run.frames.size(), 1u);
  EXPECT_EQ(run.counters.packets_read, kPacketsSent);
  EXPECT_EQ(run.counters.frames_decoded, kReferencePicturesSent);
  EXPECT_EQ(run.counters.frames_skipped, kNonReferencePicturesSent);
}

TEST(DecodeCountersTest, PicturesHiddenByAnEditListCountAsDecoded) {
  // Cut by stream copy at 1.3 s, as `ffmpeg -ss T -i IN -c copy` cuts: the MP4 keeps every
  // packet from the keyframe on and hides frames 0..32 behind an edit list (libavcodec
  // decodes those packets but drops their pictures). Frame 100 is now shown at 2.68 s, so the
  // same 98 packets are sent, and the 9 reference pictures before the cut count as decoded,
  // not as skipped.
  const std::string source_clip = clip_path(Clip::kH264NonReferenceB);
  const std::string cut = cached_file(
      "h264_non_reference_b_cut-" + hash_text(source_clip) + ".mp4", [&](const std::string& to) {
        run_or_throw(std::string(kFfmpeg) + " -nostdin -v error -y -ss 1.3 -i " +
                     shell_quote(source_clip) + " -c copy -f mp4 " + shell_quote(to));
      });
  DecodeOptions options = options_for(SampleRequest::at_times({kLastFrameTime - 1.32}));
  options.workers = 1;
  const DecodeRun run = decode_to_end(MediaSource::file(cut), options);
  ASSERT_EQ(run.frames.size(), 1u);
  EXPECT_NEAR(
      static_cast<double>(run.frames[0].pts) * run.info.time_base_num / run.info.time_base_den,
      2.68, 1e-9)
      << "the cut did not hide frames 0..32";
  EXPECT_EQ(run.counters.packets_read, kPacketsSent);
  EXPECT_EQ(run.counters.frames_decoded, kReferencePicturesSent);
  EXPECT_EQ(run.counters.frames_skipped, kNonReferencePicturesSent);
}

TEST(DecodeCountersTest, AllFramesSkipNothing) {
  const MediaSource source = MediaSource::file(clip_path(Clip::kH264Gop250));
  DecodeOptions options = options_for(SampleRequest::all_frames());
  options.workers = 1;
  const DecodeRun run = decode_to_end(source, options);
  ASSERT_EQ(run.frames.size(), 260u);
  EXPECT_EQ(run.counters.frames_skipped, 0);
  EXPECT_EQ(run.counters.frames_decoded, 260);
  EXPECT_EQ(run.counters.frames_converted, 260);
}

TEST(DecodeCountersTest, RepeatedFramesAreConvertedOnce) {
  // At 100 fps on a 25 fps clip every picture answers four samples.
  const MediaSource source = MediaSource::file(clip_path(Clip::kH264Gop25));
  for (const bool sequential : {false, true}) {
    SCOPED_TRACE(sequential ? "sequential" : "parallel");
    DecodeOptions options = options_for(SampleRequest::at_rate(100));
    options.force_sequential = sequential;
    const DecodeRun run = decode_to_end(source, options);
    ASSERT_EQ(run.frames.size(), 300u);
    EXPECT_EQ(distinct_pictures(run.frames), 75);
    EXPECT_EQ(run.counters.frames_converted, 75);
  }
}

TEST(ArchiveCancelTest, CancelEndsTheStreamAndDestructionStopsTheWorkers) {
  const MediaSource source = MediaSource::file(clip_path(Clip::kH264SeveralGops));
  DecodeOptions options = options_for(SampleRequest::all_frames());
  options.workers = 4;
  options.queue_frames = 4;
  {
    std::unique_ptr<decoder::FrameSource> frames = decoder::open_frame_source(source, options);
    ASSERT_TRUE(frames->next().has_value());
    frames->cancel();
    EXPECT_FALSE(frames->next().has_value());
  }
  {
    // Abandoned mid-stream with workers blocked on a full queue: must not hang or leak.
    std::unique_ptr<decoder::FrameSource> frames = decoder::open_frame_source(source, options);
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(frames->next().has_value());
  }
}

}  // namespace
}  // namespace vigil::testing

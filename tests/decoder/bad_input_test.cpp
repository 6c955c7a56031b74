// Bad input never crashes, hangs or leaks (CI runs these under ASan + UBSan with leak
// detection): each case ends in a typed DecodeError whose message names the input, or in
// the frames that could be decoded (identical to the ffmpeg CLI's) plus a damage report.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <random>

#include "decoder/decode_error.h"
#include "decoder/frame_source.h"
#include "tests/decoder/clips.h"
#include "tests/decoder/decode_helpers.h"
#include "tests/decoder/reference_frames.h"
#include "tests/support/test_support.h"

namespace vigil::testing {
namespace {

using decoder::DecodeError;
using decoder::DecodeErrorKind;
using decoder::DecodeOptions;
using decoder::MediaSource;
using decoder::SampleRequest;

// What decoding bad input ended in: a DecodeError, or frames.
struct Outcome {
  std::optional<DecodeError> error;
  DecodeRun run;
};

Outcome decode_outcome(const MediaSource& source, const DecodeOptions& options) {
  Outcome outcome;
  try {
    outcome.run = decode_to_end(source, options);
  } catch (const DecodeError& error) {
    outcome.error = error;
  }
  return outcome;
}

// Asserts that decoding ended in a DecodeError of `kind` whose message names `input`.
void expect_error(const Outcome& outcome, DecodeErrorKind kind, const std::string& input) {
  ASSERT_TRUE(outcome.error.has_value()) << "expected " << decoder::to_string(kind) << ", got "
                                         << outcome.run.frames.size() << " frames";
  EXPECT_EQ(outcome.error->kind(), kind)
      << decoder::to_string(outcome.error->kind()) << ": " << outcome.error->what();
  EXPECT_NE(std::string(outcome.error->what()).find(input), std::string::npos)
      << "the message does not name the input: " << outcome.error->what();
}

void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream file(path, std::ios::binary);
  file.write(reinterpret_cast<const char*>(bytes.data()),
             static_cast<std::streamsize>(bytes.size()));
}

// A copy of `path` cut after `fraction` of its bytes.
std::string truncated_copy(const TempDir& folder, const std::string& path, double fraction) {
  std::vector<uint8_t> bytes = read_file(path);
  bytes.resize(static_cast<size_t>(static_cast<double>(bytes.size()) * fraction));
  const std::string copy =
      folder.file("truncated-" + std::filesystem::path(path).filename().string());
  write_bytes(copy, bytes);
  return copy;
}

// A copy of `path` with `count` bytes from `fraction` of the way in replaced by noise.
std::string corrupted_copy(const TempDir& folder, const std::string& path, double fraction,
                           size_t count) {
  std::vector<uint8_t> bytes = read_file(path);
  std::mt19937 noise(1234);
  const size_t start = static_cast<size_t>(static_cast<double>(bytes.size()) * fraction);
  for (size_t i = start; i < std::min(bytes.size(), start + count); ++i) {
    bytes[i] = static_cast<uint8_t>(noise());
  }
  const std::string copy =
      folder.file("corrupted-" + std::filesystem::path(path).filename().string());
  write_bytes(copy, bytes);
  return copy;
}

// Expects a typed error for damaged input, of a kind that says so, naming the input.
void expect_damage_error(const DecodeError& error, const std::string& input) {
  const DecodeErrorKind kind = error.kind();
  EXPECT_TRUE(kind == DecodeErrorKind::kOpenFailed || kind == DecodeErrorKind::kEmptyInput ||
              kind == DecodeErrorKind::kIo)
      << decoder::to_string(kind) << ": " << error.what();
  EXPECT_NE(std::string(error.what()).find(input), std::string::npos) << error.what();
}

// A file cut short: a typed error, or frames each equal to the ffmpeg CLI's frame of the
// intact file at its index, where any frame that differs is admitted in the damage report.
// Returns the number of frames decoded.
size_t expect_intact_prefix(const std::string& cut_path, const std::string& intact_path,
                            const DecodeOptions& options) {
  const Outcome outcome = decode_outcome(MediaSource::file(cut_path), options);
  if (outcome.error.has_value()) {
    expect_damage_error(*outcome.error, cut_path);
    return 0;
  }
  const Reference& intact = reference_for(intact_path);
  size_t differing = 0;
  for (const FrameSummary& frame : outcome.run.frames) {
    EXPECT_GE(frame.frame_index, 0);
    EXPECT_EQ(frame.width, intact.width);
    EXPECT_EQ(frame.height, intact.height);
    if (frame.frame_index >= static_cast<int64_t>(intact.frames.size()) ||
        intact.frames[static_cast<size_t>(frame.frame_index)].md5 != frame.md5 ||
        intact.frames[static_cast<size_t>(frame.frame_index)].pts != frame.pts) {
      ++differing;
    }
  }
  EXPECT_LE(outcome.run.frames.size(), intact.frames.size());
  if (differing > 0) {
    EXPECT_TRUE(outcome.run.damage.damaged())
        << differing << " of " << outcome.run.frames.size()
        << " frames differ from the intact file's, but no damage is reported";
  }
  return outcome.run.frames.size();
}

// Bytes overwritten with noise may still parse, so pixels prove nothing: a typed error, or
// well-formed frames (full size, in order, every skipped sample reported missing).
void expect_well_formed(const std::string& path, const DecodeOptions& options, int width,
                        int height) {
  const Outcome outcome = decode_outcome(MediaSource::file(path), options);
  if (outcome.error.has_value()) {
    expect_damage_error(*outcome.error, path);
    return;
  }
  const std::vector<FrameSummary>& frames = outcome.run.frames;
  for (size_t i = 0; i < frames.size(); ++i) {
    const FrameSummary& frame = frames[i];
    EXPECT_EQ(frame.width, width);
    EXPECT_EQ(frame.height, height);
    if (i > 0) {
      // Samples that could not be decoded leave gaps, each counted as missing.
      EXPECT_GT(frame.sample_index, frames[i - 1].sample_index);
      EXPECT_GE(frame.frame_index, outcome.run.frames[i - 1].frame_index);
      EXPECT_GE(frame.pts, outcome.run.frames[i - 1].pts);
      EXPECT_GE(frame.time_seconds, outcome.run.frames[i - 1].time_seconds);
    }
  }
  if (!frames.empty()) {
    const int64_t gaps = frames.back().sample_index + 1 - static_cast<int64_t>(frames.size());
    EXPECT_LE(gaps, outcome.run.damage.missing_samples) << "samples skipped without a report";
  }
}

class BadInputTest : public ::testing::Test {
 protected:
  TempDir folder_;
};

TEST_F(BadInputTest, MissingFile) {
  const std::string path = folder_.file("no-such-video.mp4");
  expect_error(decode_outcome(MediaSource::file(path), options_for(SampleRequest::all_frames())),
               DecodeErrorKind::kOpenFailed, path);
}

TEST_F(BadInputTest, EmptyFile) {
  const std::string path = folder_.file("empty.mp4");
  write_bytes(path, {});
  expect_error(decode_outcome(MediaSource::file(path), options_for(SampleRequest::all_frames())),
               DecodeErrorKind::kEmptyInput, path);
}

TEST_F(BadInputTest, AFolderIsNoVideo) {
  expect_error(
      decode_outcome(MediaSource::file(folder_.path()), options_for(SampleRequest::all_frames())),
      DecodeErrorKind::kOpenFailed, folder_.path());
}

TEST_F(BadInputTest, RandomBytes) {
  std::vector<uint8_t> bytes(64 * 1024);
  std::mt19937 noise(42);
  for (uint8_t& byte : bytes) byte = static_cast<uint8_t>(noise());
  const std::string path = folder_.file("noise.mp4");
  write_bytes(path, bytes);
  expect_error(decode_outcome(MediaSource::file(path), options_for(SampleRequest::all_frames())),
               DecodeErrorKind::kOpenFailed, path);
}

TEST_F(BadInputTest, AudioOnlyFile) {
  const std::string path = clip_path(Clip::kAudioOnly);
  expect_error(decode_outcome(MediaSource::file(path), options_for(SampleRequest::all_frames())),
               DecodeErrorKind::kNoVideoStream, path);
}

TEST_F(BadInputTest, UnreachableUrl) {
  // Nothing listens on a port that was free a moment ago: the connection is refused.
  const std::string url = "tcp://127.0.0.1:" + std::to_string(free_tcp_port());
  DecodeOptions options = options_for(SampleRequest::all_frames());
  options.source.connect_timeout = std::chrono::milliseconds(2000);
  options.source.read_timeout = std::chrono::milliseconds(2000);
  options.source.max_reconnects = 0;
  const Outcome outcome = decode_outcome(MediaSource::url(url), options);
  ASSERT_TRUE(outcome.error.has_value());
  EXPECT_TRUE(outcome.error->kind() == DecodeErrorKind::kOpenFailed ||
              outcome.error->kind() == DecodeErrorKind::kTimeout)
      << outcome.error->what();
  EXPECT_NE(std::string(outcome.error->what()).find(url), std::string::npos)
      << outcome.error->what();
}

TEST_F(BadInputTest, NonPositiveOrNonFiniteRate) {
  const std::string path = clip_path(Clip::kH264Gop25);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double infinity = std::numeric_limits<double>::infinity();
  for (const bool sequential : {false, true}) {
    for (const double rate : {0.0, -1.0, nan, infinity}) {
      SCOPED_TRACE(std::string(sequential ? "sequential" : "parallel") + ", rate " +
                   std::to_string(rate));
      DecodeOptions options = options_for(SampleRequest::at_rate(rate));
      options.force_sequential = sequential;
      expect_error(decode_outcome(MediaSource::file(path), options),
                   DecodeErrorKind::kInvalidRequest, path);
    }
  }
}

TEST_F(BadInputTest, TimesOutsideTheVideo) {
  // Megamind.avi goes the one-pass way (no timestamps); the clip the parallel way.
  std::vector<std::string> paths = {clip_path(Clip::kH264Gop25)};
  if (file_exists(opencv_sample("Megamind.avi"))) paths.push_back(opencv_sample("Megamind.avi"));
  for (const std::string& path : paths) {
    for (const bool sequential : {false, true}) {
      for (const double time : {1000.0, -0.5, std::numeric_limits<double>::quiet_NaN()}) {
        SCOPED_TRACE(path + (sequential ? " sequential" : " parallel") + ", time " +
                     std::to_string(time));
        DecodeOptions options = options_for(SampleRequest::at_times({0.0, time}));
        options.force_sequential = sequential;
        expect_error(decode_outcome(MediaSource::file(path), options),
                     DecodeErrorKind::kInvalidRequest, path);
      }
    }
  }
}

TEST_F(BadInputTest, InvalidOutputSize) {
  const std::string path = clip_path(Clip::kH264Gop25);
  for (const decoder::OutputSize size :
       {decoder::OutputSize{-1, 48}, decoder::OutputSize{64, 0}, decoder::OutputSize{0, 48}}) {
    SCOPED_TRACE(std::to_string(size.width) + "x" + std::to_string(size.height));
    DecodeOptions options = options_for(SampleRequest::all_frames());
    options.output_size = size;
    expect_error(decode_outcome(MediaSource::file(path), options), DecodeErrorKind::kInvalidRequest,
                 path);
  }
}

TEST_F(BadInputTest, Mp4CutInTheMiddle) {
  // The index (moov) of a plain MP4 is at its end: cut, the file cannot be opened.
  const std::string intact = clip_path(Clip::kH264Gop25);
  const std::string cut = truncated_copy(folder_, intact, 0.5);
  expect_error(decode_outcome(MediaSource::file(cut), options_for(SampleRequest::all_frames())),
               DecodeErrorKind::kOpenFailed, cut);
}

TEST_F(BadInputTest, FaststartMp4CutInTheMiddle) {
  const std::string intact = clip_path(Clip::kFaststartMp4);
  const std::string cut = truncated_copy(folder_, intact, 0.5);
  for (const bool sequential : {false, true}) {
    SCOPED_TRACE(sequential ? "sequential" : "parallel");
    DecodeOptions options = options_for(SampleRequest::all_frames());
    options.force_sequential = sequential;
    const size_t frames = expect_intact_prefix(cut, intact, options);
    EXPECT_GT(frames, 0u) << "the first half of the file holds decodable frames";
    EXPECT_LT(frames, 75u);
    options.sampling = SampleRequest::at_rate(3.7);
    expect_intact_prefix(cut, intact, options);
  }
}

TEST_F(BadInputTest, TsCutInTheMiddle) {
  const std::string intact = clip_path(Clip::kOpenGopTs);
  const std::string cut = truncated_copy(folder_, intact, 0.5);
  for (const bool sequential : {false, true}) {
    SCOPED_TRACE(sequential ? "sequential" : "parallel");
    DecodeOptions options = options_for(SampleRequest::all_frames());
    options.force_sequential = sequential;
    const size_t frames = expect_intact_prefix(cut, intact, options);
    EXPECT_GT(frames, 0u) << "the first half of the file holds decodable frames";
    EXPECT_LT(frames, 75u);
  }
}

TEST_F(BadInputTest, FaststartMp4CutRightAfterItsIndex) {
  // The index lists 75 frames, none of whose bytes are there.
  const std::string intact = clip_path(Clip::kFaststartMp4);
  const std::string cut = truncated_copy(folder_, intact, 0.02);
  for (const bool sequential : {false, true}) {
    SCOPED_TRACE(sequential ? "sequential" : "parallel");
    DecodeOptions options = options_for(SampleRequest::all_frames());
    options.force_sequential = sequential;
    EXPECT_EQ(expect_intact_prefix(cut, intact, options), 0u);
  }
}

TEST_F(BadInputTest, CorruptedBytesInsideAnMp4) {
  const std::string intact = clip_path(Clip::kFaststartMp4);
  const std::string corrupted = corrupted_copy(folder_, intact, 0.4, 4000);
  for (const bool sequential : {false, true}) {
    SCOPED_TRACE(sequential ? "sequential" : "parallel");
    DecodeOptions options = options_for(SampleRequest::all_frames());
    options.force_sequential = sequential;
    expect_well_formed(corrupted, options, 320, 240);
    options.sampling = SampleRequest::at_rate(3.7);
    expect_well_formed(corrupted, options, 320, 240);
  }
}

TEST_F(BadInputTest, CorruptedBytesInsideAnAvi) {
  const std::string intact = opencv_sample("Megamind.avi");
  if (!file_exists(intact)) GTEST_SKIP() << intact << " is not installed";
  const std::string corrupted = corrupted_copy(folder_, intact, 0.5, 20000);
  expect_well_formed(corrupted, options_for(SampleRequest::all_frames()), 720, 528);
  expect_well_formed(corrupted, options_for(SampleRequest::at_rate(2.0)), 720, 528);
}

TEST_F(BadInputTest, CorruptTwinOfMegamind) {
  const std::string bugy = opencv_sample("Megamind_bugy.avi");
  if (!file_exists(bugy)) GTEST_SKIP() << bugy << " is not installed";
  // Its own CLI decode is the reference: every frame as the CLI's, or damage reported.
  EXPECT_EQ(expect_intact_prefix(bugy, bugy, options_for(SampleRequest::all_frames())), 270u);
  expect_intact_prefix(bugy, bugy, options_for(SampleRequest::at_rate(2.0)));
}

}  // namespace
}  // namespace vigil::testing

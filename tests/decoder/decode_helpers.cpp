#include "tests/decoder/decode_helpers.h"

#include <gtest/gtest.h>

#include <set>

#include "tests/decoder/reference_frames.h"

namespace vigil::testing {

FrameSummary summarize(const decoder::Frame& frame) {
  FrameSummary summary;
  summary.sample_index = frame.sample_index;
  summary.time_seconds = frame.time_seconds;
  summary.frame_index = frame.frame_index;
  summary.pts = frame.pts;
  summary.width = frame.width;
  summary.height = frame.height;
  summary.md5 = md5_hex(frame.rgb.data(), frame.rgb.size());
  return summary;
}

decoder::DecodeOptions options_for(decoder::SampleRequest sampling) {
  decoder::DecodeOptions options;
  options.sampling = std::move(sampling);
  return options;
}

DecodeRun decode_to_end(const decoder::MediaSource& source, const decoder::DecodeOptions& options,
                        const std::function<void(const decoder::Frame&)>& on_frame) {
  DecodeRun run;
  std::unique_ptr<decoder::FrameSource> frames = decoder::open_frame_source(source, options);
  run.info = frames->info();
  while (std::optional<decoder::Frame> frame = frames->next()) {
    if (on_frame) on_frame(*frame);
    run.frames.push_back(summarize(*frame));
  }
  run.counters = frames->counters();
  run.damage = frames->damage();
  return run;
}

int64_t distinct_pictures(const std::vector<FrameSummary>& frames) {
  std::set<int64_t> pictures;
  for (const FrameSummary& frame : frames) pictures.insert(frame.frame_index);
  return static_cast<int64_t>(pictures.size());
}

void expect_same_frames(const std::vector<FrameSummary>& expected,
                        const std::vector<FrameSummary>& actual, const std::string& what) {
  EXPECT_EQ(actual.size(), expected.size()) << what << ": frame count";
  int reported = 0;
  for (size_t i = 0; i < std::min(expected.size(), actual.size()) && reported < 5; ++i) {
    const FrameSummary& want = expected[i];
    const FrameSummary& got = actual[i];
    const bool same = want.sample_index == got.sample_index &&
                      want.frame_index == got.frame_index && want.pts == got.pts &&
                      want.width == got.width && want.height == got.height && want.md5 == got.md5 &&
                      std::abs(want.time_seconds - got.time_seconds) < 1e-9;
    if (same) continue;
    ++reported;
    ADD_FAILURE() << what << ": output " << i << " differs: expected sample " << want.sample_index
                  << " t=" << want.time_seconds << " frame " << want.frame_index << " pts "
                  << want.pts << " " << want.width << "x" << want.height << " md5 " << want.md5
                  << ", got sample " << got.sample_index << " t=" << got.time_seconds << " frame "
                  << got.frame_index << " pts " << got.pts << " " << got.width << "x" << got.height
                  << " md5 " << got.md5;
  }
}

}  // namespace vigil::testing

// Running the decoder in tests: drain a FrameSource, keep what each frame was (timing and
// an MD5 of its pixels, never the pixels of a whole video), compare two runs.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "decoder/frame_source.h"

namespace vigil::testing {

// A frame without its pixels.
struct FrameSummary {
  int64_t sample_index = 0;
  double time_seconds = 0;
  int64_t frame_index = 0;
  int64_t pts = 0;
  int width = 0;
  int height = 0;
  std::string md5;  // of the RGB24 bytes
};

FrameSummary summarize(const decoder::Frame& frame);

struct DecodeRun {
  std::vector<FrameSummary> frames;
  decoder::DecodeCountersSnapshot counters;  // read after the last frame
  decoder::DamageReport damage;
  decoder::StreamInfo info;
};

// Options for a native-size decode of the whole input with `sampling`.
decoder::DecodeOptions options_for(decoder::SampleRequest sampling);

// Opens source, drains it to the end and summarises every frame; on_frame, if set, sees
// each frame with its pixels first. Lets DecodeError through.
DecodeRun decode_to_end(const decoder::MediaSource& source, const decoder::DecodeOptions& options,
                        const std::function<void(const decoder::Frame&)>& on_frame = {});

// Number of distinct pictures (frame_index) among frames.
int64_t distinct_pictures(const std::vector<FrameSummary>& frames);

// Adds a GoogleTest failure for every way actual differs from expected (count, then the
// first differing frames), labelled with what.
void expect_same_frames(const std::vector<FrameSummary>& expected,
                        const std::vector<FrameSummary>& actual, const std::string& what);

}  // namespace vigil::testing

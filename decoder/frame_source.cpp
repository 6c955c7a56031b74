#include "decoder/frame_source.h"

#include <cmath>

#include "decoder/archive_decoder.h"
#include "decoder/decode_error.h"
#include "decoder/jpeg_frame_source.h"
#include "decoder/sequential_decoder.h"

namespace vigil::decoder {
namespace {

// plan_samples on the indexed timeline; its errors name the input (DecodeError's contract).
std::vector<Sample> plan_samples_of(const MediaSource& source, const SampleRequest& request,
                                    const KeyframeIndex& index, AVRational time_base) {
  try {
    return plan_samples(request, index.first_pts(), index.end_pts(), time_base);
  } catch (const DecodeError& error) {
    throw DecodeError(error.kind(), source.describe() + ": " + error.what());
  }
}

}  // namespace

std::unique_ptr<FrameSource> open_frame_source(const MediaSource& source,
                                               const DecodeOptions& options) {
  // An infinite rate would pass "> 0" and make the one-pass sampler emit forever.
  if (options.sampling.mode == SampleRequest::Mode::kFramesPerSecond &&
      !(options.sampling.frames_per_second > 0 &&
        std::isfinite(options.sampling.frames_per_second))) {
    throw DecodeError(
        DecodeErrorKind::kInvalidRequest,
        source.describe() + ": the sampling rate must be a positive number of frames per second");
  }
  if (options.output_size.width < 0 || options.output_size.height < 0 ||
      (options.output_size.width == 0) != (options.output_size.height == 0)) {
    throw DecodeError(
        DecodeErrorKind::kInvalidRequest,
        source.describe() + ": the output size must be two positive numbers, or native");
  }
  if (source.kind() == MediaSource::Kind::kJpegPush) {
    if (source.jpeg_push_source() == nullptr) {
      throw DecodeError(DecodeErrorKind::kInvalidRequest, "JPEG push source without a queue");
    }
    return std::make_unique<JpegFrameSource>(source.jpeg_push_source(), options);
  }
  OpenedInput input = open_input(source, options.source);
  if (!is_seekable_archive(source, input)) {
    StreamInfo info = describe_stream(input);
    return std::make_unique<SequentialDecoder>(source, options, SequentialDecoder::Pacing::kLive,
                                               std::move(input), std::move(info));
  }

  KeyframeIndex index = KeyframeIndex::scan(input, options.source.read_timeout);
  StreamInfo info = describe_stream(input, index);
  const AVRational time_base = input.stream()->time_base;
  if (options.force_sequential || !index.presentation_exact()) {
    // Validate the request against the exact duration, then decode in one pass.
    if (options.sampling.mode == SampleRequest::Mode::kTimes) {
      plan_samples_of(source, options.sampling, index, time_base);
    }
    OpenedInput fresh = open_input(source, options.source);
    return std::make_unique<SequentialDecoder>(
        source, options, SequentialDecoder::Pacing::kLossless, std::move(fresh), std::move(info));
  }
  std::vector<Sample> samples;
  if (options.sampling.mode == SampleRequest::Mode::kAllFrames) {
    samples.reserve(static_cast<size_t>(index.frame_count()));
    for (int64_t i = 0; i < index.frame_count(); ++i) {
      const int64_t pts = index.frame_pts(i);
      samples.push_back({static_cast<double>(pts - index.first_pts()) * av_q2d(time_base), pts});
    }
  } else {
    samples = plan_samples_of(source, options.sampling, index, time_base);
  }
  return std::make_unique<ArchiveDecoder>(source, options, std::move(index), std::move(info),
                                          std::move(samples));
}

StreamInfo probe(const MediaSource& source, const SourceOptions& options) {
  OpenedInput input = open_input(source, options);
  if (!is_seekable_archive(source, input)) return describe_stream(input);
  const KeyframeIndex index = KeyframeIndex::scan(input, options.read_timeout);
  return describe_stream(input, index);
}

}  // namespace vigil::decoder

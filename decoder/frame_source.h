// The decoder's one interface: a sequence of sampled RGB frames from any source.
// Archived files are decoded in parallel keyframe-aligned intervals (ArchiveDecoder);
// live URLs and pushed bytes are decoded in order with bounded latency (LiveDecoder); pushed
// JPEG pictures one by one as they arrive (JpegFrameSource).
#pragma once

#include <memory>
#include <optional>

#include "decoder/decode_counters.h"
#include "decoder/frame.h"
#include "decoder/frame_converter.h"
#include "decoder/media_source.h"
#include "decoder/sampling.h"
#include "decoder/stream_info.h"

namespace vigil::decoder {

struct DecodeOptions {
  SampleRequest sampling;  // default: every frame
  OutputSize output_size;  // default: native size
  int workers = 0;         // archive: decoding threads, 0 = one per core
  int queue_frames = 32;   // frames buffered ahead of the consumer (at least)
  int64_t archive_buffer_bytes = int64_t{1} << 30;  // archive: up to this much may wait so
                                                    // that every worker keeps decoding
  bool force_sequential = false;  // archive: decode in one pass, in order (reference path)
  bool drop_when_behind = true;   // live: drop whole frames rather than block the reader
  int live_packet_queue = 512;    // live: packets buffered between reader and decoder
  SourceOptions source;
};

class FrameSource {
 public:
  virtual ~FrameSource() = default;

  // Blocks until the next sampled frame, in time order; std::nullopt at the end.
  // Throws DecodeError when the source fails for good (a live source after its reconnects).
  // Called from one consumer thread.
  virtual std::optional<Frame> next() = 0;
  // Thread-safe: stops decoding; a blocked next() returns std::nullopt soon after.
  virtual void cancel() = 0;

  virtual const StreamInfo& info() const = 0;
  virtual DecodeCountersSnapshot counters() const = 0;
  virtual DamageReport damage() const = 0;
  // Samples planned so far (archive: the whole plan, known up front; live: -1).
  virtual int64_t planned_samples() const = 0;
};

// Opens source and starts decoding in the background. Archives (seekable files) are indexed
// first. Throws DecodeError when the source cannot be opened or the request is invalid.
std::unique_ptr<FrameSource> open_frame_source(const MediaSource& source,
                                               const DecodeOptions& options);

// Opens and indexes source without decoding: stream facts with exact frame and keyframe
// counts. Live sources get the container's facts only.
StreamInfo probe(const MediaSource& source, const SourceOptions& options);

}  // namespace vigil::decoder

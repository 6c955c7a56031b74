// libFuzzer target: arbitrary bytes pushed into a PushSource and decoded live, the way a
// client's WebSocket stream reaches vigil. Must never crash, leak, hang or throw anything but
// DecodeError. The last byte (mixed with the size, so that raw .ts files work as seeds) picks
// the demuxer (forced "mpegts" or FFmpeg's probe), the chunking and the sampling.
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>

extern "C" {
#include <libavutil/log.h>
}

#include "decoder/decode_error.h"
#include "decoder/frame_source.h"
#include "decoder/push_source.h"

namespace {

using vigil::decoder::DecodeError;
using vigil::decoder::DecodeOptions;
using vigil::decoder::FrameSource;
using vigil::decoder::MediaSource;
using vigil::decoder::PushSource;
using vigil::decoder::SampleRequest;

// Pushes data in chunks of varying size, from one byte (a TS packet split across reads) to
// a few WebSocket messages' worth, then closes: every read is answered at once, so a run
// ends with end of file and never waits for a deadline.
std::shared_ptr<PushSource> pushed(const uint8_t* data, size_t size, unsigned chunk_seed) {
  auto source = std::make_shared<PushSource>(size + 1, std::chrono::milliseconds(200));
  size_t offset = 0;
  for (unsigned i = 0; offset < size; ++i) {
    const size_t chunk = 1 + (chunk_seed * 131u + i * 977u) % (chunk_seed % 2 == 0 ? 4096u : 189u);
    const size_t take = chunk < size - offset ? chunk : size - offset;
    if (!source->push(data + offset, take)) __builtin_trap();  // capacity covers the input
    offset += take;
  }
  source->close();
  return source;
}

SampleRequest sampling(unsigned choice) {
  switch (choice % 3) {
    case 0:
      return SampleRequest::all_frames();
    case 1:
      return SampleRequest::at_rate(7.5);
    default:
      return SampleRequest::at_times({0.0, 0.04, 0.5, 1.0, 1.0, 30.0});
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  av_log_set_level(AV_LOG_QUIET);  // damaged input makes FFmpeg log on every packet
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const unsigned control = data[size - 1] ^ static_cast<unsigned>(size & 0xff);
  DecodeOptions options;
  options.sampling = sampling(control >> 1);
  options.output_size = {32, 24};
  options.queue_frames = 4;
  options.source.connect_timeout = std::chrono::milliseconds(5000);
  options.source.read_timeout = std::chrono::milliseconds(200);
  options.source.push_probe_bytes = 64 * 1024;

  const MediaSource source =
      MediaSource::push(pushed(data, size, control >> 3), (control & 1) != 0 ? "" : "mpegts");
  try {
    std::unique_ptr<FrameSource> frames = vigil::decoder::open_frame_source(source, options);
    int64_t last_sample = -1;
    double last_time = -1;
    while (std::optional<vigil::decoder::Frame> frame = frames->next()) {
      // Every frame is whole (the requested size, packed RGB) and in order on one timeline
      // (times repeat only where the request repeats them), whatever the timestamps were.
      if (frame->width != 32 || frame->height != 24 || frame->rgb.size() != 32u * 24u * 3u ||
          frame->sample_index <= last_sample || !std::isfinite(frame->time_seconds) ||
          frame->time_seconds < last_time) {
        __builtin_trap();
      }
      last_sample = frame->sample_index;
      last_time = frame->time_seconds;
    }
    (void)frames->counters();
    (void)frames->damage();
  } catch (const DecodeError&) {
    // Bad input is reported, typed: that is the expected outcome for most inputs.
  }
  return 0;
}

// Pushed bytes (MPEG-TS and fragmented MP4, as a WebSocket client would send them) decode to
// the same frames and pts as the file they came from, whatever the chunk size, with the
// producer held back by the PushSource's capacity.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>

#include "decoder/frame_source.h"
#include "decoder/push_source.h"
#include "tests/decoder/clips.h"
#include "tests/decoder/decode_helpers.h"
#include "tests/support/test_support.h"

namespace vigil::testing {
namespace {

using decoder::DecodeOptions;
using decoder::MediaSource;
using decoder::PushSource;
using decoder::SampleRequest;

// A client pushing bytes in fixed-size chunks from its own thread, retrying while the
// source refuses (backpressure), then closing. Stops early when destroyed.
class Producer {
 public:
  // stall_at, stall_for: after the chunk that reaches stall_at bytes, waits stall_for (a
  // client whose camera delivers the next frame late).
  Producer(std::shared_ptr<PushSource> source, std::vector<uint8_t> bytes, size_t chunk_bytes,
           size_t stall_at = 0, std::chrono::milliseconds stall_for = {})
      : source_(std::move(source)),
        bytes_(std::move(bytes)),
        chunk_bytes_(chunk_bytes),
        stall_at_(stall_at),
        stall_for_(stall_for) {
    thread_ = std::thread([this] { run(); });
  }
  ~Producer() {
    stop_ = true;
    thread_.join();
  }
  Producer(const Producer&) = delete;
  Producer& operator=(const Producer&) = delete;

 private:
  void run() {
    for (size_t offset = 0; offset < bytes_.size();) {
      const size_t size = std::min(chunk_bytes_, bytes_.size() - offset);
      while (!source_->push(bytes_.data() + offset, size)) {
        if (stop_) return;
        std::this_thread::sleep_for(std::chrono::microseconds(200));
      }
      const bool stall = offset < stall_at_ && offset + size >= stall_at_;
      offset += size;
      if (stall) std::this_thread::sleep_for(stall_for_);
    }
    source_->close();
  }

  std::shared_ptr<PushSource> source_;
  const std::vector<uint8_t> bytes_;
  const size_t chunk_bytes_;
  const size_t stall_at_;
  const std::chrono::milliseconds stall_for_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

struct PushCase {
  Clip clip;
  std::string format_name;
};

DecodeOptions push_options(SampleRequest sampling) {
  DecodeOptions options = options_for(std::move(sampling));
  options.drop_when_behind = false;  // every frame must arrive
  options.source.read_timeout = std::chrono::seconds(20);
  options.source.connect_timeout = std::chrono::seconds(20);
  return options;
}

// Pushes the clip's bytes in chunks and decodes them.
DecodeRun decode_pushed(const std::string& path, const std::string& format_name, size_t chunk_bytes,
                        const DecodeOptions& options) {
  // Room for a few chunks, far less than the file: the producer must wait for the reader.
  const size_t capacity = std::max<size_t>(4 * chunk_bytes, 16 * 1024);
  auto source = std::make_shared<PushSource>(capacity, options.source.read_timeout);
  Producer producer(source, read_file(path), chunk_bytes);
  return decode_to_end(MediaSource::push(source, format_name), options);
}

class PushDecodingTest : public ::testing::TestWithParam<PushCase> {};

TEST_P(PushDecodingTest, ChunksOfAnySizeGiveTheFilesFrames) {
  const std::string path = clip_path(GetParam().clip);
  const DecodeRun from_file =
      decode_to_end(MediaSource::file(path), options_for(SampleRequest::all_frames()));
  ASSERT_EQ(from_file.frames.size(), 75u);
  for (const size_t chunk : {size_t{188}, size_t{1000}, size_t{4096}, size_t{65536}}) {
    SCOPED_TRACE("chunks of " + std::to_string(chunk) + " bytes");
    const DecodeRun pushed = decode_pushed(path, GetParam().format_name, chunk,
                                           push_options(SampleRequest::all_frames()));
    expect_same_frames(from_file.frames, pushed.frames, "pushed vs file");
    EXPECT_EQ(pushed.counters.frames_dropped, 0);
    EXPECT_FALSE(pushed.damage.damaged()) << pushed.damage.first_error;
    EXPECT_EQ(pushed.info.width, 160);
    EXPECT_EQ(pushed.info.height, 120);
  }
}

TEST_P(PushDecodingTest, SampledPushMatchesTheSampledFile) {
  const std::string path = clip_path(GetParam().clip);
  const SampleRequest requests[] = {SampleRequest::at_rate(3.7),
                                    SampleRequest::at_times({2.9, 0.0, 1.0, 1.0, 0.52})};
  for (const SampleRequest& request : requests) {
    const DecodeRun from_file = decode_to_end(MediaSource::file(path), options_for(request));
    ASSERT_FALSE(from_file.frames.empty());
    const DecodeRun pushed =
        decode_pushed(path, GetParam().format_name, 1316, push_options(request));
    expect_same_frames(from_file.frames, pushed.frames, "pushed vs file");
  }
}

// drop_when_behind=false promises every frame; a tiny packet queue must slow the reader
// down, not lose packets.
TEST_P(PushDecodingTest, NoDropsWhenDroppingIsOffEvenWithATinyPacketQueue) {
  const std::string path = clip_path(GetParam().clip);
  const DecodeRun from_file =
      decode_to_end(MediaSource::file(path), options_for(SampleRequest::all_frames()));
  DecodeOptions options = push_options(SampleRequest::all_frames());
  options.live_packet_queue = 2;
  options.queue_frames = 1;
  const DecodeRun pushed = decode_pushed(path, GetParam().format_name, 65536, options);
  EXPECT_EQ(pushed.counters.frames_dropped, 0);
  expect_same_frames(from_file.frames, pushed.frames, "pushed vs file");
}

INSTANTIATE_TEST_SUITE_P(Formats, PushDecodingTest,
                         ::testing::Values(PushCase{Clip::kPushTs, "mpegts"},
                                           PushCase{Clip::kPushFragmentedMp4, "mp4"}),
                         [](const ::testing::TestParamInfo<PushCase>& info) {
                           return std::string(clip_name(info.param.clip));
                         });

TEST(PushedStreamTest, ProbedFormatWorksToo) {
  const std::string path = clip_path(Clip::kPushTs);
  const DecodeRun from_file =
      decode_to_end(MediaSource::file(path), options_for(SampleRequest::all_frames()));
  const DecodeRun pushed =
      decode_pushed(path, /*format_name=*/"", 4096, push_options(SampleRequest::all_frames()));
  expect_same_frames(from_file.frames, pushed.frames, "pushed (format probed) vs file");
}

// A live client whose stream pauses while the decoder still probes it (at 1 fps, probing
// outlasts the open deadline): the probe stops at the deadline with what it has, and the
// stream, once it resumes and ends, ends cleanly with every frame, not as a timeout.
TEST(PushedStreamTest, AProbeCutShortByTheOpenDeadlineIsNotATimeoutLater) {
  const std::string path = clip_path(Clip::kPushTs);
  const DecodeRun from_file =
      decode_to_end(MediaSource::file(path), options_for(SampleRequest::all_frames()));
  DecodeOptions options = push_options(SampleRequest::all_frames());
  options.source.connect_timeout = std::chrono::milliseconds(300);
  const std::vector<uint8_t> bytes = read_file(path);
  auto source = std::make_shared<PushSource>(64 * 1024, options.source.read_timeout);
  Producer producer(source, bytes, 1316, /*stall_at=*/bytes.size() / 4,
                    /*stall_for=*/std::chrono::milliseconds(1000));
  const DecodeRun pushed = decode_to_end(MediaSource::push(source, "mpegts"), options);
  expect_same_frames(from_file.frames, pushed.frames, "pushed with a stall vs file");
  EXPECT_FALSE(pushed.damage.damaged()) << pushed.damage.first_error;
}

TEST(PushedStreamTest, DestroyingMidStreamStopsEverything) {
  const std::string path = clip_path(Clip::kPushTs);
  DecodeOptions options = push_options(SampleRequest::all_frames());
  auto source = std::make_shared<PushSource>(8192, options.source.read_timeout);
  Producer producer(source, read_file(path), 188);
  std::unique_ptr<decoder::FrameSource> frames =
      decoder::open_frame_source(MediaSource::push(source, "mpegts"), options);
  ASSERT_TRUE(frames->next().has_value());
  frames.reset();  // cancels the push source: the producer's pushes are refused from now on
}

}  // namespace
}  // namespace vigil::testing

// JPEG pictures, as a realtime client pushes them: JpegDecoder against the ffmpeg CLI's own
// decode of the same files (dimensions and every RGB byte), corrupt pictures rejected with a
// typed error, and JpegFrameSource's sampling, timing and reporting over a JpegPushSource.
// The pictures are frames of a real video (OpenCV's vtest.avi) encoded by the ffmpeg CLI.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "decoder/decode_error.h"
#include "decoder/frame_source.h"
#include "decoder/jpeg_decoder.h"
#include "decoder/jpeg_frame_source.h"
#include "decoder/jpeg_push_source.h"
#include "tests/decoder/ffmpeg_cli.h"
#include "tests/support/test_support.h"

namespace vigil::testing {
namespace {

using decoder::DecodeError;
using decoder::DecodeErrorKind;
using decoder::JpegDecoder;
using decoder::JpegPushSource;
using std::chrono::milliseconds;

// Picture `index` (of 1 frame per second) of the sample video as a JPEG, cached.
std::string sample_jpeg(int index, const std::string& size = "") {
  const std::string command = std::string(kFfmpeg) + " -v error -y -ss " + std::to_string(index) +
                              " -i " + shell_quote(opencv_sample("vtest.avi")) +
                              (size.empty() ? "" : " -vf scale=" + size) +
                              " -frames:v 1 -q:v 3 -f image2 -c:v mjpeg ";
  return cached_file("jpeg_" + hash_text(command + ffmpeg_identity()) + ".jpg",
                     [&](const std::string& path) { run_or_throw(command + shell_quote(path)); });
}

// The ffmpeg CLI's RGB24 for a JPEG file (its own decoder and scaler).
std::vector<uint8_t> reference_rgb(const std::string& jpeg) {
  const std::string command = std::string(kFfmpeg) + " -v error -y -i " + shell_quote(jpeg) +
                              " -f rawvideo -pix_fmt rgb24 ";
  return read_file(
      cached_file("rgb_" + hash_text(command + ffmpeg_identity()) + ".rgb",
                  [&](const std::string& path) { run_or_throw(command + shell_quote(path)); }));
}

std::vector<uint8_t> bytes_of(const std::string& path) {
  return read_file(path);
}

TEST(JpegDecoderTest, MatchesTheFfmpegCliPixelForPixel) {
  JpegDecoder decoder;
  for (int index : {0, 20, 40}) {
    const std::string path = sample_jpeg(index);
    const std::vector<uint8_t> jpeg = bytes_of(path);
    ASSERT_TRUE(decoder::starts_like_jpeg(jpeg.data(), jpeg.size()));
    decoder::Frame frame;
    decoder.decode(jpeg.data(), jpeg.size(), frame);
    EXPECT_EQ(frame.width, 768);
    EXPECT_EQ(frame.height, 576);
    const std::vector<uint8_t> want = reference_rgb(path);
    ASSERT_EQ(frame.rgb.size(), want.size());
    EXPECT_TRUE(frame.rgb == want) << "picture " << index << " differs from ffmpeg's rgb24";
  }
  EXPECT_EQ(decoder.pictures_decoded(), 3);
}

TEST(JpegDecoderTest, OddSizeAndResizedOutput) {
  const std::string path = sample_jpeg(5, "321:241");
  const std::vector<uint8_t> jpeg = bytes_of(path);
  JpegDecoder native;
  decoder::Frame frame;
  native.decode(jpeg.data(), jpeg.size(), frame);
  EXPECT_EQ(frame.width, 321);
  EXPECT_EQ(frame.height, 241);
  EXPECT_TRUE(frame.rgb == reference_rgb(path));
  JpegDecoder resized({64, 48});
  resized.decode(jpeg.data(), jpeg.size(), frame);
  EXPECT_EQ(frame.width, 64);
  EXPECT_EQ(frame.height, 48);
  EXPECT_EQ(frame.rgb.size(), 64u * 48u * 3u);
}

DecodeErrorKind kind_of_failure(JpegDecoder& decoder, const std::vector<uint8_t>& bytes,
                                std::string* message = nullptr) {
  try {
    decoder.decode_picture(bytes.data(), bytes.size());
  } catch (const DecodeError& error) {
    if (message != nullptr) *message = error.what();
    return error.kind();
  }
  return DecodeErrorKind::kCancelled;  // "did not throw"
}

TEST(JpegDecoderTest, CorruptPicturesAreRejectedAndTheNextOneDecodes) {
  const std::vector<uint8_t> good = bytes_of(sample_jpeg(10));
  JpegDecoder decoder;
  std::string message;
  // Not a JPEG at all.
  const std::string text = "hello, not a picture";
  EXPECT_EQ(kind_of_failure(decoder, std::vector<uint8_t>(text.begin(), text.end()), &message),
            DecodeErrorKind::kInvalidData);
  EXPECT_NE(message.find("SOI"), std::string::npos) << message;
  // Truncated: the first half.
  EXPECT_EQ(
      kind_of_failure(decoder, std::vector<uint8_t>(good.begin(), good.begin() + good.size() / 2)),
      DecodeErrorKind::kInvalidData);
  // Headers cut away: SOI, then the entropy-coded data and EOI of the real picture.
  std::vector<uint8_t> headless = {0xFF, 0xD8, 0xFF, 0xFE, 0x00, 0x04, 'x', 'y'};
  headless.insert(headless.end(), good.end() - 4000, good.end());
  EXPECT_EQ(kind_of_failure(decoder, headless, &message), DecodeErrorKind::kInvalidData);
  // Empty.
  EXPECT_EQ(kind_of_failure(decoder, {}), DecodeErrorKind::kInvalidData);
  // The decoder is still good.
  decoder::Frame frame;
  decoder.decode(good.data(), good.size(), frame);
  EXPECT_EQ(frame.width, 768);
  EXPECT_TRUE(frame.rgb == reference_rgb(sample_jpeg(10)));
}

TEST(JpegPushSourceTest, BoundedQueueInOrderWithTimeoutAndCancel) {
  JpegPushSource source(2, 1000, milliseconds(50));
  EXPECT_TRUE(source.push({1, 2, 3}, 0.0));
  EXPECT_TRUE(source.push({4}, 0.5));
  EXPECT_FALSE(source.push({5}, 1.0));  // two pictures at most
  EXPECT_EQ(source.pop()->time_seconds, 0.0);
  EXPECT_FALSE(source.push(std::vector<uint8_t>(1000, 0), 1.0));  // over the byte budget
  EXPECT_EQ(source.pop()->jpeg, std::vector<uint8_t>({4}));
  try {
    source.pop();
    ADD_FAILURE() << "pop did not time out";
  } catch (const DecodeError& error) {
    EXPECT_EQ(error.kind(), DecodeErrorKind::kTimeout);
  }
  EXPECT_TRUE(source.push({6}, 2.0));
  source.close();
  EXPECT_FALSE(source.push({7}, 3.0));
  EXPECT_TRUE(source.pop().has_value());  // drains, then ends
  EXPECT_FALSE(source.pop().has_value());

  JpegPushSource blocked(2, 1000, milliseconds(10000));
  std::thread canceller([&] {
    std::this_thread::sleep_for(milliseconds(50));
    blocked.cancel();
  });
  EXPECT_FALSE(blocked.pop().has_value());
  canceller.join();
}

TEST(JpegFrameSourceTest, SamplesAtTheRateOnThePicturesTimelineAndReportsCorruptOnes) {
  std::vector<std::pair<double, std::string>> rejected;
  auto pictures = std::make_shared<JpegPushSource>(
      64, 64u << 20, milliseconds(5000),
      [&](double time, const std::string& reason) { rejected.emplace_back(time, reason); });
  decoder::DecodeOptions options;
  options.sampling = decoder::SampleRequest::at_rate(1.0);
  const std::unique_ptr<decoder::FrameSource> source =
      decoder::open_frame_source(decoder::MediaSource::jpeg_push(pictures), options);
  // Four pictures a second from t = 100 s (a client clock), one corrupt.
  const std::vector<uint8_t> good = bytes_of(sample_jpeg(30));
  const std::vector<uint8_t> corrupt(good.begin(), good.begin() + good.size() / 3);
  int pushed = 0;
  for (int i = 0; i < 12; ++i) {
    const double time = 100.0 + 0.25 * i;
    ASSERT_TRUE(pictures->push(i == 5 ? corrupt : good, time));
    ++pushed;
  }
  pictures->close();
  std::vector<decoder::Frame> frames;
  while (std::optional<decoder::Frame> frame = source->next()) frames.push_back(std::move(*frame));
  // Sample times 0, 1, 2 s: pictures 0, 4 and 8.
  ASSERT_EQ(frames.size(), 3u);
  for (size_t i = 0; i < frames.size(); ++i) {
    EXPECT_EQ(frames[i].sample_index, static_cast<int64_t>(i));
    EXPECT_DOUBLE_EQ(frames[i].time_seconds, static_cast<double>(i));
    EXPECT_EQ(frames[i].frame_index, static_cast<int64_t>(4 * i));
    EXPECT_EQ(frames[i].pts, 100000000 + 1000000 * static_cast<int64_t>(i));
    EXPECT_EQ(frames[i].time_base_den, 1000000);
    EXPECT_EQ(frames[i].width, 768);
    EXPECT_EQ(frames[i].rgb.size(), 768u * 576u * 3u);
  }
  EXPECT_TRUE(frames[0].rgb == reference_rgb(sample_jpeg(30)));
  ASSERT_EQ(rejected.size(), 1u);
  EXPECT_DOUBLE_EQ(rejected[0].first, 101.25);
  EXPECT_NE(rejected[0].second.find("invalid JPEG"), std::string::npos) << rejected[0].second;
  const decoder::DecodeCountersSnapshot counters = source->counters();
  EXPECT_EQ(counters.packets_read, pushed);
  EXPECT_EQ(counters.decode_errors, 1);
  EXPECT_EQ(counters.frames_decoded, pushed - 1);
  EXPECT_EQ(counters.frames_converted, 3);
  EXPECT_EQ(source->damage().decode_errors, 1);
  EXPECT_EQ(source->planned_samples(), -1);
}

TEST(JpegFrameSourceTest, AllFramesAndCancel) {
  auto pictures = std::make_shared<JpegPushSource>(8, 64u << 20, milliseconds(10000));
  const std::unique_ptr<decoder::FrameSource> source = decoder::open_frame_source(
      decoder::MediaSource::jpeg_push(pictures), decoder::DecodeOptions{});
  const std::vector<uint8_t> good = bytes_of(sample_jpeg(1));
  ASSERT_TRUE(pictures->push(good, 0.0));
  ASSERT_TRUE(pictures->push(good, 0.04));
  EXPECT_DOUBLE_EQ(source->next()->time_seconds, 0.0);
  EXPECT_DOUBLE_EQ(source->next()->time_seconds, 0.04);
  std::thread canceller([&] {
    std::this_thread::sleep_for(milliseconds(50));
    source->cancel();
  });
  EXPECT_FALSE(source->next().has_value());  // blocked, then cancelled
  canceller.join();
  // open_input refuses pictures: they have no container.
  try {
    decoder::open_input(decoder::MediaSource::jpeg_push(pictures), decoder::SourceOptions{});
    ADD_FAILURE() << "open_input accepted JPEG pictures";
  } catch (const DecodeError& error) {
    EXPECT_EQ(error.kind(), DecodeErrorKind::kInvalidRequest);
  }
}

}  // namespace
}  // namespace vigil::testing

// Unit tests of PushSource, the bounded buffer between a client pushing bytes and the
// demuxer reading them: order, capacity, end of stream, timeouts and cancellation.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <string>
#include <thread>

extern "C" {
#include <libavutil/error.h>
}

#include "decoder/push_source.h"

namespace vigil::testing {
namespace {

using decoder::PushSource;
using std::chrono::milliseconds;

bool push_text(PushSource& source, const std::string& text) {
  return source.push(reinterpret_cast<const uint8_t*>(text.data()), text.size());
}

// Reads up to size bytes; returns them as text, or "" and the error code in error.
std::string read_text(PushSource& source, int size, int* result = nullptr) {
  std::string buffer(static_cast<size_t>(size), '\0');
  const int got = source.read(reinterpret_cast<uint8_t*>(buffer.data()), size);
  if (result != nullptr) *result = got;
  return got > 0 ? buffer.substr(0, static_cast<size_t>(got)) : "";
}

TEST(PushSourceTest, ReadsReturnBytesInOrderAcrossChunks) {
  PushSource source(1024, milliseconds(1000));
  ASSERT_TRUE(push_text(source, "abc"));
  ASSERT_TRUE(push_text(source, "defgh"));
  EXPECT_EQ(source.buffered_bytes(), 8u);
  EXPECT_EQ(read_text(source, 2), "ab");
  EXPECT_EQ(read_text(source, 4), "cdef");  // spans two chunks
  EXPECT_EQ(read_text(source, 100), "gh");
  EXPECT_EQ(source.buffered_bytes(), 0u);
  EXPECT_EQ(source.total_bytes_pushed(), 8);
}

TEST(PushSourceTest, RefusesWhatExceedsTheCapacityAndKeepsNothingOfIt) {
  PushSource source(10, milliseconds(1000));
  ASSERT_TRUE(push_text(source, "12345678"));
  EXPECT_FALSE(push_text(source, "abc")) << "11 bytes buffered in a 10-byte source";
  EXPECT_EQ(source.buffered_bytes(), 8u);
  EXPECT_EQ(source.total_bytes_pushed(), 8);
  EXPECT_TRUE(push_text(source, "90")) << "exactly full is allowed";
  EXPECT_FALSE(push_text(source, "x"));
  // Reading makes room again: this is the backpressure a producer waits on.
  EXPECT_EQ(read_text(source, 5), "12345");
  EXPECT_TRUE(push_text(source, "abc"));
  EXPECT_EQ(read_text(source, 100), "67890abc");
  EXPECT_FALSE(push_text(source, std::string(11, 'z'))) << "a chunk larger than the capacity";
}

TEST(PushSourceTest, CloseDrainsThenReportsEndOfFile) {
  PushSource source(1024, milliseconds(1000));
  ASSERT_TRUE(push_text(source, "abc"));
  source.close();
  EXPECT_FALSE(push_text(source, "d")) << "push after close";
  EXPECT_EQ(read_text(source, 2), "ab");
  EXPECT_EQ(read_text(source, 2), "c");
  int result = 0;
  read_text(source, 2, &result);
  EXPECT_EQ(result, AVERROR_EOF);
  read_text(source, 2, &result);
  EXPECT_EQ(result, AVERROR_EOF) << "end of file stays end of file";
  EXPECT_FALSE(source.timed_out());
}

TEST(PushSourceTest, CloseWakesABlockedReader) {
  PushSource source(1024, std::chrono::hours(1));
  std::promise<void> reading;
  auto reader = std::async(std::launch::async, [&] {
    reading.set_value();
    int result = 0;
    read_text(source, 16, &result);
    return result;
  });
  reading.get_future().wait();
  source.close();
  EXPECT_EQ(reader.get(), AVERROR_EOF);  // would block for an hour if close did not wake it
}

TEST(PushSourceTest, ReadTimesOutWithoutData) {
  PushSource source(1024, milliseconds(50));
  int result = 0;
  read_text(source, 16, &result);
  EXPECT_EQ(result, AVERROR(ETIMEDOUT));
  EXPECT_TRUE(source.timed_out());
  // Data that arrives later is still read.
  ASSERT_TRUE(push_text(source, "late"));
  EXPECT_EQ(read_text(source, 16), "late");
}

TEST(PushSourceTest, CancelWakesABlockedReader) {
  PushSource source(1024, std::chrono::hours(1));
  std::promise<void> reading;
  auto reader = std::async(std::launch::async, [&] {
    reading.set_value();
    int result = 0;
    read_text(source, 16, &result);
    return result;
  });
  reading.get_future().wait();
  std::this_thread::sleep_for(milliseconds(20));  // let the reader block (not required)
  source.cancel();
  EXPECT_EQ(reader.get(), AVERROR_EXIT);  // would block for an hour if cancel did not wake it
  EXPECT_FALSE(push_text(source, "x")) << "push after cancel";
}

TEST(PushSourceTest, CancelWinsOverBufferedBytes) {
  PushSource source(1024, milliseconds(1000));
  ASSERT_TRUE(push_text(source, "abc"));
  source.cancel();
  int result = 0;
  read_text(source, 16, &result);
  EXPECT_EQ(result, AVERROR_EXIT);
}

TEST(PushSourceTest, ABlockedReaderWakesForAPush) {
  PushSource source(1024, std::chrono::hours(1));
  std::promise<void> reading;
  auto reader = std::async(std::launch::async, [&] {
    reading.set_value();
    return read_text(source, 16);
  });
  reading.get_future().wait();
  ASSERT_TRUE(push_text(source, "hello"));
  EXPECT_EQ(reader.get(), "hello");
}

TEST(PushSourceTest, EmptyPushesAreAcceptedAndShowNothing) {
  PushSource source(4, milliseconds(50));
  EXPECT_TRUE(source.push(nullptr, 0));
  EXPECT_EQ(source.buffered_bytes(), 0u);
  int result = 0;
  read_text(source, 4, &result);
  EXPECT_EQ(result, AVERROR(ETIMEDOUT));
}

}  // namespace
}  // namespace vigil::testing

// The disk tier's segment store: append/read/reopen, rotation, torn tails, checksums, the
// manifest, stream removal, SIGKILL during writes and a full disk (RLIMIT_FSIZE).
#include "memory/segment_store.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "memory/crc32c.h"
#include "tests/memory/segment_payload.h"
#include "tests/support/test_support.h"

namespace vigil::memory {
namespace {

using vigil::testing::segment_payload;
using vigil::testing::TempDir;

uint64_t file_size(const std::string& path) {
  struct stat info {};
  EXPECT_EQ(::stat(path.c_str(), &info), 0) << path;
  return static_cast<uint64_t>(info.st_size);
}

bool exists(const std::string& path) {
  struct stat info {};
  return ::stat(path.c_str(), &info) == 0;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void flip_byte(const std::string& path, uint64_t offset) {
  FILE* file = std::fopen(path.c_str(), "r+b");
  ASSERT_NE(file, nullptr) << path;
  ASSERT_EQ(std::fseek(file, static_cast<long>(offset), SEEK_SET), 0);
  const int byte = std::fgetc(file);
  ASSERT_NE(byte, EOF);
  ASSERT_EQ(std::fseek(file, static_cast<long>(offset), SEEK_SET), 0);
  std::fputc(byte ^ 0x5A, file);
  std::fclose(file);
}

std::string segment_path(const std::string& directory, int id) {
  char name[64];
  std::snprintf(name, sizeof name, "/segment-%06d.vseg", id);
  return directory + name;
}

// Record layout (segment_store.h): 16-byte segment header, then per record 32 + payload + 8.
constexpr uint64_t kSegmentHeader = 16;
constexpr uint64_t kRecordOverhead = 40;

TEST(Crc32c, KnownValuesAndContinuation) {
  const char* check = "123456789";
  EXPECT_EQ(crc32c(check, 9), 0xE3069283u);
  EXPECT_EQ(crc32c(check, 4, crc32c(nullptr, 0)), crc32c("1234", 4));
  EXPECT_EQ(crc32c(check + 4, 5, crc32c(check, 4)), 0xE3069283u);
  std::vector<uint8_t> zeros(32, 0);
  EXPECT_EQ(crc32c(zeros.data(), zeros.size()), 0x8A9136AAu);  // RFC 3720 B.4
  std::vector<uint8_t> ones(32, 0xFF);
  EXPECT_EQ(crc32c(ones.data(), ones.size()), 0x62A8AB43u);
}

TEST(SegmentStore, AppendReadSyncReopen) {
  TempDir temp;
  const std::string directory = temp.file("stream");
  const std::vector<size_t> sizes = {0, 1, 7, 4096, 100000, 33};
  {
    RecoveryReport report;
    auto store = SegmentStore::open(directory, {}, &report);
    EXPECT_TRUE(report.clean());
    EXPECT_EQ(report.blocks, 0);
    for (size_t i = 0; i < sizes.size(); ++i)
      store->append(int64_t(i), segment_payload(i, sizes[i]));
    for (size_t i = 0; i < sizes.size(); ++i) {
      EXPECT_TRUE(store->contains(int64_t(i)));
      EXPECT_FALSE(store->is_durable(int64_t(i)));
      EXPECT_EQ(store->read(int64_t(i)), segment_payload(i, sizes[i]));
    }
    store->sync();
    for (size_t i = 0; i < sizes.size(); ++i) EXPECT_TRUE(store->is_durable(int64_t(i)));
    EXPECT_EQ(store->block_indexes(), (std::vector<int64_t>{0, 1, 2, 3, 4, 5}));
    EXPECT_THROW(store->read(99), BlockNotFoundError);
    const SegmentStoreCounters counters = store->counters();
    EXPECT_EQ(counters.blocks_appended, 6);
    EXPECT_EQ(counters.blocks_read, 6);
    EXPECT_EQ(counters.syncs, 2);  // the one at open (empty manifest) and this one
    uint64_t payload_total = 0;
    for (size_t size : sizes) payload_total += size;
    EXPECT_EQ(store->disk_bytes(), kSegmentHeader + payload_total + 6 * kRecordOverhead);
  }
  RecoveryReport report;
  auto store = SegmentStore::open(directory, {}, &report);
  EXPECT_TRUE(report.clean()) << report.torn_bytes;
  EXPECT_EQ(report.blocks, 6);
  EXPECT_EQ(report.blocks_past_manifest, 0);
  for (size_t i = 0; i < sizes.size(); ++i) {
    EXPECT_TRUE(store->is_durable(int64_t(i)));
    EXPECT_EQ(store->read(int64_t(i)), segment_payload(i, sizes[i]));
  }
  // Appends continue after a reopen; a re-appended index reads its latest payload, after
  // another reopen too.
  store->append(6, segment_payload(6, 10));
  store->append(2, segment_payload(200, 50));
  store->sync();
  store.reset();
  store = SegmentStore::open(directory, {}, &report);
  EXPECT_TRUE(report.clean());
  EXPECT_EQ(report.blocks, 7);
  EXPECT_EQ(store->read(2), segment_payload(200, 50));
  EXPECT_EQ(store->read(6), segment_payload(6, 10));
}

TEST(SegmentStore, RotatesSegmentsAtTheSizeLimit) {
  TempDir temp;
  const std::string directory = temp.file("stream");
  SegmentStoreOptions options;
  options.segment_bytes = 10000;
  {
    auto store = SegmentStore::open(directory, options);
    for (int64_t i = 0; i < 20; ++i) store->append(i, segment_payload(i, 3000));
    // One larger than a segment still gets one (a record never straddles segments).
    store->append(20, segment_payload(20, 25000));
    store->sync();
    EXPECT_EQ(store->counters().segments_created, 8);  // 3 records per segment, then the big one
  }
  for (int id = 1; id <= 8; ++id) EXPECT_TRUE(exists(segment_path(directory, id))) << id;
  EXPECT_LE(file_size(segment_path(directory, 1)), options.segment_bytes);
  RecoveryReport report;
  auto store = SegmentStore::open(directory, options, &report);
  EXPECT_TRUE(report.clean());
  EXPECT_EQ(report.blocks, 21);
  for (int64_t i = 0; i < 20; ++i) EXPECT_EQ(store->read(i), segment_payload(i, 3000));
  EXPECT_EQ(store->read(20), segment_payload(20, 25000));
}

TEST(SegmentStore, TornTailIsReportedAndCutOffEarlierBlocksIntact) {
  TempDir temp;
  const std::string directory = temp.file("stream");
  {
    auto store = SegmentStore::open(directory);
    for (int64_t i = 0; i < 5; ++i) store->append(i, segment_payload(i, 1000));
    store->sync();
    store->append(5, segment_payload(5, 1000));  // never synced: the write a crash tore
  }
  const std::string segment = segment_path(directory, 1);
  const uint64_t complete = kSegmentHeader + 5 * (1000 + kRecordOverhead);
  ASSERT_EQ(file_size(segment), complete + 1000 + kRecordOverhead);
  ASSERT_EQ(::truncate(segment.c_str(), static_cast<off_t>(complete + 500)), 0);

  RecoveryReport report;
  auto store = SegmentStore::open(directory, {}, &report);
  EXPECT_EQ(report.torn_bytes, 500u);
  EXPECT_EQ(report.torn_file, segment);
  EXPECT_TRUE(report.corrupt_records.empty());
  EXPECT_EQ(report.blocks, 5);
  EXPECT_FALSE(store->contains(5));
  for (int64_t i = 0; i < 5; ++i) EXPECT_EQ(store->read(i), segment_payload(i, 1000));
  EXPECT_EQ(file_size(segment), complete);  // the torn bytes are gone
  // The store goes on from there, and the next reopen is clean.
  store->append(5, segment_payload(55, 300));
  store->sync();
  store.reset();
  store = SegmentStore::open(directory, {}, &report);
  EXPECT_TRUE(report.clean());
  EXPECT_EQ(store->read(5), segment_payload(55, 300));
}

TEST(SegmentStore, TornRecordHeaderAndUnsyncedCompleteRecords) {
  TempDir temp;
  const std::string directory = temp.file("stream");
  {
    auto store = SegmentStore::open(directory);
    store->append(0, segment_payload(0, 100));
    store->sync();
    store->append(1, segment_payload(1, 100));  // complete on disk, never synced
    store->append(2, segment_payload(2, 100));  // its header will be torn
  }
  const std::string segment = segment_path(directory, 1);
  const uint64_t two = kSegmentHeader + 2 * (100 + kRecordOverhead);
  ASSERT_EQ(::truncate(segment.c_str(), static_cast<off_t>(two + 10)), 0);
  RecoveryReport report;
  auto store = SegmentStore::open(directory, {}, &report);
  EXPECT_EQ(report.torn_bytes, 10u);
  EXPECT_EQ(report.blocks, 2);
  EXPECT_EQ(report.blocks_past_manifest, 1);  // block 1: complete and verified, so kept
  EXPECT_EQ(store->read(1), segment_payload(1, 100));
  EXPECT_TRUE(store->is_durable(1));  // open made it durable
}

TEST(SegmentStore, FlippedPayloadByteIsReportedAndNeverReturned) {
  TempDir temp;
  const std::string directory = temp.file("stream");
  {
    auto store = SegmentStore::open(directory);
    for (int64_t i = 0; i < 3; ++i) store->append(i, segment_payload(i, 2000));
    store->sync();
  }
  const std::string segment = segment_path(directory, 1);
  // A byte in the middle of block 1's payload.
  flip_byte(segment, kSegmentHeader + (2000 + kRecordOverhead) + 32 + 1234);
  RecoveryReport report;
  auto store = SegmentStore::open(directory, {}, &report);
  ASSERT_EQ(report.corrupt_records.size(), 1u);
  EXPECT_NE(report.corrupt_records[0].find("block 1: payload checksum mismatch"), std::string::npos)
      << report.corrupt_records[0];
  EXPECT_NE(report.corrupt_records[0].find(segment), std::string::npos);
  EXPECT_EQ(report.torn_bytes, 0u);
  EXPECT_EQ(report.blocks, 2);
  EXPECT_FALSE(store->contains(1));
  EXPECT_THROW(store->read(1), BlockNotFoundError);
  EXPECT_EQ(store->read(0), segment_payload(0, 2000));
  EXPECT_EQ(store->read(2), segment_payload(2, 2000));
  EXPECT_EQ(store->counters().checksum_failures, 1);
}

TEST(SegmentStore, FlippedHeaderByteIsSkippedToTheNextRecord) {
  TempDir temp;
  const std::string directory = temp.file("stream");
  {
    auto store = SegmentStore::open(directory);
    for (int64_t i = 0; i < 4; ++i) store->append(i, segment_payload(i, 500));
    store->sync();
  }
  // Block 1's payload size field: the header checksum catches it; the reader finds block 2.
  flip_byte(segment_path(directory, 1), kSegmentHeader + (500 + kRecordOverhead) + 16);
  RecoveryReport report;
  auto store = SegmentStore::open(directory, {}, &report);
  ASSERT_EQ(report.corrupt_records.size(), 1u);
  EXPECT_NE(report.corrupt_records[0].find("bad record header"), std::string::npos);
  EXPECT_EQ(store->block_indexes(), (std::vector<int64_t>{0, 2, 3}));
  for (int64_t i : {0, 2, 3}) EXPECT_EQ(store->read(i), segment_payload(i, 500));
}

TEST(SegmentStore, CorruptionAfterOpenIsCaughtOnRead) {
  TempDir temp;
  const std::string directory = temp.file("stream");
  auto store = SegmentStore::open(directory);
  for (int64_t i = 0; i < 2; ++i) store->append(i, segment_payload(i, 800));
  store->sync();
  flip_byte(segment_path(directory, 1), kSegmentHeader + 32 + 17);  // block 0's payload
  try {
    store->read(0);
    FAIL() << "read returned a corrupt block";
  } catch (const CorruptBlockError& error) {
    const std::string what = error.what();
    EXPECT_NE(what.find(directory), std::string::npos) << what;
    EXPECT_NE(what.find("offset 16"), std::string::npos) << what;
    EXPECT_NE(what.find("block 0"), std::string::npos) << what;
  }
  EXPECT_FALSE(store->contains(0));
  EXPECT_EQ(store->read(1), segment_payload(1, 800));
  EXPECT_EQ(store->counters().checksum_failures, 1);
}

TEST(SegmentStore, ReadRangeReturnsPartOfAPayloadAndRefusesWhatLiesBeyond) {
  TempDir temp;
  auto store = SegmentStore::open(temp.file("stream"));
  const std::vector<uint8_t> payload = segment_payload(3, 1000);
  store->append(3, payload);
  store->append(4, segment_payload(4, 10));
  EXPECT_EQ(store->payload_size(3), 1000u);
  EXPECT_EQ(store->read_range(3, 100, 250),
            std::vector<uint8_t>(payload.begin() + 100, payload.begin() + 350));
  EXPECT_EQ(store->read_range(3, 990, 10),
            std::vector<uint8_t>(payload.begin() + 990, payload.end()));
  EXPECT_TRUE(store->read_range(3, 1000, 0).empty());
  EXPECT_THROW(store->read_range(3, 900, 101), StorageError);
  EXPECT_THROW(store->read_range(3, 1001, 0), StorageError);
  EXPECT_THROW(store->read_range(5, 0, 1), BlockNotFoundError);
  EXPECT_THROW(store->payload_size(5), BlockNotFoundError);
  EXPECT_EQ(store->counters().ranges_read, 3);
  EXPECT_EQ(store->counters().bytes_read, 250 + 10);
  EXPECT_EQ(store->counters().blocks_read, 0);
}

TEST(SegmentStore, ManifestIsReplacedAtomicallyAndDamageFallsBackToScanning) {
  TempDir temp;
  const std::string directory = temp.file("stream");
  const std::string manifest = directory + "/MANIFEST";
  SegmentStoreOptions options;
  options.segment_bytes = 4096;
  {
    auto store = SegmentStore::open(directory, options);
    for (int64_t i = 0; i < 6; ++i) {
      store->append(i, segment_payload(i, 1500));
      store->sync();
      // After every sync: a complete manifest whose durable counts are the files' sizes, and
      // no temporary left.
      EXPECT_FALSE(exists(manifest + ".tmp"));
      const std::string text = read_text(manifest);
      ASSERT_EQ(text.rfind("vigil-segment-manifest 1\n", 0), 0u) << text;
      const size_t crc_at = text.rfind("crc ");
      ASSERT_NE(crc_at, std::string::npos);
      unsigned stored = 0;
      ASSERT_EQ(std::sscanf(text.c_str() + crc_at, "crc %8x", &stored), 1);
      EXPECT_EQ(stored, crc32c(text.data(), crc_at));
      for (int id = 1; exists(segment_path(directory, id)); ++id)
        EXPECT_NE(text.find("segment " + std::to_string(id) + " " +
                            std::to_string(file_size(segment_path(directory, id))) + "\n"),
                  std::string::npos)
            << text;
    }
  }
  // A replacement that a crash interrupted before its rename: ignored and removed.
  { std::ofstream(manifest + ".tmp") << "vigil-segment-manifest 1\nsegment 1 99"; }
  RecoveryReport report;
  {
    auto store = SegmentStore::open(directory, options, &report);
    EXPECT_TRUE(report.clean());
    EXPECT_EQ(report.blocks, 6);
    EXPECT_FALSE(exists(manifest + ".tmp"));
  }
  // A damaged manifest (not something a crash makes): a warning, every segment scanned.
  flip_byte(manifest, 30);
  auto store = SegmentStore::open(directory, options, &report);
  ASSERT_EQ(report.warnings.size(), 1u);
  EXPECT_NE(report.warnings[0].find("MANIFEST"), std::string::npos);
  EXPECT_EQ(report.blocks, 6);
  for (int64_t i = 0; i < 6; ++i) EXPECT_EQ(store->read(i), segment_payload(i, 1500));
}

TEST(SegmentStore, RemoveStreamFreesItsFiles) {
  TempDir temp;
  const std::string directory = temp.file("stream");
  SegmentStoreOptions options;
  options.segment_bytes = 8192;
  auto store = SegmentStore::open(directory, options);
  for (int64_t i = 0; i < 10; ++i) store->append(i, segment_payload(i, 3000));
  store->sync();
  ASSERT_TRUE(exists(segment_path(directory, 3)));
  store->remove_stream();
  EXPECT_FALSE(exists(directory));
  EXPECT_FALSE(store->contains(0));
  EXPECT_EQ(store->disk_bytes(), 0u);
  EXPECT_THROW(store->append(11, segment_payload(11, 10)), StorageError);
  EXPECT_THROW(store->read(0), BlockNotFoundError);
  store->remove_stream();  // idempotent
}

struct Child {
  pid_t pid = -1;
  int output = -1;  // read end of the child's stdout
};

Child start_writer(const std::vector<std::string>& arguments) {
  int pipe_fds[2];
  EXPECT_EQ(::pipe(pipe_fds), 0);
  std::vector<char*> argv;
  std::string program = VIGIL_SEGMENT_WRITER;
  argv.push_back(program.data());
  std::vector<std::string> copies = arguments;
  for (std::string& argument : copies) argv.push_back(argument.data());
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    // Only async-signal-safe calls between fork and exec.
    ::dup2(pipe_fds[1], STDOUT_FILENO);
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(pipe_fds[1]);
  return {pid, pipe_fds[0]};
}

// Reads one '\n'-terminated line; false at end of file.
bool read_line(int fd, std::string& line) {
  line.clear();
  char c;
  while (true) {
    const ssize_t n = ::read(fd, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    if (c == '\n') return true;
    line.push_back(c);
  }
}

TEST(SegmentStoreCrash, SigkillDuringWritesLosesNoDurableBlock) {
  TempDir temp;
  const std::string directory = temp.file("stream");
  constexpr size_t kPayload = 20000;
  // Blocks keep coming until the kill; rotation every few records.
  Child child = start_writer({directory, "1000000", std::to_string(kPayload), "3", "100000"});
  ASSERT_GT(child.pid, 0);
  int64_t durable = -1;
  std::string line;
  while (durable < 200 && read_line(child.output, line)) {
    ASSERT_EQ(line.rfind("durable ", 0), 0u) << line;
    durable = std::stoll(line.substr(8));
  }
  ASSERT_EQ(::kill(child.pid, SIGKILL), 0);
  // Lines written before the kill landed are promises too.
  while (read_line(child.output, line))
    if (line.rfind("durable ", 0) == 0) durable = std::stoll(line.substr(8));
  ::close(child.output);
  int status = 0;
  ASSERT_EQ(::waitpid(child.pid, &status, 0), child.pid);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;
  ASSERT_GE(durable, 200);

  RecoveryReport report;
  auto store = SegmentStore::open(directory, {}, &report);
  EXPECT_TRUE(report.corrupt_records.empty()) << report.corrupt_records.front();
  EXPECT_TRUE(report.warnings.empty());
  EXPECT_GE(report.blocks, durable + 1);
  for (int64_t i = 0; i <= durable; ++i) {
    ASSERT_TRUE(store->contains(i)) << "durable block " << i << " lost";
    ASSERT_EQ(store->read(i), segment_payload(i, kPayload)) << i;
  }
  // Whatever else survived is complete and verified too.
  for (int64_t i : store->block_indexes()) EXPECT_EQ(store->read(i), segment_payload(i, kPayload));
  // And the store accepts appends again.
  store->append(1000000, segment_payload(7, 10));
  store->sync();
}

TEST(SegmentStoreFull, FileSizeLimitGivesStorageFullErrorNotACrash) {
  TempDir temp;
  const std::string directory = temp.file("stream");
  constexpr size_t kPayload = 100000;
  // RLIMIT_FSIZE of 1 MB in the child: the tenth record no longer fits its segment file.
  Child child = start_writer({directory, "50", std::to_string(kPayload), "1",
                              std::to_string(64 << 20), std::to_string(1000000)});
  std::vector<std::string> lines;
  std::string line;
  while (read_line(child.output, line)) lines.push_back(line);
  ::close(child.output);
  int status = 0;
  ASSERT_EQ(::waitpid(child.pid, &status, 0), child.pid);
  ASSERT_TRUE(WIFEXITED(status)) << "the writer died: " << status;
  EXPECT_EQ(WEXITSTATUS(status), 3);
  ASSERT_GE(lines.size(), 2u);
  const std::string full = lines[lines.size() - 2];
  ASSERT_EQ(full.rfind("full 9 ", 0), 0u) << full;  // (16 + 9 * 100040) <= 1e6 < ... + 100040
  EXPECT_NE(full.find("File too large"), std::string::npos) << full;
  EXPECT_NE(full.find(directory), std::string::npos) << full;
  EXPECT_EQ(lines.back(), "readable 9");
  // After the limit is gone, the store reopens clean: the partial record was cut off.
  RecoveryReport report;
  auto store = SegmentStore::open(directory, {}, &report);
  EXPECT_TRUE(report.clean()) << report.torn_bytes;
  EXPECT_EQ(report.blocks, 9);
  for (int64_t i = 0; i < 9; ++i) EXPECT_EQ(store->read(i), segment_payload(i, kPayload));
}

}  // namespace
}  // namespace vigil::memory

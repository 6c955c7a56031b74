#include "memory/segment_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <sstream>

#include "memory/crc32c.h"

namespace vigil::memory {
namespace {

constexpr char kSegmentMagic[8] = {'V', 'I', 'G', 'I', 'L', 'S', 'E', 'G'};
constexpr uint32_t kSegmentVersion = 1;
constexpr uint64_t kSegmentHeaderBytes = 16;
constexpr uint32_t kRecordMagic = 0x52534756u;     // "VGSR" little-endian
constexpr uint32_t kRecordEndMagic = 0x444E4556u;  // "VEND"
constexpr uint32_t kRecordVersion = 1;
constexpr uint64_t kRecordHeaderBytes = 32;
constexpr uint64_t kRecordTrailerBytes = 8;
constexpr const char* kManifestName = "MANIFEST";
constexpr const char* kManifestTempName = "MANIFEST.tmp";
constexpr const char* kManifestFirstLine = "vigil-segment-manifest 1";

// Fixed-layout little-endian record header (x86-64 and aarch64 are little-endian).
struct RecordHeader {
  uint32_t magic;
  uint32_t version;
  int64_t block_index;
  uint64_t payload_size;
  uint32_t flags;
  uint32_t header_crc;  // CRC32C of the 28 bytes before it
};
static_assert(sizeof(RecordHeader) == kRecordHeaderBytes, "record header layout");

struct RecordTrailer {
  uint32_t payload_crc;
  uint32_t end_magic;
};
static_assert(sizeof(RecordTrailer) == kRecordTrailerBytes, "record trailer layout");

uint32_t header_crc(const RecordHeader& header) {
  return crc32c(&header, offsetof(RecordHeader, header_crc));
}

bool header_valid(const RecordHeader& header) {
  return header.magic == kRecordMagic && header.version == kRecordVersion &&
         header.header_crc == header_crc(header) && header.block_index >= 0;
}

bool is_full_error(int error_number) {
  return error_number == ENOSPC || error_number == EFBIG || error_number == EDQUOT;
}

[[noreturn]] void throw_io(const std::string& what, int error_number) {
  std::string message = what + ": " + error_text(error_number);
  if (is_full_error(error_number)) throw StorageFullError(message, error_number);
  throw StorageError(message, error_number);
}

std::string segment_name(uint32_t id) {
  char name[32];
  std::snprintf(name, sizeof name, "segment-%06u.vseg", id);
  return name;
}

// The id of a segment file name, or 0 when `name` is not one (ids start at 1).
uint32_t segment_id_of(const std::string& name) {
  unsigned id = 0;
  char tail[8] = {};
  if (name.size() != std::strlen("segment-000000.vseg") ||
      std::sscanf(name.c_str(), "segment-%6u.%4s", &id, tail) != 2 ||
      std::strcmp(tail, "vseg") != 0)
    return 0;
  return id;
}

void ignore_sigxfsz_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    // A file-size limit must surface as EFBIG from write(), not kill the process. Only the
    // default disposition is replaced: a handler the program installed is left alone.
    struct sigaction current {};
    if (::sigaction(SIGXFSZ, nullptr, &current) == 0 && current.sa_handler == SIG_DFL) {
      struct sigaction ignore {};
      ignore.sa_handler = SIG_IGN;
      sigemptyset(&ignore.sa_mask);
      ::sigaction(SIGXFSZ, &ignore, nullptr);
    }
  });
}

struct ManifestEntry {
  uint32_t id;
  uint64_t durable_bytes;
};

}  // namespace

SegmentStore::SegmentStore(std::string directory, SegmentStoreOptions options)
    : directory_(std::move(directory)), options_(options) {}

SegmentStore::~SegmentStore() = default;

std::string SegmentStore::where(const Segment& segment, uint64_t offset) const {
  return "segment store " + directory_ + ": " + segment.path + " offset " + std::to_string(offset);
}

std::unique_ptr<SegmentStore> SegmentStore::open(const std::string& directory,
                                                 const SegmentStoreOptions& options,
                                                 RecoveryReport* report) {
  if (options.ignore_sigxfsz) ignore_sigxfsz_once();
  if (options.segment_bytes < kSegmentHeaderBytes + kRecordHeaderBytes + kRecordTrailerBytes)
    throw StorageError("segment store " + directory + ": segment_bytes too small", 0);
  if (::mkdir(directory.c_str(), 0755) != 0 && errno != EEXIST)
    throw_io("segment store " + directory + ": cannot create the directory", errno);
  std::unique_ptr<SegmentStore> store(new SegmentStore(directory, options));
  store->directory_handle_ = open_file(directory, O_RDONLY | O_DIRECTORY);
  if (!store->directory_handle_.valid())
    throw_io("segment store " + directory + ": cannot open the directory", errno);
  RecoveryReport local;
  std::lock_guard<std::mutex> lock(store->mutex_);
  store->recover(report ? *report : local);
  return store;
}

void SegmentStore::recover(RecoveryReport& report) {
  report = RecoveryReport{};
  ::unlink((directory_ + "/" + kManifestTempName).c_str());  // a replacement that never landed

  // The manifest: which segments exist and how much of each was made durable.
  std::map<uint32_t, uint64_t> durable;
  const std::string manifest_path = directory_ + "/" + kManifestName;
  FileHandle manifest = open_file(manifest_path, O_RDONLY);
  if (manifest.valid()) {
    std::string text;
    char buffer[4096];
    int64_t n;
    while ((n = read_at(manifest.get(), buffer, sizeof buffer, text.size())) > 0)
      text.append(buffer, static_cast<size_t>(n));
    if (n < 0) throw_io("segment store " + directory_ + ": cannot read " + manifest_path, -n);
    const size_t crc_line = text.rfind("crc ");
    bool ok = text.rfind(kManifestFirstLine, 0) == 0 && crc_line != std::string::npos;
    if (ok) {
      const uint32_t expected = crc32c(text.data(), crc_line);
      unsigned stored = 0;
      ok = std::sscanf(text.c_str() + crc_line, "crc %8x", &stored) == 1 && stored == expected;
    }
    if (!ok) {
      // rename() replaces the manifest atomically, so this is damage, not a crash: scan every
      // segment file instead, as if none of it had been made durable.
      report.warnings.push_back(manifest_path +
                                ": malformed or checksum mismatch; scanning all segments");
    } else {
      std::istringstream lines(text.substr(0, crc_line));
      std::string line;
      std::getline(lines, line);
      while (std::getline(lines, line)) {
        unsigned id = 0;
        unsigned long long bytes = 0;
        if (std::sscanf(line.c_str(), "segment %u %llu", &id, &bytes) == 2) durable[id] = bytes;
      }
    }
  }

  // Segments on disk (a segment created after the last sync is not in the manifest yet).
  std::vector<uint32_t> ids;
  if (DIR* dir = ::opendir(directory_.c_str())) {
    while (dirent* entry = ::readdir(dir))
      if (uint32_t id = segment_id_of(entry->d_name)) ids.push_back(id);
    ::closedir(dir);
  } else {
    throw_io("segment store " + directory_ + ": cannot list the directory", errno);
  }
  std::sort(ids.begin(), ids.end());
  for (const auto& [id, bytes] : durable)
    if (!std::binary_search(ids.begin(), ids.end(), id) && bytes > 0)
      report.warnings.push_back(directory_ + "/" + segment_name(id) + ": listed with " +
                                std::to_string(bytes) + " durable bytes but missing");

  for (size_t i = 0; i < ids.size(); ++i) {
    Segment segment;
    segment.id = ids[i];
    segment.path = directory_ + "/" + segment_name(ids[i]);
    auto found = durable.find(ids[i]);
    segment.durable_size = found == durable.end() ? 0 : found->second;
    FileHandle file = open_file(segment.path, O_RDWR);
    if (!file.valid())
      throw_io("segment store " + directory_ + ": cannot open " + segment.path, errno);
    segment.file = std::make_shared<FileHandle>(std::move(file));
    Segment& stored = segments_.emplace(segment.id, std::move(segment)).first->second;
    scan_segment(stored, report);
  }
  report.blocks = static_cast<int64_t>(index_.size());
  for (const auto& [block_index, location] : index_)
    if (!location.durable) ++report.blocks_past_manifest;

  // Whatever was found complete and verified is made durable now, and the manifest made to
  // match the files (torn tails cut off, new segments listed, missing ones dropped).
  sync_locked(/*force_manifest=*/true);
}

void SegmentStore::scan_segment(Segment& segment, RecoveryReport& report) {
  const int fd = segment.file->get();
  struct stat info {};
  if (::fstat(fd, &info) != 0) throw_io(where(segment, 0) + ": fstat", errno);
  const uint64_t file_size = static_cast<uint64_t>(info.st_size);
  if (file_size < segment.durable_size)
    report.warnings.push_back(segment.path + ": " + std::to_string(file_size) +
                              " bytes, shorter than its " + std::to_string(segment.durable_size) +
                              " durable bytes");

  // File header: a segment created but never written to may lack it (crash right after
  // creation); it is then rewritten.
  char magic[kSegmentHeaderBytes] = {};
  const int64_t got = read_at(fd, magic, sizeof magic, 0);
  if (got < 0) throw_io(where(segment, 0) + ": read", static_cast<int>(-got));
  if (got < static_cast<int64_t>(kSegmentHeaderBytes) ||
      std::memcmp(magic, kSegmentMagic, sizeof kSegmentMagic) != 0) {
    if (file_size > kSegmentHeaderBytes && segment.durable_size > 0)
      report.corrupt_records.push_back(segment.path + " offset 0: bad segment header");
    else if (file_size > 0) {
      report.torn_bytes += file_size;
      report.torn_file = segment.path;
    }
    char header[kSegmentHeaderBytes] = {};
    std::memcpy(header, kSegmentMagic, sizeof kSegmentMagic);
    std::memcpy(header + 8, &kSegmentVersion, 4);
    std::memcpy(header + 12, &segment.id, 4);
    if (::ftruncate(fd, 0) != 0) throw_io(where(segment, 0) + ": ftruncate", errno);
    if (int error = write_all_at(fd, header, sizeof header, 0))
      throw_io(where(segment, 0) + ": write segment header", error);
    segment.size = kSegmentHeaderBytes;
    segment.durable_size = 0;
    return;
  }

  uint64_t offset = kSegmentHeaderBytes;
  std::vector<uint8_t> payload;
  // The next offset after `from` where a valid record header starts, or file_size.
  auto resync = [&](uint64_t from) {
    for (uint64_t at = from; at + kRecordHeaderBytes <= file_size; ++at) {
      RecordHeader header{};
      if (read_at(fd, &header, sizeof header, at) == static_cast<int64_t>(sizeof header) &&
          header_valid(header))
        return at;
    }
    return file_size;
  };

  while (offset < file_size) {
    RecordHeader header{};
    const int64_t n = read_at(fd, &header, sizeof header, offset);
    if (n < 0) throw_io(where(segment, offset) + ": read", static_cast<int>(-n));
    const uint64_t remaining = file_size - offset;
    bool complete = false;
    bool valid = false;
    uint64_t record_end = file_size;
    if (n == static_cast<int64_t>(sizeof header) && header_valid(header)) {
      const uint64_t record_bytes = kRecordHeaderBytes + header.payload_size + kRecordTrailerBytes;
      if (header.payload_size <= remaining && record_bytes <= remaining) {
        complete = true;
        record_end = offset + record_bytes;
        payload.resize(header.payload_size + kRecordTrailerBytes);
        const int64_t p = read_at(fd, payload.data(), payload.size(), offset + kRecordHeaderBytes);
        if (p < 0) throw_io(where(segment, offset) + ": read", static_cast<int>(-p));
        RecordTrailer trailer{};
        std::memcpy(&trailer, payload.data() + header.payload_size, sizeof trailer);
        valid = static_cast<uint64_t>(p) == payload.size() &&
                trailer.end_magic == kRecordEndMagic &&
                trailer.payload_crc == crc32c(payload.data(), header.payload_size);
      }
    }
    if (valid) {
      Location& location = index_[header.block_index];
      location.segment_id = segment.id;
      location.offset = offset;
      location.payload_size = header.payload_size;
      location.durable = record_end <= segment.durable_size;
      offset = record_end;
      continue;
    }
    // A bad record. When nothing valid follows it and it lies past the durable bytes, it is
    // a write that a crash interrupted: a torn tail, cut off. Otherwise it is damage: reported,
    // skipped (by its length when its header is sound, else to the next valid header).
    const uint64_t next = complete ? resync(record_end) : resync(offset + 1);
    const bool torn = next >= file_size && offset >= segment.durable_size;
    if (torn) {
      report.torn_bytes += file_size - offset;
      report.torn_file = segment.path;
      if (::ftruncate(fd, static_cast<off_t>(offset)) != 0)
        throw_io(where(segment, offset) + ": cut off the torn tail", errno);
      break;
    }
    ++counters_.checksum_failures;
    std::string line = segment.path + " offset " + std::to_string(offset) + ": ";
    if (complete)
      line += "block " + std::to_string(header.block_index) + ": payload checksum mismatch";
    else
      line += "bad record header (" + std::to_string(next - offset) + " bytes skipped)";
    report.corrupt_records.push_back(line);
    offset = complete ? record_end : next;
  }
  segment.size = std::min(offset, file_size);
  segment.durable_size = std::min(segment.durable_size, segment.size);
}

SegmentStore::Segment& SegmentStore::start_segment_locked() {
  const uint32_t id = segments_.empty() ? 1 : segments_.rbegin()->first + 1;
  Segment segment;
  segment.id = id;
  segment.path = directory_ + "/" + segment_name(id);
  FileHandle file = open_file(segment.path, O_RDWR | O_CREAT | O_EXCL);
  if (!file.valid())
    throw_io("segment store " + directory_ + ": cannot create " + segment.path, errno);
  char header[kSegmentHeaderBytes] = {};
  std::memcpy(header, kSegmentMagic, sizeof kSegmentMagic);
  std::memcpy(header + 8, &kSegmentVersion, 4);
  std::memcpy(header + 12, &id, 4);
  if (int error = write_all_at(file.get(), header, sizeof header, 0)) {
    ::unlink(segment.path.c_str());
    throw_io(where(segment, 0) + ": write segment header", error);
  }
  segment.file = std::make_shared<FileHandle>(std::move(file));
  segment.size = kSegmentHeaderBytes;
  ++counters_.segments_created;
  return segments_.emplace(id, std::move(segment)).first->second;
}

void SegmentStore::append(int64_t block_index, const uint8_t* payload, size_t size) {
  assert(block_index >= 0);
  std::lock_guard<std::mutex> lock(mutex_);
  if (removed_) throw StorageError("segment store " + directory_ + ": stream removed", 0);
  const uint64_t record_bytes = kRecordHeaderBytes + size + kRecordTrailerBytes;
  if (segments_.empty() ||
      (segments_.rbegin()->second.size > kSegmentHeaderBytes &&
       segments_.rbegin()->second.size + record_bytes > options_.segment_bytes))
    start_segment_locked();
  Segment& segment = segments_.rbegin()->second;
  const uint64_t offset = segment.size;

  RecordHeader header{};
  header.magic = kRecordMagic;
  header.version = kRecordVersion;
  header.block_index = block_index;
  header.payload_size = size;
  header.header_crc = header_crc(header);
  const RecordTrailer trailer{crc32c(payload, size), kRecordEndMagic};
  const int fd = segment.file->get();
  int error = write_all_at(fd, &header, sizeof header, offset);
  if (!error) error = write_all_at(fd, payload, size, offset + kRecordHeaderBytes);
  if (!error)
    error = write_all_at(fd, &trailer, sizeof trailer, offset + kRecordHeaderBytes + size);
  if (error) {
    if (is_full_error(error)) ++counters_.storage_full_errors;
    // Cut the partial record off so the segment stays a sequence of whole records. If even
    // that fails, the next append starts a new segment; recovery treats the rest as torn.
    if (::ftruncate(fd, static_cast<off_t>(offset)) != 0) segment.size = options_.segment_bytes;
    throw_io(where(segment, offset) + ": append block " + std::to_string(block_index) + " (" +
                 std::to_string(size) + " bytes)",
             error);
  }
  segment.size = offset + record_bytes;
  Location& location = index_[block_index];
  location.segment_id = segment.id;
  location.offset = offset;
  location.payload_size = size;
  location.durable = false;
  ++counters_.blocks_appended;
  counters_.bytes_appended += static_cast<int64_t>(size);
}

void SegmentStore::sync() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (removed_) throw StorageError("segment store " + directory_ + ": stream removed", 0);
  sync_locked();
}

void SegmentStore::sync_locked(bool force_manifest) {
  bool changed = force_manifest;
  for (auto& [id, segment] : segments_) {
    if (segment.size == segment.durable_size) continue;
    changed = true;
    if (::fdatasync(segment.file->get()) != 0)
      throw_io(where(segment, segment.size) + ": fdatasync", errno);
  }
  if (!changed) return;
  write_manifest_locked();
  for (auto& [id, segment] : segments_) segment.durable_size = segment.size;
  for (auto& [block_index, location] : index_) location.durable = true;
  ++counters_.syncs;
}

void SegmentStore::write_manifest_locked() {
  std::string text = std::string(kManifestFirstLine) + "\n";
  for (const auto& [id, segment] : segments_)
    text += "segment " + std::to_string(id) + " " + std::to_string(segment.size) + "\n";
  char crc_line[32];
  std::snprintf(crc_line, sizeof crc_line, "crc %08x\n", crc32c(text.data(), text.size()));
  text += crc_line;

  const std::string temp_path = directory_ + "/" + kManifestTempName;
  const std::string path = directory_ + "/" + kManifestName;
  const std::string context = "segment store " + directory_ + ": manifest " + temp_path;
  {
    FileHandle file = open_file(temp_path, O_WRONLY | O_CREAT | O_TRUNC);
    if (!file.valid()) throw_io(context + ": create", errno);
    if (int error = write_all_at(file.get(), text.data(), text.size(), 0)) {
      ::unlink(temp_path.c_str());
      throw_io(context + ": write", error);
    }
    if (::fdatasync(file.get()) != 0) {
      const int error = errno;
      ::unlink(temp_path.c_str());
      throw_io(context + ": fdatasync", error);
    }
  }
  if (::rename(temp_path.c_str(), path.c_str()) != 0) throw_io(context + ": rename", errno);
  // The rename, and any segment file created since the last sync, are durable only once the
  // directory is.
  if (::fsync(directory_handle_.get()) != 0)
    throw_io("segment store " + directory_ + ": fsync of the directory", errno);
}

SegmentStore::Found SegmentStore::find(int64_t block_index) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = index_.find(block_index);
  if (found == index_.end())
    throw BlockNotFoundError("segment store " + directory_ + ": no block " +
                             std::to_string(block_index));
  const Segment& segment = segments_.at(found->second.segment_id);
  return {found->second, segment.file, segment.path};
}

std::vector<uint8_t> SegmentStore::read(int64_t block_index) const {
  const Found record = find(block_index);
  const Location& location = record.location;
  const std::string& path = record.path;
  const std::shared_ptr<FileHandle>& file = record.file;
  const std::string context = "segment store " + directory_ + ": " + path + " offset " +
                              std::to_string(location.offset) + ": block " +
                              std::to_string(block_index);
  auto corrupt = [&](const std::string& why) {
    std::lock_guard<std::mutex> lock(mutex_);
    ++counters_.checksum_failures;
    auto found = index_.find(block_index);
    if (found != index_.end() && found->second.segment_id == location.segment_id &&
        found->second.offset == location.offset)
      index_.erase(found);
    return CorruptBlockError(context + ": " + why);
  };

  RecordHeader header{};
  int64_t n = read_at(file->get(), &header, sizeof header, location.offset);
  if (n < 0) throw_io(context + ": read", static_cast<int>(-n));
  if (n != static_cast<int64_t>(sizeof header) || !header_valid(header) ||
      header.block_index != block_index || header.payload_size != location.payload_size)
    throw corrupt("record header checksum mismatch");
  std::vector<uint8_t> payload(location.payload_size + kRecordTrailerBytes);
  n = read_at(file->get(), payload.data(), payload.size(), location.offset + kRecordHeaderBytes);
  if (n < 0) throw_io(context + ": read", static_cast<int>(-n));
  if (n != static_cast<int64_t>(payload.size())) throw corrupt("record cut short");
  RecordTrailer trailer{};
  std::memcpy(&trailer, payload.data() + location.payload_size, sizeof trailer);
  if (trailer.end_magic != kRecordEndMagic ||
      trailer.payload_crc != crc32c(payload.data(), location.payload_size))
    throw corrupt("payload checksum mismatch");
  payload.resize(location.payload_size);
  std::lock_guard<std::mutex> lock(mutex_);
  ++counters_.blocks_read;
  counters_.bytes_read += static_cast<int64_t>(location.payload_size);
  return payload;
}

std::vector<uint8_t> SegmentStore::read_range(int64_t block_index, uint64_t offset,
                                              uint64_t size) const {
  const Found record = find(block_index);
  const Location& location = record.location;
  const std::string& path = record.path;
  const std::shared_ptr<FileHandle>& file = record.file;
  const std::string context = "segment store " + directory_ + ": " + path + " offset " +
                              std::to_string(location.offset) + ": block " +
                              std::to_string(block_index) + " bytes [" + std::to_string(offset) +
                              ", +" + std::to_string(size) + ")";
  if (offset > location.payload_size || size > location.payload_size - offset)
    throw StorageError(
        context + ": beyond the payload of " + std::to_string(location.payload_size) + " bytes", 0);
  std::vector<uint8_t> bytes(size);
  const int64_t n = read_at(file->get(), bytes.data(), bytes.size(),
                            location.offset + kRecordHeaderBytes + offset);
  if (n < 0) throw_io(context + ": read", static_cast<int>(-n));
  if (n != static_cast<int64_t>(size)) throw CorruptBlockError(context + ": record cut short");
  std::lock_guard<std::mutex> lock(mutex_);
  ++counters_.ranges_read;
  counters_.bytes_read += static_cast<int64_t>(size);
  return bytes;
}

uint64_t SegmentStore::payload_size(int64_t block_index) const {
  return find(block_index).location.payload_size;
}

bool SegmentStore::contains(int64_t block_index) const {
  std::lock_guard<std::mutex> lock(mutex_);
  return index_.count(block_index) != 0;
}

bool SegmentStore::is_durable(int64_t block_index) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = index_.find(block_index);
  return found != index_.end() && found->second.durable;
}

std::vector<int64_t> SegmentStore::block_indexes() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<int64_t> indexes;
  indexes.reserve(index_.size());
  for (const auto& entry : index_) indexes.push_back(entry.first);
  return indexes;
}

int64_t SegmentStore::block_count() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return static_cast<int64_t>(index_.size());
}

uint64_t SegmentStore::disk_bytes() const {
  std::lock_guard<std::mutex> lock(mutex_);
  uint64_t bytes = 0;
  for (const auto& entry : segments_) bytes += entry.second.size;
  return bytes;
}

SegmentStoreCounters SegmentStore::counters() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return counters_;
}

void SegmentStore::remove_stream() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (removed_) return;
  std::vector<std::string> paths;
  for (auto& [id, segment] : segments_) paths.push_back(segment.path);
  segments_.clear();  // closes our descriptors (a concurrent read keeps its own until done)
  index_.clear();
  removed_ = true;
  paths.push_back(directory_ + "/" + kManifestName);
  paths.push_back(directory_ + "/" + kManifestTempName);
  for (const std::string& path : paths)
    if (::unlink(path.c_str()) != 0 && errno != ENOENT)
      throw_io("segment store " + directory_ + ": remove " + path, errno);
  directory_handle_.reset();
  if (::rmdir(directory_.c_str()) != 0)
    throw_io("segment store " + directory_ + ": remove the directory", errno);
}

}  // namespace vigil::memory

// One stream's blocks on disk: a directory of append-only segment files plus a MANIFEST.
// Deals in bytes (a block's encoding, memory/block_codec.h), knows nothing of tensors.
//
// Record  = header (32 B: magic, block index, payload size, header CRC32C) + payload +
//           trailer (payload CRC32C, end magic). Records never straddle segments.
// Segment = "segment-NNNNNN.vseg": a 16-byte file header, then records. A new segment is
//           started when the next record would take the current one past `segment_bytes`.
// MANIFEST lists the segments and, per segment, how many bytes were made durable; it is
//           replaced atomically (write MANIFEST.tmp, fsync, rename, fsync the directory).
//
// Durability: append() returns once the record is written to the file (page cache);
// sync() fdatasyncs and then rewrites the manifest, and only then reports the blocks durable.
// A block reported durable survives a crash (SIGKILL, power loss on a sane file system).
//
// Thread safety: every method may be called from any thread (one internal mutex; reads copy
// from disk with pread outside it).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "memory/file_handle.h"

namespace vigil::memory {

// A failed file operation: says which stream directory, which file, at which offset, and
// the system's error text.
class StorageError : public std::runtime_error {
 public:
  StorageError(const std::string& what, int error_number)
      : std::runtime_error(what), error_number_(error_number) {}
  int error_number() const { return error_number_; }  // errno, 0 when not a system error

 private:
  int error_number_;
};

// The disk (or the file-size limit, or the quota) is full: ENOSPC, EFBIG, EDQUOT. The record
// being appended is not stored and any partial bytes are cut off again; earlier blocks stay
// readable, and later appends may succeed once space is freed. The tier manager keeps the
// block in RAM and warns.
class StorageFullError : public StorageError {
 public:
  using StorageError::StorageError;
};

// A record whose checksum does not match (on open or on read): its bytes are never returned.
class CorruptBlockError : public StorageError {
 public:
  CorruptBlockError(const std::string& what) : StorageError(what, 0) {}
};

// read() of a block index the store does not hold (never appended, corrupt, or removed).
class BlockNotFoundError : public StorageError {
 public:
  BlockNotFoundError(const std::string& what) : StorageError(what, 0) {}
};

struct SegmentStoreOptions {
  uint64_t segment_bytes = 256ull << 20;  // rotate when a segment would grow past this
  // Called when open() must ignore SIGXFSZ (so a file-size limit gives EFBIG, not death).
  bool ignore_sigxfsz = true;
};

// What open() found.
struct RecoveryReport {
  int64_t blocks = 0;                // complete, checksummed records now readable
  int64_t blocks_past_manifest = 0;  // of those, found past the durable counts (also kept)
  uint64_t torn_bytes = 0;           // bytes of an incomplete last record cut off (torn tail)
  std::string torn_file;             // the segment that had the torn tail ("" when none)
  // One line per corrupt record ("<file> offset <n>: block <i>: payload checksum mismatch"):
  // such records are skipped, never returned.
  std::vector<std::string> corrupt_records;
  std::vector<std::string> warnings;  // e.g. a segment shorter than its durable count
  bool clean() const { return torn_bytes == 0 && corrupt_records.empty() && warnings.empty(); }
};

struct SegmentStoreCounters {
  int64_t blocks_appended = 0;
  int64_t bytes_appended = 0;  // payload bytes
  int64_t syncs = 0;
  int64_t blocks_read = 0;  // whole records (read)
  int64_t ranges_read = 0;  // parts of records (read_range)
  int64_t bytes_read = 0;
  int64_t checksum_failures = 0;  // on open and on read
  int64_t storage_full_errors = 0;
  int64_t segments_created = 0;
};

class SegmentStore {
 public:
  // Opens the stream stored in `directory`, creating it (and no parents) when absent; scans
  // every segment the manifest lists, verifying each record's checksums; cuts off a torn
  // tail; fills *report when given. Throws StorageError when the directory or a file cannot be
  // opened or the manifest is unreadable.
  static std::unique_ptr<SegmentStore> open(const std::string& directory,
                                            const SegmentStoreOptions& options = {},
                                            RecoveryReport* report = nullptr);
  ~SegmentStore();
  SegmentStore(const SegmentStore&) = delete;
  SegmentStore& operator=(const SegmentStore&) = delete;

  const std::string& directory() const { return directory_; }

  // Writes one record for block_index (>= 0) holding payload[0, size); returns once the bytes
  // are in the file (not yet durable). A later append of the same index replaces it (the old
  // record's bytes stay on disk until remove_stream). Throws StorageFullError (nothing stored,
  // store still usable) or StorageError.
  void append(int64_t block_index, const uint8_t* payload, size_t size);
  void append(int64_t block_index, const std::vector<uint8_t>& payload) {
    append(block_index, payload.data(), payload.size());
  }
  // Makes every record appended so far durable (fdatasync, then the manifest), and only then
  // reports them durable. Throws StorageError (StorageFullError when the manifest cannot be
  // written for lack of space); nothing new counts as durable then.
  void sync();

  // The payload of the latest record of block_index. Verifies both checksums. Throws
  // BlockNotFoundError, CorruptBlockError (the block is dropped from the index), StorageError.
  std::vector<uint8_t> read(int64_t block_index) const;
  // Bytes [offset, offset + size) of that payload, read alone: no checksum covers them, so the
  // caller checks them with its own (layered_record.h). Throws BlockNotFoundError, StorageError
  // (also for a range beyond the payload), CorruptBlockError when the file is cut short.
  std::vector<uint8_t> read_range(int64_t block_index, uint64_t offset, uint64_t size) const;
  // The payload size of block_index's record. Throws BlockNotFoundError.
  uint64_t payload_size(int64_t block_index) const;

  bool contains(int64_t block_index) const;
  bool is_durable(int64_t block_index) const;  // appended and covered by a completed sync()
  std::vector<int64_t> block_indexes() const;  // ascending
  int64_t block_count() const;
  uint64_t disk_bytes() const;  // bytes of all segment files (what the disk tier's budget counts)
  SegmentStoreCounters counters() const;

  // Closes every file and deletes the directory with its segments and manifest. The store
  // holds nothing afterwards (contains() is false, append() throws StorageError). Throws
  // StorageError when a file cannot be removed.
  void remove_stream();

 private:
  struct Segment {
    uint32_t id = 0;
    std::string path;
    std::shared_ptr<FileHandle> file;  // read + append
    uint64_t size = 0;                 // bytes written (valid records end here)
    uint64_t durable_size = 0;         // bytes covered by the manifest
  };
  struct Location {
    uint32_t segment_id = 0;
    uint64_t offset = 0;  // of the record header
    uint64_t payload_size = 0;
    bool durable = false;
  };
  // Where block_index's latest record is, with its file (kept open while a read uses it).
  struct Found {
    Location location;
    std::shared_ptr<FileHandle> file;
    std::string path;
  };

  SegmentStore(std::string directory, SegmentStoreOptions options);
  // Throws BlockNotFoundError.
  Found find(int64_t block_index) const;
  void recover(RecoveryReport& report);
  void scan_segment(Segment& segment, RecoveryReport& report);
  Segment& start_segment_locked();
  void write_manifest_locked();
  void sync_locked(bool force_manifest = false);
  std::string where(const Segment& segment, uint64_t offset) const;

  std::string directory_;
  SegmentStoreOptions options_;
  mutable std::mutex mutex_;
  FileHandle directory_handle_;
  std::map<uint32_t, Segment> segments_;  // by id; the last is the one appended to
  mutable std::map<int64_t, Location> index_;
  mutable SegmentStoreCounters counters_;
  bool removed_ = false;
};

}  // namespace vigil::memory

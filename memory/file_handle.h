// An owned POSIX file descriptor (closed on destruction) and the few whole-call helpers the
// segment store needs: writes that finish or fail with errno, reads at an offset, directory
// fsync. No torch.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace vigil::memory {

class FileHandle {
 public:
  FileHandle() = default;
  explicit FileHandle(int fd) : fd_(fd) {}
  ~FileHandle() { reset(); }
  FileHandle(FileHandle&& other) noexcept : fd_(other.release()) {}
  FileHandle& operator=(FileHandle&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  FileHandle(const FileHandle&) = delete;
  FileHandle& operator=(const FileHandle&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

// open(2) with O_CLOEXEC; returns an invalid handle and leaves errno set on failure.
FileHandle open_file(const std::string& path, int flags, mode_t mode = 0644);

// Writes all `size` bytes at `offset` (pwrite, retrying short writes and EINTR). Returns 0,
// or the errno of the failing call (bytes before it may have been written).
int write_all_at(int fd, const void* data, size_t size, uint64_t offset);
// Reads up to `size` bytes at `offset` (pread, retrying EINTR and short reads until EOF).
// Returns the bytes read (< size at end of file), or -errno.
int64_t read_at(int fd, void* data, size_t size, uint64_t offset);

// "strerror(errno)" in a thread-safe form.
std::string error_text(int error_number);

}  // namespace vigil::memory

#include "tests/decoder/ffmpeg_cli.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <sstream>
#include <stdexcept>

extern "C" {
#include <libavutil/avutil.h>
}

#include "tests/support/test_support.h"

#ifndef VIGIL_DECODER_TEST_CACHE
#error "VIGIL_DECODER_TEST_CACHE must name the cache folder (set by tests/decoder/CMakeLists.txt)"
#endif

namespace vigil::testing {
namespace {

// An exclusive flock held for the lifetime of the object.
class FileLock {
 public:
  explicit FileLock(const std::string& path) : fd_(::open(path.c_str(), O_CREAT | O_RDWR, 0644)) {
    if (fd_ < 0 || ::flock(fd_, LOCK_EX) != 0) {
      throw std::runtime_error("cannot lock " + path);
    }
  }
  ~FileLock() {
    if (fd_ >= 0) ::close(fd_);  // closing releases the lock
  }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_;
};

const std::string& cache_folder() {
  static const std::string folder = [] {
    std::filesystem::create_directories(VIGIL_DECODER_TEST_CACHE);
    return std::string(VIGIL_DECODER_TEST_CACHE);
  }();
  return folder;
}

}  // namespace

std::string run_or_throw(const std::string& shell_command) {
  const CommandResult result = run_command(shell_command + " 2>&1");
  if (result.exit_code != 0) {
    throw std::runtime_error("command failed (exit " + std::to_string(result.exit_code) +
                             "): " + shell_command + "\n" + result.output);
  }
  return result.output;
}

const std::string& ffmpeg_identity() {
  static const std::string identity = [] {
    struct stat status {};
    if (::stat(kFfmpeg, &status) != 0)
      throw std::runtime_error(std::string(kFfmpeg) + " is missing");
    return std::string(av_version_info()) + " " + std::to_string(status.st_size) + " " +
           std::to_string(status.st_mtim.tv_sec);
  }();
  return identity;
}

bool ffmpeg_has_encoder(const std::string& encoder_name) {
  static const std::string encoders =
      run_or_throw(std::string(kFfmpeg) + " -hide_banner -encoders");
  std::istringstream lines(encoders);
  std::string line;
  while (std::getline(lines, line)) {
    // " V....D libx264   libx264 H.264 ...": the second word is the name.
    std::istringstream words(line);
    std::string flags, name;
    if (words >> flags >> name && name == encoder_name) return true;
  }
  return false;
}

std::string hash_text(const std::string& text) {
  uint64_t hash = 14695981039346656037ull;
  for (const char c : text) {
    hash ^= static_cast<uint8_t>(c);
    hash *= 1099511628211ull;
  }
  char digits[17];
  std::snprintf(digits, sizeof(digits), "%016llx", static_cast<unsigned long long>(hash));
  return digits;
}

std::string cached_file(const std::string& file_name,
                        const std::function<void(const std::string& temporary_path)>& make) {
  const std::string path = cache_folder() + "/" + file_name;
  if (std::filesystem::exists(path)) return path;
  FileLock lock(path + ".lock");
  if (std::filesystem::exists(path)) return path;  // made by another process meanwhile
  const std::string temporary =
      path + ".partial" + std::filesystem::path(file_name).extension().string();
  std::filesystem::remove(temporary);
  make(temporary);
  std::filesystem::rename(temporary, path);
  return path;
}

}  // namespace vigil::testing

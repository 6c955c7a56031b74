// Small helpers the benchmarks share: comma-separated flag values, scratch folder removal,
// dropping files from the page cache.
#pragma once

#include <fcntl.h>
#include <ftw.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace vigil::bench {

// "1,16,64" -> {1, 16, 64}. Throws std::invalid_argument / std::out_of_range (std::stoll).
inline std::vector<int64_t> parse_list(const std::string& text) {
  std::vector<int64_t> values;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = text.find(',', start);
    values.push_back(std::stoll(text.substr(start, comma - start)));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return values;
}

// Removes a directory and everything under it; a missing path is not an error.
// std::filesystem::remove_all is not used: in binaries linked against the PyTorch package's
// libtorch it binds to an unresolved entry of libtorch.so and crashes.
inline void remove_tree(const std::string& path) {
  const auto remove_entry = [](const char* entry, const struct stat*, int, struct FTW*) {
    return std::remove(entry);
  };
  ::nftw(path.c_str(), remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

// Every file under a directory written out and dropped from the page cache, so that the next
// read of it comes from the disk.
inline void drop_page_cache(const std::string& directory) {
  const auto drop = [](const char* entry, const struct stat*, int type, struct FTW*) {
    if (type != FTW_F) return 0;
    const int fd = ::open(entry, O_RDONLY);
    if (fd < 0) return 0;
    ::fdatasync(fd);
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    ::close(fd);
    return 0;
  };
  ::nftw(directory.c_str(), drop, 16, FTW_PHYS);
}

}  // namespace vigil::bench

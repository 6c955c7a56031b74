#include "api/multipart_upload.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <string_view>

#include "api/api_error.h"

namespace vigil::api {
namespace {

// A read-only mapping of a whole file, unmapped on destruction.
class MappedFile {
 public:
  explicit MappedFile(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw ApiError(500, "upload_lost", "the uploaded body could not be read");
    struct stat info {};
    if (::fstat(fd, &info) == 0 && info.st_size > 0) {
      size_ = static_cast<size_t>(info.st_size);
      void* data = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
      if (data != MAP_FAILED) data_ = static_cast<const char*>(data);
    }
    ::close(fd);
    if (size_ > 0 && data_ == nullptr) {
      throw ApiError(500, "upload_lost", "the uploaded body could not be mapped");
    }
  }
  ~MappedFile() {
    if (data_ != nullptr) ::munmap(const_cast<char*>(data_), size_);
  }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  std::string_view view() const { return {data_ == nullptr ? "" : data_, size_}; }

 private:
  const char* data_ = nullptr;
  size_t size_ = 0;
};

std::string lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

// The value of name="..." (or filename="...") in a Content-Disposition header.
std::string disposition_value(std::string_view header, const std::string& key) {
  size_t at = 0;
  while ((at = header.find(key + "=\"", at)) != std::string_view::npos) {
    if (at == 0 || header[at - 1] == ' ' || header[at - 1] == ';') {
      const size_t start = at + key.size() + 2;
      const size_t end = header.find('"', start);
      if (end == std::string_view::npos) return "";
      return std::string(header.substr(start, end - start));
    }
    at += key.size();
  }
  return "";
}

}  // namespace

std::string multipart_boundary(const std::string& content_type) {
  const std::string lowered = lower(content_type);
  if (lowered.rfind("multipart/form-data", 0) != 0) {
    throw ApiError(415, "unsupported_media_type",
                   "POST /v1/files takes multipart/form-data (a 'file' part), a raw video body "
                   "(video/*, application/octet-stream) or JSON {\"url\": ...}");
  }
  const size_t at = lowered.find("boundary=");
  if (at == std::string::npos) {
    throw ApiError(400, "invalid_multipart", "multipart/form-data without a boundary");
  }
  std::string boundary = content_type.substr(at + 9);
  boundary = boundary.substr(0, boundary.find(';'));
  if (boundary.size() >= 2 && boundary.front() == '"' && boundary.back() == '"') {
    boundary = boundary.substr(1, boundary.size() - 2);
  }
  if (boundary.empty() || boundary.size() > 200) {
    throw ApiError(400, "invalid_multipart", "the multipart boundary is empty or too long");
  }
  return boundary;
}

MultipartUpload extract_multipart_file(const std::string& body_path, const std::string& boundary,
                                       const std::string& output_path) {
  const MappedFile mapped(body_path);
  const std::string_view body = mapped.view();
  const std::string delimiter = "--" + boundary;
  const auto malformed = [](const std::string& why) {
    return ApiError(400, "invalid_multipart", "malformed multipart body: " + why);
  };
  size_t at = body.find(delimiter);
  if (at == std::string_view::npos) throw malformed("no boundary line");
  MultipartUpload upload;
  bool found_file = false;
  for (;;) {
    at += delimiter.size();
    if (body.substr(at, 2) == "--") break;  // closing delimiter
    if (body.substr(at, 2) != "\r\n") throw malformed("boundary not followed by CRLF");
    at += 2;
    const size_t headers_end = body.find("\r\n\r\n", at);
    if (headers_end == std::string_view::npos) throw malformed("part without headers end");
    const std::string_view headers = body.substr(at, headers_end - at);
    const size_t content_start = headers_end + 4;
    const size_t next = body.find("\r\n" + delimiter, content_start);
    if (next == std::string_view::npos) throw malformed("part without closing boundary");
    const std::string_view content = body.substr(content_start, next - content_start);

    std::string name, filename, part_type;
    size_t line_start = 0;
    while (line_start < headers.size()) {
      size_t line_end = headers.find("\r\n", line_start);
      if (line_end == std::string_view::npos) line_end = headers.size();
      const std::string_view line = headers.substr(line_start, line_end - line_start);
      const std::string lowered = lower(std::string(line.substr(0, line.find(':'))));
      if (lowered == "content-disposition") {
        name = disposition_value(line, "name");
        filename = disposition_value(line, "filename");
      } else if (lowered == "content-type" && line.find(':') != std::string_view::npos) {
        part_type = std::string(line.substr(line.find(':') + 1));
        while (!part_type.empty() && part_type.front() == ' ') part_type.erase(0, 1);
      }
      line_start = line_end + 2;
    }
    if (name == "file" && !found_file) {
      FILE* out = std::fopen(output_path.c_str(), "wb");
      if (out == nullptr) throw ApiError(500, "storage_error", "cannot write the uploaded file");
      const size_t written = std::fwrite(content.data(), 1, content.size(), out);
      const bool ok = std::fclose(out) == 0 && written == content.size();
      if (!ok) throw ApiError(500, "storage_error", "cannot write the uploaded file");
      upload.filename = filename.empty() ? "upload" : filename;
      upload.content_type = part_type;
      upload.bytes = static_cast<int64_t>(content.size());
      found_file = true;
    } else if (!name.empty() && content.size() <= 4096) {
      upload.fields[name] = std::string(content);
    }
    at = next + 2;
  }
  if (!found_file) throw malformed("no part named 'file'");
  return upload;
}

}  // namespace vigil::api

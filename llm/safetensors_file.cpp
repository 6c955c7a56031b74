#include "llm/safetensors_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <nlohmann/json.hpp>

#include "llm/model_error.h"

namespace vigil::llm {
namespace {

// An mmap of a whole file, unmapped when the last owner goes.
class Mapping {
 public:
  Mapping(void* address, size_t size) : address_(address), size_(size) {}
  ~Mapping() {
    if (address_ != nullptr && address_ != MAP_FAILED) ::munmap(address_, size_);
  }
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  const uint8_t* bytes() const { return static_cast<const uint8_t*>(address_); }
  size_t size() const { return size_; }

 private:
  void* address_;
  size_t size_;
};

class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

DType parse_dtype(const std::string& text, const std::string& where) {
  static const std::map<std::string, DType> kNames = {
      {"F64", DType::kF64}, {"F32", DType::kF32},  {"F16", DType::kF16}, {"BF16", DType::kBF16},
      {"I64", DType::kI64}, {"I32", DType::kI32},  {"I16", DType::kI16}, {"I8", DType::kI8},
      {"U8", DType::kU8},   {"BOOL", DType::kBool}};
  const auto it = kNames.find(text);
  if (it == kNames.end()) throw ModelLoadError(where + ": unsupported dtype '" + text + "'");
  return it->second;
}

}  // namespace

const char* to_string(DType dtype) {
  switch (dtype) {
    case DType::kF64:
      return "F64";
    case DType::kF32:
      return "F32";
    case DType::kF16:
      return "F16";
    case DType::kBF16:
      return "BF16";
    case DType::kI64:
      return "I64";
    case DType::kI32:
      return "I32";
    case DType::kI16:
      return "I16";
    case DType::kI8:
      return "I8";
    case DType::kU8:
      return "U8";
    case DType::kBool:
      return "BOOL";
  }
  return "?";
}

size_t element_size(DType dtype) {
  switch (dtype) {
    case DType::kF64:
    case DType::kI64:
      return 8;
    case DType::kF32:
    case DType::kI32:
      return 4;
    case DType::kF16:
    case DType::kBF16:
    case DType::kI16:
      return 2;
    case DType::kI8:
    case DType::kU8:
    case DType::kBool:
      return 1;
  }
  return 0;
}

int64_t TensorView::elements() const {
  int64_t count = 1;
  for (const int64_t dim : shape) count *= dim;
  return count;
}

SafetensorsFile SafetensorsFile::open(const std::string& path) {
  const FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    throw ModelLoadError(path + ": cannot open: " + std::strerror(errno));
  }
  struct stat status {};
  if (::fstat(fd.get(), &status) != 0) throw ModelLoadError(path + ": cannot stat");
  const size_t size = static_cast<size_t>(status.st_size);
  if (size < 8) throw ModelLoadError(path + ": truncated: " + std::to_string(size) + " bytes");
  void* address = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd.get(), 0);
  if (address == MAP_FAILED) throw ModelLoadError(path + ": mmap failed: " + std::strerror(errno));
  auto mapping = std::make_shared<Mapping>(address, size);

  uint64_t header_size = 0;
  std::memcpy(&header_size, mapping->bytes(), 8);  // little-endian on every supported host
  if (header_size > size - 8) {
    throw ModelLoadError(path + ": truncated: header of " + std::to_string(header_size) +
                         " bytes in a file of " + std::to_string(size));
  }
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(mapping->bytes() + 8, mapping->bytes() + 8 + header_size);
  } catch (const nlohmann::json::exception& error) {
    throw ModelLoadError(path + ": malformed header: " + error.what());
  }
  if (!header.is_object()) throw ModelLoadError(path + ": malformed header: not an object");

  SafetensorsFile file;
  file.path_ = path;
  const uint8_t* data = mapping->bytes() + 8 + header_size;
  const size_t data_size = size - 8 - header_size;
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__") {
      if (it->is_object()) {
        for (auto entry = it->begin(); entry != it->end(); ++entry) {
          if (entry->is_string()) file.metadata_[entry.key()] = entry->get<std::string>();
        }
      }
      continue;
    }
    const std::string where = path + ": tensor '" + it.key() + "'";
    try {
      TensorView view;
      view.name = it.key();
      view.dtype = parse_dtype(it->at("dtype").get<std::string>(), where);
      view.shape = it->at("shape").get<std::vector<int64_t>>();
      const auto offsets = it->at("data_offsets").get<std::vector<uint64_t>>();
      if (offsets.size() != 2 || offsets[0] > offsets[1] || offsets[1] > data_size) {
        throw ModelLoadError(where + ": byte range outside the file (truncated?)");
      }
      for (const int64_t dim : view.shape) {
        if (dim < 0) throw ModelLoadError(where + ": negative dimension");
      }
      view.bytes = offsets[1] - offsets[0];
      if (static_cast<size_t>(view.elements()) * element_size(view.dtype) != view.bytes) {
        throw ModelLoadError(where + ": " + std::to_string(view.bytes) +
                             " bytes do not hold its shape and dtype");
      }
      view.data = data + offsets[0];
      file.tensors_.emplace(view.name, std::move(view));
    } catch (const nlohmann::json::exception& error) {
      throw ModelLoadError(where + ": malformed entry: " + error.what());
    }
  }
  file.mapping_ = std::move(mapping);
  return file;
}

const TensorView& SafetensorsFile::tensor(const std::string& name) const {
  const auto it = tensors_.find(name);
  if (it == tensors_.end()) throw ModelLoadError(path_ + ": missing tensor '" + name + "'");
  return it->second;
}

}  // namespace vigil::llm

// A memory-mapped .safetensors file: a JSON header of tensor names, dtypes, shapes and byte
// ranges, followed by the raw little-endian data. Views point into the mapping (zero-copy).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace vigil::llm {

enum class DType { kF64, kF32, kF16, kBF16, kI64, kI32, kI16, kI8, kU8, kBool };

const char* to_string(DType dtype);
size_t element_size(DType dtype);

// One tensor inside a mapped file. data stays valid while the file (or a copy of the
// shared mapping) lives.
struct TensorView {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;
  const uint8_t* data = nullptr;
  size_t bytes = 0;
  int64_t elements() const;
};

// Read-only; thread-safe after open. Throws ModelLoadError naming the file for a missing or
// truncated file, a malformed header, an unknown dtype or a byte range that does not fit.
class SafetensorsFile {
 public:
  static SafetensorsFile open(const std::string& path);

  const std::string& path() const { return path_; }
  bool contains(const std::string& name) const { return tensors_.count(name) != 0; }
  // Throws ModelLoadError naming the file and the tensor when it is absent.
  const TensorView& tensor(const std::string& name) const;
  const std::map<std::string, TensorView>& tensors() const { return tensors_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  // Keeps the mapping alive (e.g. inside a tensor that borrows the bytes).
  std::shared_ptr<const void> mapping() const { return mapping_; }

 private:
  std::string path_;
  std::shared_ptr<const void> mapping_;
  std::map<std::string, TensorView> tensors_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace vigil::llm

// Writing tensors to a .safetensors file (for `vigil logits` outputs and test fixtures).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "llm/safetensors_file.h"

namespace vigil::llm {

struct TensorToWrite {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;
  const void* data = nullptr;  // contiguous, little-endian, elements * element_size bytes
};

// Writes the tensors (in the given order) with optional string metadata. Throws
// ModelLoadError naming the path when the file cannot be written or a size is inconsistent.
void write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace vigil::llm

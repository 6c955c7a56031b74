#include "llm/safetensors_writer.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "llm/model_error.h"

namespace vigil::llm {

void write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  std::vector<uint64_t> sizes;
  for (const TensorToWrite& tensor : tensors) {
    uint64_t elements = 1;
    for (const int64_t dim : tensor.shape) {
      if (dim < 0) throw ModelLoadError(path + ": tensor '" + tensor.name + "' has a negative dim");
      elements *= static_cast<uint64_t>(dim);
    }
    const uint64_t bytes = elements * element_size(tensor.dtype);
    header[tensor.name] = {{"dtype", to_string(tensor.dtype)},
                           {"shape", tensor.shape},
                           {"data_offsets", {offset, offset + bytes}}};
    sizes.push_back(bytes);
    offset += bytes;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // data starts 8-byte aligned
  const uint64_t header_size = text.size();

  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  if (!file) throw ModelLoadError(path + ": cannot write: " + std::strerror(errno));
  file.write(reinterpret_cast<const char*>(&header_size), 8);
  file.write(text.data(), static_cast<std::streamsize>(text.size()));
  for (size_t i = 0; i < tensors.size(); ++i) {
    file.write(static_cast<const char*>(tensors[i].data), static_cast<std::streamsize>(sizes[i]));
  }
  file.flush();
  if (!file) throw ModelLoadError(path + ": write failed: " + std::strerror(errno));
}

}  // namespace vigil::llm

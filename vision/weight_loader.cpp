#include "vision/weight_loader.h"

#include "llm/torch_tensors.h"

namespace vigil::vision {

WeightLoader::WeightLoader(const llm::Checkpoint& checkpoint, std::vector<std::string> prefixes,
                           torch::Device device, torch::ScalarType dtype)
    : checkpoint_(checkpoint), prefixes_(std::move(prefixes)), device_(device), dtype_(dtype) {}

std::vector<std::string> WeightLoader::names(const std::string& name) const {
  std::vector<std::string> result;
  for (const std::string& prefix : prefixes_) result.push_back(prefix + name);
  return result;
}

torch::Tensor WeightLoader::load(const std::string& name, const std::vector<int64_t>& shape) const {
  return llm::to_torch(checkpoint_.require(names(name), shape), device_, dtype_);
}

bool WeightLoader::contains(const std::string& name) const {
  return checkpoint_.find(names(name)) != nullptr;
}

}  // namespace vigil::vision

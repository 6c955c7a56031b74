// Reads one module's tensors from a checkpoint under whichever of its known prefixes the file
// uses (hub "vision_tower.vision_model.X", transformers v5 save "vision_tower.X", v5 in-memory
// "model.vision_tower.X"), onto a device in a dtype.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "llm/checkpoint.h"

namespace vigil::vision {

// Borrows checkpoint, which must outlive it (and, for zero-copy CPU tensors, the tensors too:
// keep checkpoint.mappings() alive).
class WeightLoader {
 public:
  WeightLoader(const llm::Checkpoint& checkpoint, std::vector<std::string> prefixes,
               torch::Device device, torch::ScalarType dtype);

  // The tensor `name` under the first prefix present, checked against shape. Throws
  // llm::ModelLoadError naming the checkpoint and tensor when absent or of another shape.
  torch::Tensor load(const std::string& name, const std::vector<int64_t>& shape) const;
  // Whether the tensor exists under any prefix.
  bool contains(const std::string& name) const;

 private:
  std::vector<std::string> names(const std::string& name) const;

  const llm::Checkpoint& checkpoint_;
  std::vector<std::string> prefixes_;
  torch::Device device_;
  torch::ScalarType dtype_;
};

}  // namespace vigil::vision

// Where a model runs, as the command line and config name it.
#pragma once

#include <torch/torch.h>

#include <string>

namespace vigil::service {

struct ModelPlacement {
  torch::Device device = torch::kCPU;
  torch::ScalarType dtype = torch::kFloat32;
};

// "cpu" | "cuda" and "f32" | "bf16" | "f16"; the CPU runs fp32 only. Throws UsageError.
ModelPlacement parse_model_placement(const std::string& device, const std::string& dtype);

}  // namespace vigil::service

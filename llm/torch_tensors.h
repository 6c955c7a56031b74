// Between safetensors views and torch tensors.
#pragma once

#include <torch/torch.h>

#include "llm/safetensors_file.h"

namespace vigil::llm {

torch::ScalarType to_scalar_type(DType dtype);
DType to_dtype(torch::ScalarType type);  // throws ModelLoadError for types safetensors lacks

// The view's bytes as a tensor on device in dtype. Zero-copy (borrowing the mapping, which the
// caller keeps alive) when the view already has that dtype and the device is the CPU.
torch::Tensor to_torch(const TensorView& view, torch::Device device, torch::ScalarType dtype);

}  // namespace vigil::llm

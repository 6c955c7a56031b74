#include "llm/torch_tensors.h"

#include "llm/model_error.h"

namespace vigil::llm {

torch::ScalarType to_scalar_type(DType dtype) {
  switch (dtype) {
    case DType::kF64:
      return torch::kFloat64;
    case DType::kF32:
      return torch::kFloat32;
    case DType::kF16:
      return torch::kFloat16;
    case DType::kBF16:
      return torch::kBFloat16;
    case DType::kI64:
      return torch::kInt64;
    case DType::kI32:
      return torch::kInt32;
    case DType::kI16:
      return torch::kInt16;
    case DType::kI8:
      return torch::kInt8;
    case DType::kU8:
      return torch::kUInt8;
    case DType::kBool:
      return torch::kBool;
  }
  return torch::kFloat32;
}

DType to_dtype(torch::ScalarType type) {
  switch (type) {
    case torch::kFloat64:
      return DType::kF64;
    case torch::kFloat32:
      return DType::kF32;
    case torch::kFloat16:
      return DType::kF16;
    case torch::kBFloat16:
      return DType::kBF16;
    case torch::kInt64:
      return DType::kI64;
    case torch::kInt32:
      return DType::kI32;
    case torch::kInt16:
      return DType::kI16;
    case torch::kInt8:
      return DType::kI8;
    case torch::kUInt8:
      return DType::kU8;
    case torch::kBool:
      return DType::kBool;
    default:
      throw ModelLoadError(std::string("no safetensors dtype for ") + c10::toString(type));
  }
}

torch::Tensor to_torch(const TensorView& view, torch::Device device, torch::ScalarType dtype) {
  const torch::Tensor borrowed = torch::from_blob(
      const_cast<uint8_t*>(view.data), view.shape, [](void*) {},
      torch::TensorOptions().dtype(to_scalar_type(view.dtype)));
  return borrowed.to(device, dtype);
}

}  // namespace vigil::llm

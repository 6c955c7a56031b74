// The model code's typed error for bad checkpoints and configs: names the file and the tensor.
#pragma once

#include <stdexcept>
#include <string>

namespace vigil::llm {

class ModelLoadError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace vigil::llm

// The vision model code's typed error for bad input (STYLE.md, second error tier): pixel values
// of the wrong shape or dtype, a prompt whose <video> tokens do not match the video. Bad
// checkpoints and configs throw llm::ModelLoadError instead.
#pragma once

#include <stdexcept>
#include <string>

namespace vigil::vision {

// what() names the input at fault and the shape or count expected.
class VisionInputError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

}  // namespace vigil::vision

// The vision preprocessing's typed error for bad input (STYLE.md, second error tier): a frame
// whose byte count does not match its size, an impossible size, a malformed preprocessor config.
#pragma once

#include <stdexcept>
#include <string>

namespace vigil::vision {

// what() names the thing at fault: the config file and key, or the frame and its size.
class PreprocessError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace vigil::vision

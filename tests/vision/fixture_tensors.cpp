#include "tests/vision/fixture_tensors.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>

namespace vigil::vision::testing {

std::string preprocess_fixture(const std::string& name) {
  return std::string(VIGIL_FIXTURES) + "/preprocess/" + name;
}

FixtureImage fixture_image(const llm::SafetensorsFile& file, const std::string& name) {
  const llm::TensorView& tensor = file.tensor(name);
  if (tensor.dtype != llm::DType::kU8 || tensor.shape.size() != 3 || tensor.shape[2] != 3) {
    ADD_FAILURE() << file.path() << ": " << name << " is not uint8 [H, W, 3]";
    return {};
  }
  FixtureImage image;
  image.size = ImageSize{static_cast<int>(tensor.shape[1]), static_cast<int>(tensor.shape[0])};
  image.rgb.assign(tensor.data, tensor.data + tensor.bytes);
  return image;
}

ByteDiff compare_bytes(const std::vector<uint8_t>& actual, const std::vector<uint8_t>& expected) {
  ByteDiff diff;
  if (actual.size() != expected.size()) {
    diff.differing = std::max(actual.size(), expected.size());
    diff.max_difference = 255;
    return diff;
  }
  for (size_t i = 0; i < actual.size(); ++i) {
    const int d = std::abs(static_cast<int>(actual[i]) - static_cast<int>(expected[i]));
    if (d != 0) ++diff.differing;
    diff.max_difference = std::max(diff.max_difference, d);
  }
  return diff;
}

}  // namespace vigil::vision::testing

// The preprocessing fixtures (tests/fixtures/preprocess) as the vision tests use them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "llm/safetensors_file.h"
#include "vision/image_resize.h"

namespace vigil::vision::testing {

// tests/fixtures/preprocess/<name>, e.g. "reference.safetensors".
std::string preprocess_fixture(const std::string& name);

// A uint8 [H, W, 3] tensor as an RGB24 image; fails the test (ADD_FAILURE) and returns an empty
// image for another dtype or shape.
struct FixtureImage {
  ImageSize size;
  std::vector<uint8_t> rgb;
};
FixtureImage fixture_image(const llm::SafetensorsFile& file, const std::string& name);

// How two byte buffers differ: the count of differing bytes and the largest difference.
struct ByteDiff {
  size_t differing = 0;
  int max_difference = 0;
};
ByteDiff compare_bytes(const std::vector<uint8_t>& actual, const std::vector<uint8_t>& expected);

}  // namespace vigil::vision::testing

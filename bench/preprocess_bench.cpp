// vigil_preprocess_bench [FRAMES] [WIDTH HEIGHT]: frames per second of LLaVA-OneVision's video
// preprocessing on one core, 1920x1080 RGB24 -> 384x384 by default: the resize alone (each torch
// arithmetic) and the whole step (resize + normalise to float32 CHW). Frames are synthetic
// (smooth gradients plus noise), so the numbers do not depend on a video file.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "vision/image_resize.h"
#include "vision/video_preprocessor.h"

namespace {

using Clock = std::chrono::steady_clock;
using vigil::vision::ImageSize;

std::vector<uint8_t> synthetic_frame(ImageSize size, uint32_t seed) {
  std::vector<uint8_t> rgb(size.rgb_bytes());
  uint32_t state = seed;
  for (int y = 0; y < size.height; ++y) {
    for (int x = 0; x < size.width; ++x) {
      state = state * 1664525u + 1013904223u;
      const int noise = static_cast<int>(state >> 28) - 8;
      uint8_t* pixel = &rgb[(static_cast<size_t>(y) * size.width + x) * 3];
      pixel[0] = static_cast<uint8_t>((x * 255 / size.width + noise) & 255);
      pixel[1] = static_cast<uint8_t>((y * 255 / size.height + noise) & 255);
      pixel[2] = static_cast<uint8_t>(((x + y) / 8 + noise) & 255);
    }
  }
  return rgb;
}

template <typename F>
double frames_per_second(int frames, F run_one) {
  run_one(0);  // warm-up: page in buffers
  const auto start = Clock::now();
  for (int i = 0; i < frames; ++i) run_one(i);
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return frames / seconds;
}

}  // namespace

int main(int argc, char** argv) {
  const int frames = argc > 1 ? std::atoi(argv[1]) : 40;
  const ImageSize input{argc > 3 ? std::atoi(argv[2]) : 1920, argc > 3 ? std::atoi(argv[3]) : 1080};
  const ImageSize output{384, 384};
  if (frames <= 0 || input.width <= 0 || input.height <= 0) {
    std::fprintf(stderr, "usage: %s [FRAMES] [WIDTH HEIGHT]\n", argv[0]);
    return 2;
  }
  const std::vector<uint8_t> source[2] = {synthetic_frame(input, 1), synthetic_frame(input, 2)};
  std::printf("preprocess %dx%d -> %dx%d, %d frames, one thread\n", input.width, input.height,
              output.width, output.height, frames);

  for (auto arithmetic : {vigil::vision::ResizeArithmetic::kTorchUint8,
                          vigil::vision::ResizeArithmetic::kTorchFloat32}) {
    const vigil::vision::ImageResizer resizer(input, output, arithmetic);
    vigil::vision::ResizeScratch scratch;
    std::vector<uint8_t> resized(output.rgb_bytes());
    const int count =
        arithmetic == vigil::vision::ResizeArithmetic::kTorchUint8 ? frames : frames / 4 + 1;
    const double fps = frames_per_second(
        count, [&](int i) { resizer.resize(source[i & 1].data(), resized.data(), scratch); });
    std::printf("  resize %-14s %8.1f frames/s  %6.2f ms/frame\n",
                vigil::vision::to_string(arithmetic), fps, 1000.0 / fps);
  }

  const vigil::vision::VideoPreprocessor preprocessor{vigil::vision::VideoPreprocessorConfig{}};
  std::vector<float> pixels(vigil::vision::VideoPreprocessor::output_floats(1, output));
  const double fps = frames_per_second(frames, [&](int i) {
    preprocessor.preprocess({vigil::vision::RgbImageView{source[i & 1].data(), input}},
                            pixels.data(), pixels.size());
  });
  std::printf("  preprocess (uint8 resize + normalise) %8.1f frames/s  %6.2f ms/frame\n", fps,
              1000.0 / fps);
  return 0;
}

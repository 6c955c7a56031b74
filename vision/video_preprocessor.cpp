#include "vision/video_preprocessor.h"

#include <sys/stat.h>

#include <cmath>
#include <fstream>
#include <map>
#include <sstream>
#include <utility>

#include "vision/preprocess_error.h"

namespace vigil::vision {
namespace {

bool is_regular_file(const std::string& path) {
  struct stat info {};
  return ::stat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode);
}

std::string key_context(const std::string& where, const char* key) {
  return where + ": '" + key + "'";
}

bool read_bool(const nlohmann::json& json, const char* key, bool fallback,
               const std::string& where) {
  if (!json.contains(key) || json[key].is_null()) return fallback;
  if (!json[key].is_boolean())
    throw PreprocessError(key_context(where, key) + " must be true or false");
  return json[key].get<bool>();
}

double read_positive(const nlohmann::json& value, const std::string& context) {
  if (!value.is_number()) throw PreprocessError(context + " must be a number");
  const double number = value.get<double>();
  if (!std::isfinite(number) || number <= 0) throw PreprocessError(context + " must be positive");
  return number;
}

// Three per-channel numbers, or one for all channels; mean values may be any finite number.
std::array<double, 3> read_channels(const nlohmann::json& json, const char* key,
                                    std::array<double, 3> fallback, bool positive,
                                    const std::string& where) {
  if (!json.contains(key) || json[key].is_null()) return fallback;
  const nlohmann::json& value = json[key];
  const std::string context = key_context(where, key);
  std::array<double, 3> result{};
  if (value.is_number()) {
    result.fill(value.get<double>());
  } else if (value.is_array() && value.size() == 3) {
    for (size_t c = 0; c < 3; ++c) {
      if (!value[c].is_number()) throw PreprocessError(context + " must hold 3 numbers");
      result[c] = value[c].get<double>();
    }
  } else {
    throw PreprocessError(context + " must be a number or a list of 3 numbers (R, G, B)");
  }
  for (double v : result) {
    if (!std::isfinite(v) || (positive && v <= 0)) {
      throw PreprocessError(context +
                            (positive ? " values must be positive" : " values must be finite"));
    }
  }
  return result;
}

int read_side(const nlohmann::json& value, const std::string& context) {
  if (!value.is_number_integer() || value.get<int64_t>() <= 0 || value.get<int64_t>() > (1 << 20)) {
    throw PreprocessError(context + " must be a positive integer");
  }
  return static_cast<int>(value.get<int64_t>());
}

ImageSize read_size(const nlohmann::json& json, ImageSize fallback, const std::string& where) {
  if (!json.contains("size") || json["size"].is_null()) return fallback;
  const nlohmann::json& size = json["size"];
  const std::string context = key_context(where, "size");
  if (size.is_number()) {
    const int side = read_side(size, context);
    return ImageSize{side, side};
  }
  if (!size.is_object()) throw PreprocessError(context + " must be an object or an integer");
  if (size.contains("height") && size.contains("width")) {
    return ImageSize{read_side(size["width"], context + ".width"),
                     read_side(size["height"], context + ".height")};
  }
  if (size.contains("shortest_edge") || size.contains("longest_edge")) {
    throw PreprocessError(context +
                          " by shortest_edge/longest_edge is not supported: LLaVA-OneVision "
                          "video frames are resized to a fixed height and width");
  }
  throw PreprocessError(context + " must have 'height' and 'width'");
}

std::string describe(ImageSize size) {
  return std::to_string(size.width) + "x" + std::to_string(size.height);
}

}  // namespace

VideoPreprocessorConfig VideoPreprocessorConfig::transformers_class_defaults() {
  VideoPreprocessorConfig config;
  config.mean = kOpenAiClipMean;
  config.std = kOpenAiClipStd;
  return config;
}

VideoPreprocessorConfig parse_video_preprocessor_config(const nlohmann::json& json,
                                                        const std::string& where) {
  if (!json.is_object())
    throw PreprocessError(where + ": the preprocessor config is not a JSON object");
  VideoPreprocessorConfig config;
  config.source = where;
  config.size = read_size(json, config.size, where);
  config.do_resize = read_bool(json, "do_resize", config.do_resize, where);
  config.do_rescale = read_bool(json, "do_rescale", config.do_rescale, where);
  config.do_normalize = read_bool(json, "do_normalize", config.do_normalize, where);
  if (json.contains("rescale_factor") && !json["rescale_factor"].is_null()) {
    config.rescale_factor =
        read_positive(json["rescale_factor"], key_context(where, "rescale_factor"));
  }
  config.mean = read_channels(json, "image_mean", config.mean, /*positive=*/false, where);
  config.std = read_channels(json, "image_std", config.std, /*positive=*/true, where);
  if (json.contains("resample") && !json["resample"].is_null()) {
    // PIL's numbering, which transformers keeps: 3 is BICUBIC.
    if (!json["resample"].is_number_integer() || json["resample"].get<int64_t>() != 3) {
      throw PreprocessError(key_context(where, "resample") + " = " + json["resample"].dump() +
                            " is not supported (only 3, bicubic)");
    }
  }
  if (read_bool(json, "do_center_crop", false, where)) {
    throw PreprocessError(
        key_context(where, "do_center_crop") +
        " = true is not supported (LLaVA-OneVision video frames are not cropped)");
  }
  return config;
}

VideoPreprocessorConfig load_video_preprocessor_config(const std::string& checkpoint_dir) {
  for (const char* name : {"video_preprocessor_config.json", "preprocessor_config.json"}) {
    const std::string path = checkpoint_dir + "/" + name;
    if (!is_regular_file(path)) continue;
    std::ifstream file(path);
    if (!file) throw PreprocessError(path + ": cannot be opened");
    std::stringstream text;
    text << file.rdbuf();
    if (file.bad()) throw PreprocessError(path + ": read failed");
    nlohmann::json json;
    try {
      json = nlohmann::json::parse(text.str());
    } catch (const nlohmann::json::parse_error& error) {
      throw PreprocessError(path + ": not valid JSON: " + error.what());
    }
    return parse_video_preprocessor_config(json, path);
  }
  return VideoPreprocessorConfig{};
}

VideoPreprocessor::VideoPreprocessor(VideoPreprocessorConfig config) : config_(std::move(config)) {
  const std::string where =
      config_.source.empty() ? std::string("video preprocessor config") : config_.source;
  if (config_.size.width <= 0 || config_.size.height <= 0) {
    throw PreprocessError(where + ": size " + describe(config_.size) + " is not positive");
  }
  if (!std::isfinite(config_.rescale_factor) || config_.rescale_factor <= 0) {
    throw PreprocessError(where + ": rescale_factor must be positive");
  }
  for (int c = 0; c < 3; ++c) {
    if (!std::isfinite(config_.std[c]) || config_.std[c] <= 0 || !std::isfinite(config_.mean[c])) {
      throw PreprocessError(where + ": image_std must be positive and image_mean finite");
    }
  }
  // transformers' float32 steps: the mean and std become float32 tensors; when both rescale
  // and normalise are on they are multiplied (in float32) by 1 / rescale_factor, and the image,
  // cast to float32, has the mean subtracted and is divided by the std.
  const float inverse_rescale = static_cast<float>(1.0 / config_.rescale_factor);
  const float rescale = static_cast<float>(config_.rescale_factor);
  for (int c = 0; c < 3; ++c) {
    float mean = static_cast<float>(config_.mean[c]);
    float std = static_cast<float>(config_.std[c]);
    if (config_.do_rescale && config_.do_normalize) {
      mean = mean * inverse_rescale;
      std = std * inverse_rescale;
    }
    for (int x = 0; x < 256; ++x) {
      const float value = static_cast<float>(x);
      if (config_.do_normalize) {
        table_[c][x] = (value - mean) / std;
      } else if (config_.do_rescale) {
        table_[c][x] = value * rescale;
      } else {
        table_[c][x] = value;
      }
    }
  }
}

PreprocessStats VideoPreprocessor::preprocess(const std::vector<RgbImageView>& frames, float* out,
                                              size_t out_floats) const {
  PreprocessStats stats;
  if (frames.empty()) {
    if (out_floats != 0)
      throw PreprocessError("preprocess: no frames but " + std::to_string(out_floats) +
                            " output floats");
    return stats;
  }
  const ImageSize output = output_size(frames.front().size);
  for (size_t i = 0; i < frames.size(); ++i) {
    const RgbImageView& frame = frames[i];
    if (frame.rgb == nullptr || frame.size.width <= 0 || frame.size.height <= 0) {
      throw PreprocessError("preprocess: frame " + std::to_string(i) + " (" + describe(frame.size) +
                            ") is empty");
    }
    if (output_size(frame.size) != output) {
      throw PreprocessError("preprocess: frame " + std::to_string(i) + " is " +
                            describe(frame.size) + ", frame 0 is " + describe(frames.front().size) +
                            "; without do_resize all frames must have one size");
    }
  }
  const size_t plane = static_cast<size_t>(output.width) * output.height;
  if (out_floats != output_floats(frames.size(), output) || out == nullptr) {
    throw PreprocessError("preprocess: " + std::to_string(frames.size()) + " frames of " +
                          describe(output) + " need " +
                          std::to_string(output_floats(frames.size(), output)) +
                          " output floats, got " + std::to_string(out_floats));
  }

  // One plan per distinct input size; sizes are few (usually one per video).
  std::map<std::pair<int, int>, ImageResizer> resizers;
  ResizeScratch scratch;
  std::vector<uint8_t> resized(output.rgb_bytes());
  for (size_t i = 0; i < frames.size(); ++i) {
    const RgbImageView& frame = frames[i];
    const uint8_t* pixels = frame.rgb;
    if (frame.size != output) {
      const auto key = std::make_pair(frame.size.width, frame.size.height);
      auto it = resizers.find(key);
      if (it == resizers.end()) {
        it = resizers.emplace(key, ImageResizer(frame.size, output, config_.resize_arithmetic))
                 .first;
        ++stats.resize_plans;
      }
      it->second.resize(frame.rgb, resized.data(), scratch);
      pixels = resized.data();
      ++stats.frames_resized;
    }
    float* red = out + i * 3 * plane;
    float* green = red + plane;
    float* blue = green + plane;
    for (size_t p = 0; p < plane; ++p) {
      red[p] = table_[0][pixels[3 * p + 0]];
      green[p] = table_[1][pixels[3 * p + 1]];
      blue[p] = table_[2][pixels[3 * p + 2]];
    }
    ++stats.frames;
  }
  return stats;
}

PreprocessStats VideoPreprocessor::preprocess(const std::vector<decoder::Frame>& frames,
                                              std::vector<float>& out) const {
  std::vector<RgbImageView> views;
  views.reserve(frames.size());
  for (size_t i = 0; i < frames.size(); ++i) {
    const decoder::Frame& frame = frames[i];
    const ImageSize size{frame.width, frame.height};
    if (frame.width <= 0 || frame.height <= 0 || frame.rgb.size() != size.rgb_bytes()) {
      throw PreprocessError("preprocess: frame " + std::to_string(i) + " (sample " +
                            std::to_string(frame.sample_index) + ", " + describe(size) + ") has " +
                            std::to_string(frame.rgb.size()) + " bytes, expected " +
                            std::to_string(size.rgb_bytes()));
    }
    views.push_back(RgbImageView{frame.rgb.data(), size});
  }
  const ImageSize output = views.empty() ? config_.size : output_size(views.front().size);
  out.resize(views.empty() ? 0 : output_floats(views.size(), output));
  return preprocess(views, out.data(), out.size());
}

}  // namespace vigil::vision

// Reading a checkpoint's (video_)preprocessor_config.json: the real transformers layout, the
// fallback and precedence between the two file names, the defaults without a file, and typed
// errors naming the file and key for malformed or unsupported configs.
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "tests/support/test_support.h"
#include "vision/preprocess_error.h"
#include "vision/video_preprocessor.h"

namespace vigil::vision {
namespace {

void write_file(const std::string& path, const std::string& text) {
  std::ofstream file(path);
  file << text;
  ASSERT_TRUE(file.good()) << path;
}

// What transformers 5.17 writes for LlavaOnevisionVideoProcessor() (class defaults).
const char kTransformersVideoConfig[] = R"({
  "do_convert_rgb": true,
  "do_normalize": true,
  "do_rescale": true,
  "do_resize": true,
  "do_sample_frames": false,
  "image_mean": [0.48145466, 0.4578275, 0.40821073],
  "image_std": [0.26862954, 0.26130258, 0.27577711],
  "resample": 3,
  "rescale_factor": 0.00392156862745098,
  "return_metadata": false,
  "size": {"height": 384, "width": 384},
  "video_processor_type": "LlavaOnevisionVideoProcessor"
})";

// The image processor config of a llava-hf LLaVA-OneVision checkpoint (anyres keys included).
const char kImageProcessorConfig[] = R"({
  "do_convert_rgb": true, "do_normalize": true, "do_pad": true, "do_rescale": true,
  "do_resize": true, "image_grid_pinpoints": [[384, 384], [384, 768]],
  "image_mean": [0.5, 0.5, 0.5], "image_processor_type": "LlavaOnevisionImageProcessor",
  "image_std": [0.5, 0.5, 0.5], "processor_class": "LlavaOnevisionProcessor", "resample": 3,
  "rescale_factor": 0.00392156862745098, "size": {"height": 384, "width": 384}
})";

TEST(VideoPreprocessorConfigTest, DefaultsWithoutAFileAreTheReleasedCheckpoints) {
  vigil::testing::TempDir dir;
  const VideoPreprocessorConfig config = load_video_preprocessor_config(dir.path());
  EXPECT_EQ(config.size, (ImageSize{384, 384}));
  EXPECT_EQ(config.mean, kSiglipMean);
  EXPECT_EQ(config.std, kSiglipStd);
  EXPECT_DOUBLE_EQ(config.rescale_factor, 1.0 / 255.0);
  EXPECT_TRUE(config.do_resize && config.do_rescale && config.do_normalize);
  EXPECT_TRUE(config.source.empty());
  EXPECT_EQ(config.resize_arithmetic, ResizeArithmetic::kTorchUint8);

  const VideoPreprocessorConfig clip = VideoPreprocessorConfig::transformers_class_defaults();
  EXPECT_EQ(clip.mean, kOpenAiClipMean);
  EXPECT_EQ(clip.std, kOpenAiClipStd);
}

TEST(VideoPreprocessorConfigTest, ReadsTransformersVideoProcessorConfig) {
  vigil::testing::TempDir dir;
  write_file(dir.file("video_preprocessor_config.json"), kTransformersVideoConfig);
  const VideoPreprocessorConfig config = load_video_preprocessor_config(dir.path());
  EXPECT_EQ(config.source, dir.file("video_preprocessor_config.json"));
  EXPECT_EQ(config.size, (ImageSize{384, 384}));
  EXPECT_EQ(config.mean, kOpenAiClipMean);
  EXPECT_EQ(config.std, kOpenAiClipStd);
  EXPECT_DOUBLE_EQ(config.rescale_factor, 0.00392156862745098);
}

TEST(VideoPreprocessorConfigTest, FallsBackToPreprocessorConfigAndPrefersTheVideoOne) {
  vigil::testing::TempDir dir;
  write_file(dir.file("preprocessor_config.json"), kImageProcessorConfig);
  VideoPreprocessorConfig config = load_video_preprocessor_config(dir.path());
  EXPECT_EQ(config.source, dir.file("preprocessor_config.json"));
  EXPECT_EQ(config.mean, kSiglipMean);

  write_file(dir.file("video_preprocessor_config.json"), kTransformersVideoConfig);
  config = load_video_preprocessor_config(dir.path());
  EXPECT_EQ(config.source, dir.file("video_preprocessor_config.json"));
  EXPECT_EQ(config.mean, kOpenAiClipMean);
}

TEST(VideoPreprocessorConfigTest, AcceptsShortForms) {
  const VideoPreprocessorConfig config = parse_video_preprocessor_config(
      nlohmann::json::parse(R"({"size": 224, "image_mean": 0.25, "image_std": [1, 2, 4],
                                "do_rescale": false, "do_normalize": true, "crop_size": null})"),
      "inline");
  EXPECT_EQ(config.size, (ImageSize{224, 224}));
  EXPECT_EQ(config.mean, (std::array<double, 3>{0.25, 0.25, 0.25}));
  EXPECT_EQ(config.std, (std::array<double, 3>{1, 2, 4}));
  EXPECT_FALSE(config.do_rescale);
  EXPECT_TRUE(config.do_normalize);

  const VideoPreprocessorConfig rectangle = parse_video_preprocessor_config(
      nlohmann::json::parse(R"({"size": {"height": 70, "width": 140}})"), "x");
  EXPECT_EQ(rectangle.size, (ImageSize{140, 70}));
}

// The message of the PreprocessError that loading `text` as video_preprocessor_config.json throws.
std::string load_error(const std::string& text, std::string* path = nullptr) {
  vigil::testing::TempDir dir;
  write_file(dir.file("video_preprocessor_config.json"), text);
  if (path != nullptr) *path = dir.file("video_preprocessor_config.json");
  try {
    load_video_preprocessor_config(dir.path());
  } catch (const PreprocessError& error) {
    return error.what();
  }
  ADD_FAILURE() << "no PreprocessError for " << text;
  return "";
}

TEST(VideoPreprocessorConfigTest, MalformedConfigsAreTypedErrorsNamingFileAndKey) {
  std::string path;
  std::string message = load_error(R"({"size": {"height": 384,)", &path);
  EXPECT_NE(message.find(path), std::string::npos) << message;
  EXPECT_NE(message.find("not valid JSON"), std::string::npos) << message;

  EXPECT_NE(load_error("[1, 2, 3]").find("not a JSON object"), std::string::npos);

  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"image_std": [0.5, 0, 0.5]})", "'image_std'"},
      {R"({"image_std": [0.5, 0.5]})", "'image_std'"},
      {R"({"image_mean": "half"})", "'image_mean'"},
      {R"({"image_mean": [0.5, null, 0.5]})", "'image_mean'"},
      {R"({"rescale_factor": -1})", "'rescale_factor'"},
      {R"({"rescale_factor": "1/255"})", "'rescale_factor'"},
      {R"({"do_resize": "yes"})", "'do_resize'"},
      {R"({"size": {"height": 0, "width": 384}})", "'size'.height"},
      {R"({"size": {"height": 384}})", "'size'"},
      {R"({"size": {"width": 384.5, "height": 384}})", "'size'.width"},
      {R"({"size": [384, 384]})", "'size'"},
  };
  for (const auto& [text, key] : cases) {
    message = load_error(text, &path);
    EXPECT_NE(message.find(key), std::string::npos) << text << " -> " << message;
    EXPECT_NE(message.find(path), std::string::npos) << text << " -> " << message;
  }
}

TEST(VideoPreprocessorConfigTest, UnsupportedSettingsAreRefusedNotIgnored) {
  EXPECT_NE(load_error(R"({"size": {"shortest_edge": 384}})").find("shortest_edge"),
            std::string::npos);
  EXPECT_NE(load_error(R"({"resample": 2})").find("'resample'"), std::string::npos);
  EXPECT_NE(load_error(R"({"do_center_crop": true})").find("'do_center_crop'"), std::string::npos);
}

TEST(VideoPreprocessorConfigTest, InvalidConfigIsRefusedByThePreprocessor) {
  VideoPreprocessorConfig config;
  config.std = {0.5, 0.0, 0.5};
  EXPECT_THROW(VideoPreprocessor{config}, PreprocessError);
  config = VideoPreprocessorConfig{};
  config.size = {0, 384};
  EXPECT_THROW(VideoPreprocessor{config}, PreprocessError);
  config = VideoPreprocessorConfig{};
  config.rescale_factor = 0;
  EXPECT_THROW(VideoPreprocessor{config}, PreprocessError);
}

}  // namespace
}  // namespace vigil::vision

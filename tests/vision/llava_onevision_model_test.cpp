// The full LLaVA-OneVision forward against transformers 5.17 (tests/fixtures/llava_ov_tiny, CPU
// fp32): logits within 1e-4 of the largest logit with the video at the prompt's <video> ids
// (3 frames x 9 tokens + one image_newline), the identical 32-token greedy continuation, and
// errors for prompts and pixels that do not fit. Then the vigil binary: `vigil logits` with
// pixel_values_videos and `vigil ask` end to end on a real video.
#include "vision/llava_onevision_model.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>

#include "llm/checkpoint.h"
#include "llm/model_error.h"
#include "llm/safetensors_file.h"
#include "llm/safetensors_writer.h"
#include "llm/torch_tensors.h"
#include "tests/support/test_support.h"
#include "vision/vision_error.h"

namespace vigil::vision {
namespace {

using testing::run_command;
using testing::shell_quote;
using testing::TempDir;

const std::string kModel = std::string(VIGIL_FIXTURES) + "/llava_ov_tiny";
const std::string kReference = kModel + "/reference.safetensors";

torch::Tensor load(const std::string& path, const std::string& name) {
  const llm::SafetensorsFile file = llm::SafetensorsFile::open(path);
  const llm::TensorView& view = file.tensor(name);
  return llm::to_torch(view, torch::kCPU, llm::to_scalar_type(view.dtype)).clone();
}

double relative_error(const torch::Tensor& ours, const torch::Tensor& expected) {
  EXPECT_EQ(ours.sizes(), expected.sizes());
  if (ours.sizes() != expected.sizes()) return 1e9;
  return (ours - expected).abs().max().item<double>() / expected.abs().max().item<double>();
}

std::unique_ptr<LlavaOnevisionModel> load_model() {
  return LlavaOnevisionModel::load(llm::Checkpoint::open(kModel), torch::kCPU, torch::kFloat32);
}

TEST(LlavaOnevisionModel, LogitsWithTheVideoMatchTransformers) {
  const auto model = load_model();
  const torch::Tensor ids = load(kReference, "input_ids").squeeze(0);  // [37]
  llm::ContiguousKvCache cache(static_cast<int>(model->language_model().config().num_layers));
  const torch::Tensor hidden = model->forward(ids, load(kReference, "pixel_values_videos"), cache);
  const torch::Tensor logits = model->language_model().logits(hidden);
  EXPECT_LE(relative_error(logits, load(kReference, "logits").squeeze(0)), 1e-4);
  EXPECT_EQ(cache.length(), 37);
  EXPECT_EQ(model->vision_encoder().counters().frames, 3);
}

TEST(LlavaOnevisionModel, GreedyContinuationIsIdentical) {
  const auto model = load_model();
  const llm::Qwen2Model& language_model = model->language_model();
  const torch::Tensor ids = load(kReference, "input_ids").squeeze(0);
  const torch::Tensor expected = load(kReference, "greedy_ids").squeeze(0);  // [69]
  llm::ContiguousKvCache cache(static_cast<int>(language_model.config().num_layers));
  const torch::Tensor hidden = model->forward(ids, load(kReference, "pixel_values_videos"), cache);
  torch::Tensor last = language_model.logits(hidden)[ids.size(0) - 1];
  std::vector<int64_t> sequence(ids.data_ptr<int64_t>(), ids.data_ptr<int64_t>() + ids.size(0));
  while (sequence.size() < static_cast<size_t>(expected.size(0))) {
    sequence.push_back(last.argmax().item<int64_t>());
    const torch::Tensor position = torch::tensor({static_cast<int64_t>(sequence.size()) - 1});
    last = language_model.logits(language_model.forward(
        language_model.embed(torch::tensor({sequence.back()})), position, cache))[0];
  }
  EXPECT_TRUE(torch::equal(torch::tensor(sequence), expected))
      << "ours " << torch::tensor(sequence) << "\nreference " << expected;
}

TEST(LlavaOnevisionModel, TheVideoIsItsTokensThenOneNewline) {
  const auto model = load_model();
  EXPECT_EQ(model->video_placeholder_count(3), 28);
  EXPECT_EQ(model->video_placeholder_count(1), 10);
  const VideoTokens video =
      model->vision_encoder().encode_pixels(load(kReference, "pixel_values_videos").squeeze(0));
  const torch::Tensor rows = model->video_sequence(video);
  ASSERT_EQ(rows.sizes(), (std::vector<int64_t>{28, 64}));
  EXPECT_TRUE(torch::equal(rows.narrow(0, 0, 27), video.tokens.reshape({27, 64})));
  EXPECT_TRUE(torch::equal(rows[27], load(kModel + "/model.safetensors", "image_newline")));
  // Placed at the <video> ids (4..31 of the fixture's prompt), other rows are token embeddings.
  const torch::Tensor ids = load(kReference, "input_ids").squeeze(0);
  const torch::Tensor embedded = model->embed(ids, rows);
  EXPECT_TRUE(torch::equal(embedded.narrow(0, 4, 28), rows));
  EXPECT_TRUE(
      torch::equal(embedded.narrow(0, 0, 4), model->language_model().embed(ids.narrow(0, 0, 4))));
}

TEST(LlavaOnevisionModel, APlaceholderCountThatDiffersFromTheVideoIsAnError) {
  const auto model = load_model();
  torch::Tensor ids = load(kReference, "input_ids").squeeze(0);
  ids[4] = 9;  // one <video> fewer: 27
  llm::ContiguousKvCache cache(2);
  try {
    model->forward(ids, load(kReference, "pixel_values_videos"), cache);
    ADD_FAILURE() << "no error";
  } catch (const VisionInputError& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("27 <video> tokens (id 251)"), std::string::npos) << message;
    EXPECT_NE(message.find("gives 28 rows"), std::string::npos) << message;
  }
  // Two videos in one pixel_values_videos batch are not taken either.
  EXPECT_THROW(model->forward(load(kReference, "input_ids").squeeze(0),
                              torch::zeros({2, 3, 3, 70, 70}), cache),
               VisionInputError);
}

void copy_file(const std::string& from, const std::string& to) {
  std::ifstream in(from, std::ios::binary);
  std::ofstream out(to, std::ios::binary);
  out << in.rdbuf();
}

TEST(LlavaOnevisionModel, AConfigWithoutVisionConfigIsALoadError) {
  TempDir dir;
  nlohmann::json config = nlohmann::json::parse(std::ifstream(kModel + "/config.json"));
  config.erase("vision_config");
  std::ofstream(dir.file("config.json")) << config.dump();
  copy_file(kModel + "/model.safetensors", dir.file("model.safetensors"));
  try {
    LlavaOnevisionModel::load(llm::Checkpoint::open(dir.path()), torch::kCPU, torch::kFloat32);
    ADD_FAILURE() << "no error";
  } catch (const llm::ModelLoadError& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find(dir.file("config.json")), std::string::npos) << message;
    EXPECT_NE(message.find("'vision_config' is missing"), std::string::npos) << message;
  }
}

// ---- the vigil binary ------------------------------------------------------------------------

TEST(LogitsCommandWithVideo, MatchesTransformersAndContinuesGreedily) {
  TempDir dir;
  const std::string output = dir.file("out.safetensors");
  const testing::CommandResult run = run_command(
      std::string(VIGIL_BINARY) + " logits --model " + shell_quote(kModel) + " --inputs " +
      shell_quote(kReference) + " --output " + shell_quote(output) + " --generate 32");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_LE(relative_error(load(output, "logits"), load(kReference, "logits")), 1e-4);
  EXPECT_TRUE(torch::equal(load(output, "greedy_ids"), load(kReference, "greedy_ids")));
  EXPECT_LE(relative_error(load(output, "video_features"), load(kReference, "pooled_features")),
            1e-4);
}

TEST(LogitsCommandWithVideo, AWrongPixelShapeIsAClearError) {
  TempDir dir;
  const torch::Tensor ids = load(kReference, "input_ids");
  const torch::Tensor pixels = torch::zeros({1, 3, 3, 64, 64});
  llm::write_safetensors(
      dir.file("in.safetensors"),
      {{"input_ids", llm::DType::kI64, {1, 37}, ids.data_ptr<int64_t>()},
       {"pixel_values_videos", llm::DType::kF32, {1, 3, 3, 64, 64}, pixels.data_ptr<float>()}});
  const testing::CommandResult run =
      run_command(std::string(VIGIL_BINARY) + " logits --model " + shell_quote(kModel) +
                  " --inputs " + shell_quote(dir.file("in.safetensors")) + " --output " +
                  shell_quote(dir.file("out.safetensors")) + " 2>&1");
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.output.find("[3, 3, 64, 64]"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("[frames >= 1, 3, 70, 70]"), std::string::npos) << run.output;
}

TEST(AskCommand, AnswersAboutARealVideoEndToEnd) {
  const std::string video = testing::opencv_sample("vtest.avi");
  if (!testing::file_exists(video)) GTEST_SKIP() << "opencv-doc's vtest.avi is not installed";
  const testing::CommandResult run =
      run_command(std::string(VIGIL_BINARY) + " ask --model " + shell_quote(kModel) + " --video " +
                  shell_quote(video) + " --question 'What happened in the video?' --fps 0.5" +
                  " --max-frames 4 --max-tokens 12 --show-prompt 2>&1");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  // The chat template's prompt, the <video> expanded (4 frames x 9 + 1 newline = 37 ids).
  EXPECT_NE(run.output.find("<|im_start|>user\n<video>\nWhat happened in the video?<|im_end|>\n"
                            "<|im_start|>assistant\n"),
            std::string::npos)
      << run.output;
  EXPECT_NE(run.output.find("4 frames decoded"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("4 frames encoded to 36 video tokens"), std::string::npos)
      << run.output;
  std::smatch generated;
  ASSERT_TRUE(std::regex_search(run.output, generated, std::regex("generated (\\d+) tokens")))
      << run.output;
  EXPECT_GT(std::stoi(generated[1]), 0) << run.output;
}

TEST(AskCommand, ACheckpointWithoutTokenizerIsAClearError) {
  TempDir dir;
  copy_file(kModel + "/config.json", dir.file("config.json"));
  copy_file(kModel + "/model.safetensors", dir.file("model.safetensors"));
  const testing::CommandResult run =
      run_command(std::string(VIGIL_BINARY) + " ask --model " + shell_quote(dir.path()) +
                  " --video /nonexistent.mp4 --question hi 2>&1");
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.output.find("tokenizer.json"), std::string::npos) << run.output;
}

}  // namespace
}  // namespace vigil::vision

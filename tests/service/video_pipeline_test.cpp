// The video path end to end on the tiny LLaVA-OneVision fixture (CPU fp32): frames streamed
// into memory and a question answered from it give the logits of one full forward over the
// same prompt; Differential Token Drop on decoded and drawn video.
#include "service/video_pipeline.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "decoder/frame_source.h"
#include "decoder/media_source.h"
#include "llm/chat_template_builtins.h"
#include "llm/checkpoint.h"
#include "llm/safetensors_file.h"
#include "llm/torch_tensors.h"
#include "tests/support/test_support.h"

namespace vigil::service {
namespace {

const std::string kModelDir = std::string(VIGIL_FIXTURES) + "/llava_ov_tiny";

struct Rgb {
  int width = 0, height = 0;
  std::vector<uint8_t> bytes;
  vision::RgbImageView view() const { return {bytes.data(), {width, height}}; }
};

// The fixture's video frames (uint8 [F, 3, H, W]) as packed RGB24.
std::vector<Rgb> fixture_frames() {
  const llm::SafetensorsFile reference =
      llm::SafetensorsFile::open(kModelDir + "/reference.safetensors");
  const torch::Tensor video =
      llm::to_torch(reference.tensor("video_uint8"), torch::kCPU, torch::kUInt8)
          .permute({0, 2, 3, 1})
          .contiguous();
  std::vector<Rgb> frames;
  for (int64_t f = 0; f < video.size(0); ++f) {
    Rgb frame{static_cast<int>(video.size(2)), static_cast<int>(video.size(1)), {}};
    frame.bytes.assign(video[f].data_ptr<uint8_t>(),
                       video[f].data_ptr<uint8_t>() + video[f].numel());
    frames.push_back(std::move(frame));
  }
  return frames;
}

// A gray frame with a white square at (x, y).
Rgb square_frame(int width, int height, int size, int x, int y) {
  Rgb frame{width, height, std::vector<uint8_t>(static_cast<size_t>(width) * height * 3, 60)};
  for (int row = y; row < y + size && row < height; ++row) {
    for (int col = x; col < x + size && col < width; ++col) {
      std::memset(&frame.bytes[(static_cast<size_t>(row) * width + col) * 3], 250, 3);
    }
  }
  return frame;
}

class VideoPipelineTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    checkpoint_ = std::make_unique<llm::Checkpoint>(llm::Checkpoint::open(kModelDir));
    model_ = vision::LlavaOnevisionModel::load(*checkpoint_, torch::kCPU, torch::kFloat32);
    tokenizer_ =
        std::make_unique<llm::Tokenizer>(llm::Tokenizer::load(kModelDir + "/tokenizer.json"));
    template_ = std::make_unique<llm::ChatTemplate>(
        llm::ChatTemplate::load_or_builtin(kModelDir, llm::BuiltinChatTemplate::kLlavaOnevision));
  }
  static void TearDownTestSuite() {
    template_.reset();
    tokenizer_.reset();
    model_.reset();
    checkpoint_.reset();
  }

  // Everything kept, nothing quantized, every block in reach: the exact configuration.
  static VideoPipelineConfig exact_config() {
    VideoPipelineConfig config;
    config.token_drop.enabled = false;
    config.memory.streaming.window_tokens = 1 << 20;
    config.memory.tiers.quantize = false;
    config.memory.answer.retrieval.min_blocks = 1 << 20;
    config.memory.answer.retrieval.max_blocks = 1 << 20;
    config.memory.answer.retrieval.score_fraction = 1.0;
    return config;
  }

  // Logits of the question part from one forward over prefix + all frames + question.
  torch::Tensor full_forward_question_logits(const VideoPipeline& pipeline,
                                             const std::vector<vision::RgbImageView>& frames,
                                             const std::string& question) {
    const std::vector<int32_t> prefix =
        tokenizer_->encode(pipeline.prompt_prefix(), /*allow_special=*/true);
    const std::vector<int32_t> suffix =
        tokenizer_->encode(pipeline.prompt_suffix(question), /*allow_special=*/true);
    std::vector<int64_t> ids(prefix.begin(), prefix.end());
    const int64_t video_ids = model_->video_placeholder_count(static_cast<int64_t>(frames.size()));
    ids.insert(ids.end(), static_cast<size_t>(video_ids), model_->video_token_id());
    ids.insert(ids.end(), suffix.begin(), suffix.end());
    const torch::Tensor id_tensor = torch::tensor(ids, torch::kInt64);
    const vision::VideoTokens video = model_->vision_encoder().encode_frames(frames);
    const llm::Qwen2Model& language = model_->language_model();
    llm::ContiguousKvCache cache(static_cast<int>(language.config().num_layers));
    const torch::Tensor hidden =
        language.forward(model_->embed(id_tensor, model_->video_sequence(video)),
                         torch::arange(static_cast<int64_t>(ids.size())), cache);
    // The question part starts at the video's last row (image_newline).
    const int64_t start = static_cast<int64_t>(prefix.size()) + video_ids - 1;
    return language.logits(hidden.narrow(0, start, hidden.size(0) - start));
  }

  static std::unique_ptr<llm::Checkpoint> checkpoint_;
  static std::unique_ptr<vision::LlavaOnevisionModel> model_;
  static std::unique_ptr<llm::Tokenizer> tokenizer_;
  static std::unique_ptr<llm::ChatTemplate> template_;
};

std::unique_ptr<llm::Checkpoint> VideoPipelineTest::checkpoint_;
std::unique_ptr<vision::LlavaOnevisionModel> VideoPipelineTest::model_;
std::unique_ptr<llm::Tokenizer> VideoPipelineTest::tokenizer_;
std::unique_ptr<llm::ChatTemplate> VideoPipelineTest::template_;

double relative_error(const torch::Tensor& actual, const torch::Tensor& expected) {
  return (actual - expected).abs().max().item<double>() / expected.abs().max().item<double>();
}

TEST_F(VideoPipelineTest, StreamedMemoryAnswersLikeOneFullForward) {
  const std::vector<Rgb> frames = fixture_frames();
  std::vector<vision::RgbImageView> views;
  for (const Rgb& frame : frames) views.push_back(frame.view());
  const std::string question = "What happens in the video?";

  // Retrieved from the index (no recent blocks), and all from the recent window.
  for (const int64_t recent_tokens : {int64_t{0}, int64_t{1} << 20}) {
    VideoPipelineConfig config = exact_config();
    config.memory.answer.recent_tokens = recent_tokens;
    const VideoPipeline pipeline(*model_, *tokenizer_, *template_, config);
    const std::unique_ptr<VideoStream> stream = pipeline.open_stream(nullptr);
    // Frames arrive in two steps, as a live stream's would.
    pipeline.ingest(*stream, {views[0]}, {0.0}, 1.0);
    const IngestStep step = pipeline.ingest(*stream, {views[1], views[2]}, {1.0, 2.0}, 1.0);
    EXPECT_EQ(step.frames, 2);
    EXPECT_EQ(step.tokens_kept, step.tokens_in);
    EXPECT_EQ(stream->blocks(), 3);

    const torch::Tensor streamed =
        pipeline.question_logits(*stream, question, config.memory.answer);
    const torch::Tensor full = full_forward_question_logits(pipeline, views, question);
    ASSERT_EQ(streamed.sizes(), full.sizes());
    EXPECT_LE(relative_error(streamed, full), 1e-4) << "recent_tokens " << recent_tokens;
  }
}

TEST_F(VideoPipelineTest, ThresholdOneKeepsEverythingAndAnswersAsWithoutTokenDrop) {
  const std::vector<Rgb> frames = fixture_frames();
  std::vector<vision::RgbImageView> views;
  for (const Rgb& frame : frames) views.push_back(frame.view());
  views.push_back(views.back());  // a repeated frame: dropped entirely at any threshold < 1

  VideoPipelineConfig off = exact_config();
  VideoPipelineConfig at_one = exact_config();
  at_one.token_drop = {true, 1.0};
  const VideoPipeline without(*model_, *tokenizer_, *template_, off);
  const VideoPipeline with(*model_, *tokenizer_, *template_, at_one);
  const auto a = without.open_stream(nullptr);
  const auto b = with.open_stream(nullptr);
  const std::vector<double> times{0, 1, 2, 3};
  without.ingest(*a, views, times, 1.0);
  const IngestStep step = with.ingest(*b, views, times, 1.0);
  EXPECT_EQ(step.tokens_kept, step.tokens_in);
  const torch::Tensor la = without.question_logits(*a, "Why?", off.memory.answer);
  const torch::Tensor lb = with.question_logits(*b, "Why?", at_one.memory.answer);
  EXPECT_TRUE(torch::equal(la, lb));
}

TEST_F(VideoPipelineTest, StaticVideoKeepsOnlyTheFirstFrame) {
  VideoPipelineConfig config = exact_config();
  config.token_drop = {true, 0.5};
  const VideoPipeline pipeline(*model_, *tokenizer_, *template_, config);
  const auto stream = pipeline.open_stream(nullptr);
  const Rgb frame = square_frame(140, 140, 30, 50, 50);
  std::vector<vision::RgbImageView> views(20, frame.view());
  std::vector<double> times;
  for (int i = 0; i < 20; ++i) times.push_back(i);
  const IngestStep step = pipeline.ingest(*stream, views, times, 1.0);
  EXPECT_DOUBLE_EQ(step.drop_ratios[0], 0.0);
  const int64_t per_frame = step.tokens_in / 20;
  const int64_t later_kept = step.tokens_kept - per_frame;
  EXPECT_LE(later_kept, (step.tokens_in - per_frame) / 100);  // >= 99% of later tokens dropped
  EXPECT_EQ(stream->blocks(), 1);
}

TEST_F(VideoPipelineTest, HardCutKeepsTheNextFrame) {
  // A street camera (vtest.avi) cut to a cockatoo (cockatoo.mp4), real decoded frames. The
  // random tiny model's tokens share a large common component (random projector biases), so
  // even unrelated pictures stay similar at some positions: it keeps 6 of 9 tokens here. The
  // issue's ">= 90% after a cut" holds for unrelated tokens (token_drop_test.cpp,
  // HardCutKeepsNearlyEverything); with real weights it needs a real checkpoint to show.
  const std::string street = testing::opencv_sample("vtest.avi");
  const std::string bird = testing::imageio_sample("cockatoo.mp4");
  if (!testing::file_exists(street) || !testing::file_exists(bird))
    GTEST_SKIP() << "samples missing";
  const auto first_frame = [](const std::string& path) {
    decoder::DecodeOptions options;
    options.sampling = decoder::SampleRequest::at_times({0.5});
    const auto source = decoder::open_frame_source(decoder::MediaSource::file(path), options);
    std::optional<decoder::Frame> frame = source->next();
    EXPECT_TRUE(frame.has_value()) << path;
    return Rgb{frame->width, frame->height, std::move(frame->rgb)};
  };
  const Rgb a = first_frame(street);
  const Rgb b = first_frame(bird);
  VideoPipelineConfig config = exact_config();
  config.token_drop = {true, 0.5};
  const VideoPipeline pipeline(*model_, *tokenizer_, *template_, config);
  const auto stream = pipeline.open_stream(nullptr);
  const IngestStep step = pipeline.ingest(*stream, {a.view(), a.view(), b.view()}, {0, 1, 2}, 1.0);
  EXPECT_DOUBLE_EQ(step.drop_ratios[0], 0.0);
  EXPECT_DOUBLE_EQ(step.drop_ratios[1], 1.0);
  EXPECT_LE(step.drop_ratios[2], 0.5) << "a cut must keep most of the next frame";
}

}  // namespace
}  // namespace vigil::service

// LLaVA-OneVision's video encoder against transformers 5.17 (tests/fixtures/llava_ov_tiny, CPU
// fp32, made by tools/make_fixtures.py): SigLIP features before post_layernorm, projected and
// pooled tokens within 1e-4 of the largest value; the bilinear pooling on known grids; the
// preprocessing of the fixture's uint8 frames; weights under the hub's key layout; errors for
// bad configs and pixel shapes.
#include "vision/siglip_encoder.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "llm/checkpoint.h"
#include "llm/model_error.h"
#include "llm/safetensors_file.h"
#include "llm/safetensors_writer.h"
#include "llm/torch_tensors.h"
#include "tests/support/test_support.h"
#include "vision/llava_onevision_config.h"
#include "vision/video_pooling.h"
#include "vision/vision_encoder.h"
#include "vision/vision_error.h"

namespace vigil::vision {
namespace {

const std::string kModel = std::string(VIGIL_FIXTURES) + "/llava_ov_tiny";

torch::Tensor reference(const std::string& name) {
  const llm::SafetensorsFile file = llm::SafetensorsFile::open(kModel + "/reference.safetensors");
  const llm::TensorView& view = file.tensor(name);
  return llm::to_torch(view, torch::kCPU, llm::to_scalar_type(view.dtype)).clone();
}

// max |ours - expected| / max |expected|.
double relative_error(const torch::Tensor& ours, const torch::Tensor& expected) {
  EXPECT_EQ(ours.sizes(), expected.sizes());
  if (ours.sizes() != expected.sizes()) return 1e9;
  return (ours.to(torch::kFloat32) - expected).abs().max().item<double>() /
         expected.abs().max().item<double>();
}

std::unique_ptr<SiglipEncoder> load_encoder(const std::string& dir = kModel) {
  const llm::Checkpoint checkpoint = llm::Checkpoint::open(dir);
  return SiglipEncoder::load(
      checkpoint, parse_llava_onevision_config(checkpoint.config(), dir + "/config.json"),
      torch::kCPU, torch::kFloat32);
}

TEST(SiglipEncoder, TowerFeaturesMatchTransformersBeforePostLayerNorm) {
  const auto encoder = load_encoder();
  const torch::Tensor pixels = reference("pixel_values_videos").squeeze(0);  // [3, 3, 70, 70]
  const torch::Tensor features = encoder->tower().forward(pixels);
  EXPECT_EQ(encoder->tower().feature_layers(), 2);
  EXPECT_LE(relative_error(features, reference("vision_features")), 1e-4);
}

TEST(SiglipEncoder, ProjectedAndPooledTokensMatchTransformers) {
  const auto encoder = load_encoder();
  const torch::Tensor pixels = reference("pixel_values_videos").squeeze(0);
  const torch::Tensor projected = encoder->projector().forward(encoder->tower().forward(pixels));
  EXPECT_LE(relative_error(projected, reference("projected_features")), 1e-4);
  EXPECT_LE(relative_error(encoder->pool(projected), reference("pooled_features")), 1e-4);

  const VideoTokens video = encoder->encode_pixels(pixels);
  EXPECT_LE(relative_error(video.tokens, reference("pooled_features")), 1e-4);
  EXPECT_EQ(video.layout.groups, 3);
  EXPECT_EQ(video.layout.rows, 3);
  EXPECT_EQ(video.layout.cols, 3);
  EXPECT_EQ(video.layout.tokens(), 27);
  EXPECT_EQ(encoder->output_dim(), 64);
}

TEST(SiglipEncoder, BatchesGiveTheSameTokensAsOnePass) {
  const llm::Checkpoint checkpoint = llm::Checkpoint::open(kModel);
  VisionEncoderOptions options;
  options.max_batch = 2;  // 3 frames: a batch of 2 and one of 1
  const auto encoder = load_vision_encoder(checkpoint, torch::kCPU, torch::kFloat32, options);
  const VideoTokens video = encoder->encode_pixels(reference("pixel_values_videos").squeeze(0));
  EXPECT_LE(relative_error(video.tokens, reference("pooled_features")), 1e-4);
  EXPECT_EQ(encoder->counters().batches, 2);
  EXPECT_EQ(encoder->counters().frames, 3);
  EXPECT_EQ(encoder->counters().tokens, 27);
  EXPECT_EQ(encoder->name(), "siglip");
}

TEST(SiglipEncoder, EncodesRgbFramesThroughTheModelsPreprocessing) {
  const auto encoder = load_encoder();
  // The fixture's frames after transformers' resize, uint8 [F, 3, 70, 70] -> packed RGB24.
  const torch::Tensor video = reference("video_uint8").permute({0, 2, 3, 1}).contiguous();
  std::vector<RgbImageView> frames;
  for (int64_t f = 0; f < video.size(0); ++f) {
    frames.push_back({video[f].data_ptr<uint8_t>(), ImageSize{70, 70}});
  }
  const torch::Tensor pixels = encoder->preprocess(frames);
  const torch::Tensor expected = reference("pixel_values_videos").squeeze(0);
  EXPECT_LE((pixels - expected).abs().max().item<double>(), 1e-6);
  EXPECT_LE(relative_error(encoder->encode_frames(frames).tokens, reference("pooled_features")),
            1e-4);
}

TEST(SiglipEncoder, LoadsTheHubKeyLayout) {
  // Hub checkpoints name the tower vision_tower.vision_model.X; transformers v5 saves
  // vision_tower.X (the fixture). Both must load to the same tower.
  testing::TempDir dir;
  const llm::SafetensorsFile original = llm::SafetensorsFile::open(kModel + "/model.safetensors");
  std::vector<llm::TensorToWrite> renamed;
  for (const auto& [name, view] : original.tensors()) {
    std::string hub_name = name;
    if (name.rfind("vision_tower.", 0) == 0) {
      hub_name = "vision_tower.vision_model." + name.substr(std::string("vision_tower.").size());
    }
    renamed.push_back({hub_name, view.dtype, view.shape, view.data});
  }
  llm::write_safetensors(dir.file("model.safetensors"), renamed);
  {
    std::ifstream in(kModel + "/config.json");
    std::ofstream out(dir.file("config.json"));
    out << in.rdbuf();
  }
  const auto encoder = load_encoder(dir.path());
  const torch::Tensor features =
      encoder->tower().forward(reference("pixel_values_videos").squeeze(0));
  EXPECT_LE(relative_error(features, reference("vision_features")), 1e-4);
}

TEST(VideoPooling, IsBilinearWithHalfPixelCentresNotAveraging) {
  // A linear ramp v(r, c) = 5r + c is reproduced exactly by bilinear sampling at
  // s_i = (i + 0.5) * in / out - 0.5: for 5 -> 3, s = 1/3, 2, 11/3.
  const torch::Tensor ramp = torch::arange(25, torch::kFloat32).view({1, 25, 1});
  const torch::Tensor pooled = pool_video_tokens(ramp, 5, 5).view({3, 3});
  const std::vector<double> s = {1.0 / 3.0, 2.0, 11.0 / 3.0};
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 3; ++j) {
      EXPECT_NEAR(pooled[i][j].item<double>(), 5 * s[i] + s[j], 1e-5) << i << "," << j;
    }
  }
  // 27 x 27 -> 14 x 14 (the released checkpoints), 4 frames, 8 channels; channel c scales c.
  const torch::Tensor grid = torch::arange(27 * 27, torch::kFloat32).view({1, 729, 1});
  const torch::Tensor frames = (grid * torch::arange(1, 9, torch::kFloat32)).repeat({4, 1, 1});
  const torch::Tensor large = pool_video_tokens(frames, 27, 27);
  ASSERT_EQ(large.sizes(), (std::vector<int64_t>{4, 196, 8}));
  const double s0 = 0.5 * 27 / 14 - 0.5, s13 = 13.5 * 27 / 14 - 0.5;
  EXPECT_NEAR(large[2][0][0].item<double>(), 27 * s0 + s0, 1e-3);
  EXPECT_NEAR(large[3][195][7].item<double>(), 8 * (27 * s13 + s13), 1e-2);
  EXPECT_EQ(pooled_side(27), 14);
  EXPECT_EQ(pooled_side(5), 3);
}

TEST(VideoPooling, RejectsATokenCountThatIsNotTheGrid) {
  EXPECT_THROW(pool_video_tokens(torch::zeros({2, 24, 4}), 5, 5), VisionInputError);
}

TEST(SiglipEncoderErrors, WrongPixelShapesNameTheShapeExpected) {
  const auto encoder = load_encoder();
  for (const std::vector<int64_t>& shape : std::vector<std::vector<int64_t>>{
           {3, 3, 64, 64}, {3, 4, 70, 70}, {1, 3, 3, 70, 70}, {0, 3, 70, 70}}) {
    try {
      encoder->encode_pixels(torch::zeros(shape));
      ADD_FAILURE() << "no error for " << torch::IntArrayRef(shape);
    } catch (const VisionInputError& error) {
      EXPECT_NE(std::string(error.what()).find("[frames >= 1, 3, 70, 70]"), std::string::npos)
          << error.what();
    }
  }
  EXPECT_THROW(encoder->tower().forward(torch::zeros({2, 3, 70, 70}, torch::kInt64)),
               VisionInputError);
}

nlohmann::json fixture_config() {
  std::ifstream in(kModel + "/config.json");
  return nlohmann::json::parse(in);
}

void expect_config_error(const nlohmann::json& config, const std::string& needle) {
  try {
    parse_llava_onevision_config(config, "dir/config.json");
    ADD_FAILURE() << "no error; expected one mentioning " << needle;
  } catch (const llm::ModelLoadError& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("dir/config.json"), std::string::npos) << message;
    EXPECT_NE(message.find(needle), std::string::npos) << message;
  }
}

TEST(LlavaOnevisionConfig, ParsesTheFixture) {
  const LlavaOnevisionConfig config = parse_llava_onevision_config(fixture_config(), "config.json");
  EXPECT_EQ(config.vision.hidden_size, 32);
  EXPECT_EQ(config.vision.num_patches(), 25);
  EXPECT_EQ(config.vision.head_dim(), 8);
  EXPECT_EQ(config.feature_layers, 2);  // vision_feature_layer -1 of 2 layers
  EXPECT_EQ(config.text_hidden_size, 64);
  EXPECT_EQ(config.video_token_id, 251);
  EXPECT_EQ(config.image_token_id, 250);
  EXPECT_EQ(config.projector_act, "gelu");
  EXPECT_TRUE(config.projector_bias);
}

TEST(LlavaOnevisionConfig, ResolvesFeatureLayersLikeHiddenStatesIndexing) {
  nlohmann::json config = fixture_config();
  config["vision_feature_layer"] = -2;  // hidden_states[-2]: the output of layer 1 of 2
  EXPECT_EQ(parse_llava_onevision_config(config, "c").feature_layers, 1);
  config["vision_feature_layer"] = 0;  // the embeddings
  EXPECT_EQ(parse_llava_onevision_config(config, "c").feature_layers, 0);
}

TEST(LlavaOnevisionConfig, ErrorsNameTheFileAndKey) {
  nlohmann::json config = fixture_config();
  config.erase("vision_config");
  expect_config_error(config, "'vision_config' is missing");

  config = fixture_config();
  config["vision_config"].erase("patch_size");
  expect_config_error(config, "'patch_size' is missing");

  config = fixture_config();
  config["vision_config"]["image_size"] = 13;
  expect_config_error(config, "smaller than patch_size");

  config = fixture_config();
  config["vision_feature_layer"] = -4;
  expect_config_error(config, "vision_feature_layer -4 is out of range");

  config = fixture_config();
  config["vision_feature_layer"] = {-2, -1};
  expect_config_error(config, "lists of layers are not implemented");

  config = fixture_config();
  config["vision_feature_select_strategy"] = "default";
  expect_config_error(config, "vision_feature_select_strategy 'default'");

  config = fixture_config();
  config["projector_hidden_act"] = "relu";
  expect_config_error(config, "projector_hidden_act 'relu'");

  config = fixture_config();
  config["model_type"] = "llava";
  expect_config_error(config, "model_type 'llava'");

  config = fixture_config();
  config["vision_config"]["hidden_act"] = "quick_gelu";
  expect_config_error(config, "hidden_act 'quick_gelu'");
}

TEST(SiglipEncoderErrors, MissingTensorNamesTheCheckpointAndTensor) {
  testing::TempDir dir;
  const llm::SafetensorsFile original = llm::SafetensorsFile::open(kModel + "/model.safetensors");
  std::vector<llm::TensorToWrite> kept;
  for (const auto& [name, view] : original.tensors()) {
    if (name == "multi_modal_projector.linear_2.weight") continue;
    kept.push_back({name, view.dtype, view.shape, view.data});
  }
  llm::write_safetensors(dir.file("model.safetensors"), kept);
  {
    std::ofstream out(dir.file("config.json"));
    out << fixture_config().dump();
  }
  try {
    load_encoder(dir.path());
    ADD_FAILURE() << "no error for a missing projector weight";
  } catch (const llm::ModelLoadError& error) {
    EXPECT_NE(std::string(error.what()).find("linear_2.weight"), std::string::npos) << error.what();
  }
}

}  // namespace
}  // namespace vigil::vision

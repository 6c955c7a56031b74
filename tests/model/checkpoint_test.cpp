// The safetensors reader and checkpoint loader: real fixtures load; every kind of broken file
// gives a ModelLoadError that names the file and, where it applies, the tensor.
#include "llm/checkpoint.h"

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>

#include "llm/model_error.h"
#include "llm/qwen2_config.h"
#include "llm/safetensors_file.h"
#include "tests/support/test_support.h"

namespace vigil::llm {
namespace {

const std::string kFixtures = VIGIL_FIXTURES;

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

// A safetensors file with one header and the given number of data bytes.
std::string safetensors_bytes(const std::string& header, size_t data_bytes) {
  std::string bytes(8, '\0');
  const uint64_t size = header.size();
  std::memcpy(bytes.data(), &size, 8);
  return bytes + header + std::string(data_bytes, '\x01');
}

template <typename F>
std::string load_error(F&& load) {
  try {
    load();
  } catch (const ModelLoadError& error) {
    return error.what();
  }
  return "no error";
}

TEST(SafetensorsFile, ReadsFixtureTensorsWithShapesAndDtypes) {
  const SafetensorsFile file = SafetensorsFile::open(kFixtures + "/qwen2_bf16/model.safetensors");
  const TensorView& embed = file.tensor("model.embed_tokens.weight");
  EXPECT_EQ(embed.dtype, DType::kBF16);
  EXPECT_EQ(embed.shape, (std::vector<int64_t>{1024, 96}));
  EXPECT_EQ(embed.bytes, 1024u * 96u * 2u);
  const SafetensorsFile reference =
      SafetensorsFile::open(kFixtures + "/qwen2_bf16/reference.safetensors");
  EXPECT_EQ(reference.tensor("input_ids").dtype, DType::kI64);
  EXPECT_EQ(reference.metadata().at("transformers"), "5.17.0");
}

TEST(SafetensorsFile, BrokenFilesNameTheFileAndTheProblem) {
  testing::TempDir dir;
  const std::string path = dir.file("broken.safetensors");
  EXPECT_NE(load_error([&] {
              SafetensorsFile::open(dir.file("missing.safetensors"));
            }).find("missing.safetensors: cannot open"),
            std::string::npos);

  write_bytes(path, "abc");
  EXPECT_NE(load_error([&] { SafetensorsFile::open(path); }).find("truncated"), std::string::npos);

  write_bytes(path, safetensors_bytes("{not json", 0));
  EXPECT_NE(load_error([&] { SafetensorsFile::open(path); }).find("malformed header"),
            std::string::npos);

  write_bytes(path,
              safetensors_bytes(R"({"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}})", 8));
  const std::string truncated = load_error([&] { SafetensorsFile::open(path); });
  EXPECT_NE(truncated.find("'w'"), std::string::npos) << truncated;
  EXPECT_NE(truncated.find("truncated"), std::string::npos) << truncated;

  write_bytes(
      path, safetensors_bytes(R"({"w":{"dtype":"F8_E4M3","shape":[2],"data_offsets":[0,2]}})", 2));
  EXPECT_NE(load_error([&] { SafetensorsFile::open(path); }).find("unsupported dtype 'F8_E4M3'"),
            std::string::npos);

  write_bytes(path,
              safetensors_bytes(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8));
  EXPECT_NE(load_error([&] { SafetensorsFile::open(path); }).find("do not hold its shape"),
            std::string::npos);

  write_bytes(path,
              safetensors_bytes(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 8));
  const SafetensorsFile ok = SafetensorsFile::open(path);
  EXPECT_NE(load_error([&] { ok.tensor("absent"); }).find("missing tensor 'absent'"),
            std::string::npos);
}

TEST(Checkpoint, FindsTensorsUnderEitherLayoutAndChecksShapes) {
  const Checkpoint checkpoint = Checkpoint::open(kFixtures + "/llava_ov_tiny");
  EXPECT_NE(checkpoint.find({"model.language_model.embed_tokens.weight",
                             "language_model.model.embed_tokens.weight"}),
            nullptr);
  const std::string wrong_shape =
      load_error([&] { checkpoint.require({"language_model.model.norm.weight"}, {65}); });
  EXPECT_NE(wrong_shape.find("has shape [64], expected [65]"), std::string::npos) << wrong_shape;
  const std::string missing =
      load_error([&] { checkpoint.require({"language_model.model.nothing"}, {1}); });
  EXPECT_NE(missing.find("llava_ov_tiny: missing tensor 'language_model.model.nothing'"),
            std::string::npos)
      << missing;
}

TEST(Checkpoint, MalformedConfigAndMissingWeightsAreClearErrors) {
  testing::TempDir dir;
  EXPECT_NE(load_error([&] { Checkpoint::open(dir.path()); }).find("config.json: cannot open"),
            std::string::npos);
  write_bytes(dir.file("config.json"), "{\"model_type\": ");
  EXPECT_NE(load_error([&] { Checkpoint::open(dir.path()); }).find("config.json: malformed JSON"),
            std::string::npos);
  write_bytes(dir.file("config.json"), "{\"model_type\": \"qwen2\"}");
  EXPECT_NE(load_error([&] { Checkpoint::open(dir.path()); }).find("no model.safetensors"),
            std::string::npos);
}

TEST(Qwen2Config, ReadsBothFamiliesAndRejectsBadShapes) {
  const Checkpoint qwen = Checkpoint::open(kFixtures + "/qwen2_odd5_tied");
  const Qwen2Config config = qwen2_config_of_checkpoint(qwen.config(), "qwen2_odd5_tied");
  EXPECT_EQ(config.num_heads, 5);
  EXPECT_EQ(config.num_kv_heads, 1);
  EXPECT_EQ(config.head_dim, 12);
  EXPECT_DOUBLE_EQ(config.rope_theta, 1e4);
  EXPECT_TRUE(config.tie_word_embeddings);

  const Checkpoint llava = Checkpoint::open(kFixtures + "/llava_ov_tiny");
  const Qwen2Config text = qwen2_config_of_checkpoint(llava.config(), "llava");
  EXPECT_EQ(text.hidden_size, 64);
  EXPECT_EQ(text.weight_prefix, "language_model.model.");
  EXPECT_DOUBLE_EQ(text.rope_theta, 1e6);

  nlohmann::json bad = qwen.config();
  bad["num_key_value_heads"] = 2;  // 5 heads do not split into 2 groups
  EXPECT_NE(load_error([&] { qwen2_config_of_checkpoint(bad, "cfg"); }).find("multiple of"),
            std::string::npos);
  bad = qwen.config();
  bad.erase("hidden_size");
  EXPECT_NE(load_error([&] { qwen2_config_of_checkpoint(bad, "cfg"); }).find("'hidden_size'"),
            std::string::npos);
  bad = qwen.config();
  bad["model_type"] = "llama";
  EXPECT_NE(load_error([&] { qwen2_config_of_checkpoint(bad, "cfg"); }).find("not supported"),
            std::string::npos);
}

}  // namespace
}  // namespace vigil::llm

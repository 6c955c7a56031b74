// The vigil binary's model commands, run as a user runs them: `vigil logits` against the
// transformers fixtures (tools/make_fixtures.py) and `vigil generate` with the checkpoint's chat
// template.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>

#include "llm/chat_template.h"
#include "llm/safetensors_file.h"
#include "llm/tokenizer.h"
#include "llm/torch_tensors.h"
#include "tests/support/test_support.h"

namespace vigil {
namespace {

using testing::run_command;
using testing::shell_quote;
using testing::TempDir;

const std::string kFixtures = VIGIL_FIXTURES;

torch::Tensor load(const llm::SafetensorsFile& file, const std::string& name) {
  return llm::to_torch(file.tensor(name), torch::kCPU, llm::to_scalar_type(file.tensor(name).dtype))
      .clone();
}

class LogitsCommand : public ::testing::TestWithParam<const char*> {};

TEST_P(LogitsCommand, MatchesTransformersAndContinuesGreedily) {
  const std::string model = kFixtures + "/" + GetParam();
  const std::string reference_path = model + "/reference.safetensors";
  TempDir dir;
  const std::string output = dir.file("out.safetensors");
  const testing::CommandResult run = run_command(
      std::string(VIGIL_BINARY) + " logits --model " + shell_quote(model) + " --inputs " +
      shell_quote(reference_path) + " --output " + shell_quote(output) + " --generate 32");
  ASSERT_EQ(run.exit_code, 0);

  const llm::SafetensorsFile reference = llm::SafetensorsFile::open(reference_path);
  const llm::SafetensorsFile produced = llm::SafetensorsFile::open(output);
  const torch::Tensor expected = load(reference, "logits");
  const torch::Tensor logits = load(produced, "logits");
  ASSERT_EQ(logits.sizes(), expected.sizes());
  const double tolerance = 1e-4 * expected.abs().max().item<double>();
  EXPECT_LE((logits - expected).abs().max().item<double>(), tolerance);
  EXPECT_TRUE(torch::equal(load(produced, "greedy_ids"), load(reference, "greedy_ids")));
}

INSTANTIATE_TEST_SUITE_P(TextFixtures, LogitsCommand,
                         ::testing::Values("qwen2_gqa3_untied", "qwen2_odd5_tied"));

TEST(LogitsCommandErrors, NamesTheMissingInput) {
  TempDir dir;
  const std::string model = kFixtures + "/qwen2_gqa3_untied";
  // The model's own weights are a safetensors file without input_ids.
  const testing::CommandResult run =
      run_command(std::string(VIGIL_BINARY) + " logits --model " + shell_quote(model) +
                  " --inputs " + shell_quote(model + "/model.safetensors") + " --output " +
                  shell_quote(dir.file("out.safetensors")) + " 2>&1");
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.output.find("input_ids"), std::string::npos) << run.output;
  EXPECT_FALSE(testing::file_exists(dir.file("out.safetensors")));
}

TEST(GenerateCommand, RendersTheChatTemplateAndStopsAtMaxTokens) {
  const std::string model = kFixtures + "/qwen2_gqa3_untied";
  const testing::CommandResult run = run_command(
      std::string(VIGIL_BINARY) + " generate --model " + shell_quote(model) +
      " --prompt 'What is in the video?' --system 'Be brief.' --max-tokens 5 --show-prompt 2>&1");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  // The checkpoint ships no template: the built-in of its family (ChatML for qwen2).
  const std::string expected_prompt =
      "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nWhat is in the "
      "video?<|im_end|>\n<|im_start|>assistant\n";
  EXPECT_EQ(run.output.rfind(expected_prompt, 0), 0u) << run.output;
  const llm::Tokenizer tokenizer = llm::Tokenizer::load(model + "/tokenizer.json");
  const size_t prompt_tokens = tokenizer.encode(expected_prompt, /*allow_special=*/true).size();
  EXPECT_NE(run.output.find("prompt " + std::to_string(prompt_tokens) + " tokens"),
            std::string::npos)
      << run.output;
  EXPECT_NE(run.output.find("generated 5 tokens"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("finish: length"), std::string::npos) << run.output;
}

TEST(GenerateCommand, UsesTheCheckpointsOwnTemplate) {
  TempDir dir;
  const std::string source = kFixtures + "/qwen2_gqa3_untied";
  for (const char* name : {"config.json", "model.safetensors", "tokenizer.json"}) {
    ASSERT_EQ(
        run_command("ln -s " + shell_quote(source + "/" + name) + " " + shell_quote(dir.file(name)))
            .exit_code,
        0);
  }
  ASSERT_EQ(run_command("printf '%s' " +
                        shell_quote("{% for m in messages %}[{{ m.role }}] {{ m.content }}\n"
                                    "{% endfor %}{% if add_generation_prompt %}[bot] {% endif %}") +
                        " > " + shell_quote(dir.file("chat_template.jinja")))
                .exit_code,
            0);
  const testing::CommandResult run =
      run_command(std::string(VIGIL_BINARY) + " generate --model " + shell_quote(dir.path()) +
                  " --prompt hello --max-tokens 1 --show-prompt 2>&1");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(run.output.rfind("[user] hello\n[bot] ", 0), 0u) << run.output;
}

}  // namespace
}  // namespace vigil

#include <torch/torch.h>

#include <atomic>
#include <csignal>
#include <fstream>
#include <iostream>

#include "llm/chat_template.h"
#include "llm/checkpoint.h"
#include "llm/generator.h"
#include "llm/kv_cache.h"
#include "llm/qwen2_model.h"
#include "llm/tokenizer.h"
#include "service/command_line.h"
#include "service/commands.h"
#include "service/model_options.h"
#include "service/stop_tokens.h"

namespace vigil::service {
namespace {

std::atomic<bool> interrupted{false};

void on_interrupt(int) {
  interrupted.store(true);
}

}  // namespace

// vigil generate --model DIR --prompt TEXT [--raw] [--max-tokens N] [--temperature T]
//                [--top-k K] [--top-p P] [--min-p P] [--repetition-penalty R] [--seed S]
//                [--stop TEXT] [--device cpu|cuda] [--dtype f32|bf16|f16]
// Streams the answer to stdout; prints token counts and tokens/s to stderr.
int run_generate_command(const std::vector<std::string>& args) {
  const CommandLine line(
      args,
      {"--model", "--prompt", "--max-tokens", "--temperature", "--top-k", "--top-p", "--min-p",
       "--repetition-penalty", "--seed", "--stop", "--device", "--dtype", "--system"},
      {"--raw", "--show-prompt"});
  if (!line.has("--model") || !line.has("--prompt")) {
    throw UsageError("generate needs --model DIR and --prompt TEXT");
  }
  const ModelPlacement placement =
      parse_model_placement(line.value("--device", "cpu"), line.value("--dtype", "f32"));
  const std::string model_dir = line.value("--model");
  const llm::Checkpoint checkpoint = llm::Checkpoint::open(model_dir);
  const llm::Tokenizer tokenizer = llm::Tokenizer::load(model_dir + "/tokenizer.json");
  const llm::Qwen2Config config =
      llm::qwen2_config_of_checkpoint(checkpoint.config(), model_dir + "/config.json");
  const auto model = llm::Qwen2Model::load(checkpoint, config, placement.device, placement.dtype);

  // The prompt: the checkpoint's chat template (or the built-in of its model family) over a
  // one-turn conversation; --raw sends the prompt text as is.
  std::string prompt = line.value("--prompt");
  if (!line.has("--raw")) {
    const std::string model_type = checkpoint.config().value("model_type", "");
    const llm::ChatTemplate chat_template = llm::ChatTemplate::load_or_builtin(
        model_dir,
        llm::builtin_chat_template_for(model_type).value_or(llm::BuiltinChatTemplate::kChatml));
    llm::ChatTemplateInputs conversation;
    if (line.has("--system")) {
      conversation.messages.push_back({{"role", "system"}, {"content", line.value("--system")}});
    }
    conversation.messages.push_back({{"role", "user"}, {"content", prompt}});
    conversation.add_generation_prompt = true;
    prompt = chat_template.render(conversation);
    if (line.has("--show-prompt")) std::cerr << prompt;
  }
  llm::GenerationRequest request;
  request.prompt_ids = tokenizer.encode(prompt, /*allow_special=*/!line.has("--raw"));
  request.max_tokens = line.integer("--max-tokens", 128);
  request.sampling.temperature = line.number("--temperature", 0.0);
  request.sampling.top_k = line.integer("--top-k", 0);
  request.sampling.top_p = line.number("--top-p", 1.0);
  request.sampling.min_p = line.number("--min-p", 0.0);
  request.sampling.repetition_penalty = line.number("--repetition-penalty", 1.0);
  request.sampling.seed = static_cast<uint64_t>(line.integer("--seed", 0));
  if (line.has("--stop")) request.stop_strings.push_back(line.value("--stop"));
  request.stop_token_ids = stop_token_ids(model_dir, tokenizer);
  if (request.max_tokens < 0) throw UsageError("--max-tokens must be >= 0");

  std::signal(SIGINT, on_interrupt);  // Ctrl-C cancels the answer, not the process
  llm::ContiguousKvCache cache(static_cast<int>(config.num_layers));
  const llm::Generator generator(*model, tokenizer);
  const llm::GenerationResult result = generator.generate(
      request, cache,
      [](const std::string& text) {
        std::cout << text << std::flush;
        return true;
      },
      &interrupted);
  std::signal(SIGINT, SIG_DFL);
  std::cout << std::endl;
  const double decode_rate =
      result.decode_seconds > 0 && result.ids.size() > 1
          ? static_cast<double>(result.ids.size() - 1) / result.decode_seconds
          : 0;
  std::cerr << "prompt " << result.prompt_tokens << " tokens, first token after "
            << result.prefill_seconds * 1000 << " ms; generated " << result.ids.size()
            << " tokens, " << decode_rate
            << " tokens/s; finish: " << to_string(result.finish_reason) << "\n";
  return 0;
}

}  // namespace vigil::service

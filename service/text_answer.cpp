#include "service/text_answer.h"

#include <torch/torch.h>

#include <chrono>
#include <random>
#include <utility>

#include "llm/decode_batcher.h"
#include "llm/kv_cache.h"

namespace vigil::service {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

TextAnswerer::TextAnswerer(const llm::Qwen2Model& model, const llm::Tokenizer& tokenizer,
                           const llm::ChatTemplate& chat_template, std::vector<int32_t> stop_ids,
                           int64_t context_tokens, DecodeBatchOptions batch)
    : model_(model),
      tokenizer_(tokenizer),
      chat_template_(chat_template),
      stop_ids_(std::move(stop_ids)),
      context_tokens_(context_tokens) {
  const int rows = batch.rows >= 0 ? batch.rows : (model.device().is_cuda() ? 8 : 0);
  if (rows > 0) {
    batcher_ = std::make_unique<llm::DecodeBatcher>(model, rows, batch.row_tokens,
                                                    /*use_cuda_graph=*/true);
  }
}

TextAnswerer::~TextAnswerer() = default;

llm::GenerationRequest TextAnswerer::generation_request(const AnswerRequest& request) const {
  llm::GenerationRequest generation;
  generation.max_tokens = request.max_tokens;
  generation.sampling.temperature = request.temperature;
  generation.sampling.top_p = request.top_p;
  generation.sampling.seed = request.seed ? *request.seed : std::random_device{}();
  generation.stop_strings = request.stop;
  generation.stop_token_ids = stop_ids_;
  return generation;
}

AnswerUsage TextAnswerer::answer(const AnswerRequest& request, const DeltaCallback& on_delta,
                                 const std::atomic<bool>& cancel) const {
  const Clock::time_point start = Clock::now();
  // Text parts of a message become its text where the template takes strings (ChatML).
  llm::ChatTemplateInputs inputs;
  for (const auto& message : request.messages) {
    nlohmann::ordered_json copy = message;
    if (copy.contains("content") && copy["content"].is_array() &&
        !chat_template_.expects_content_parts()) {
      std::string text;
      for (const auto& part : copy["content"]) {
        if (part.is_object() && part.value("type", "") == "text" && part.contains("text") &&
            part["text"].is_string()) {
          if (!text.empty()) text += "\n";
          text += part["text"].get<std::string>();
        }
      }
      copy["content"] = text;
    }
    inputs.messages.push_back(std::move(copy));
  }
  inputs.add_generation_prompt = true;
  std::string prompt;
  try {
    prompt = chat_template_.render(inputs);
  } catch (const llm::TemplateError& e) {
    throw EngineError(EngineError::Kind::kInvalidRequest,
                      std::string("the chat template rejected the messages: ") + e.what());
  }
  llm::GenerationRequest generation = generation_request(request);
  generation.prompt_ids = tokenizer_.encode(prompt, /*allow_special=*/true);
  const auto prompt_tokens = static_cast<int64_t>(generation.prompt_ids.size());
  if (prompt_tokens + request.max_tokens > context_tokens_) {
    throw EngineError(EngineError::Kind::kInvalidRequest,
                      "the prompt (" + std::to_string(prompt_tokens) + " tokens) and max_tokens (" +
                          std::to_string(request.max_tokens) + ") exceed the model's context of " +
                          std::to_string(context_tokens_) + " tokens");
  }

  llm::ContiguousKvCache cache(static_cast<int>(model_.config().num_layers));
  AnswerUsage usage = generate(generation, cache, start, on_delta, cancel);
  usage.prompt_tokens = prompt_tokens;
  return usage;
}

AnswerUsage TextAnswerer::generate(const llm::GenerationRequest& generation, llm::KvCache& cache,
                                   Clock::time_point start, const DeltaCallback& on_delta,
                                   const std::atomic<bool>& cancel) const {
  AnswerUsage usage;
  bool first = true;
  const llm::Generator generator(model_, tokenizer_, batcher_.get());
  llm::GenerationResult result;
  {
    torch::NoGradGuard no_grad;
    result = generator.generate(
        generation, cache,
        [&](const std::string& text) {
          if (first) {
            usage.time_to_first_token = seconds_since(start);
            first = false;
          }
          return on_delta(text) && !cancel.load();
        },
        &cancel);
  }
  usage.completion_tokens = static_cast<int64_t>(result.ids.size());
  usage.total_seconds = seconds_since(start);
  if (first) usage.time_to_first_token = usage.total_seconds;
  usage.finish_reason = llm::to_string(result.finish_reason);
  return usage;
}

}  // namespace vigil::service

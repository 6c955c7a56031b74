// Answers a chat without video with a Qwen2-family language model: the chat template renders
// the conversation, the generator streams the answer. Shared by the engines (a text checkpoint,
// or a video-language checkpoint asked a question that names no video).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "llm/chat_template.h"
#include "llm/generator.h"
#include "llm/qwen2_model.h"
#include "llm/tokenizer.h"
#include "service/engine.h"

namespace vigil::service {

// Borrows the model, tokenizer and template (they outlive the answerer); owns the decoding
// batch. answer() and generate() are thread-safe: each call has its own KV cache, and the
// answers in flight share the batch's steps.
class TextAnswerer {
 public:
  TextAnswerer(const llm::Qwen2Model& model, const llm::Tokenizer& tokenizer,
               const llm::ChatTemplate& chat_template, std::vector<int32_t> stop_ids,
               int64_t context_tokens, DecodeBatchOptions batch = {});
  ~TextAnswerer();

  // The request's sampling, max_tokens, stop strings and the model's stop tokens; no prompt.
  llm::GenerationRequest generation_request(const AnswerRequest& request) const;

  // Renders request.messages (text parts only) and generates. Throws EngineError
  // (kInvalidRequest when the template rejects the messages or the prompt and max_tokens do
  // not fit the context).
  AnswerUsage answer(const AnswerRequest& request, const DeltaCallback& on_delta,
                     const std::atomic<bool>& cancel) const;

  // Generates `generation` on `cache` (which holds the context before generation.prompt_ids),
  // streaming deltas; usage times count from `start`, prompt and video tokens are left to the
  // caller.
  AnswerUsage generate(const llm::GenerationRequest& generation, llm::KvCache& cache,
                       std::chrono::steady_clock::time_point start, const DeltaCallback& on_delta,
                       const std::atomic<bool>& cancel) const;

 private:
  const llm::Qwen2Model& model_;
  const llm::Tokenizer& tokenizer_;
  const llm::ChatTemplate& chat_template_;
  std::vector<int32_t> stop_ids_;
  int64_t context_tokens_;
  std::unique_ptr<llm::DecodeBatcher> batcher_;  // null: each answer decodes alone
};

}  // namespace vigil::service

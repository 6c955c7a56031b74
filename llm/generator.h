// Generation: prefill a prompt, then pick tokens one by one until a stop token, a stop string,
// max_tokens or cancellation, streaming whole UTF-8 text to a callback as it comes.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "llm/kv_cache.h"
#include "llm/qwen2_model.h"
#include "llm/sampler.h"
#include "llm/tokenizer.h"

namespace vigil::llm {

struct GenerationRequest {
  std::vector<int32_t> prompt_ids;  // appended after whatever the cache already holds
  // With no prompt_ids: the logits [vocab] of the prompt's last token, which the caller
  // prefilled into the cache itself (an answer from memory); generation starts by sampling them.
  torch::Tensor prompt_logits;
  SamplingParams sampling;
  int max_tokens = 256;                   // tokens to generate at most
  std::vector<int32_t> stop_token_ids;    // end the answer (not part of the text)
  std::vector<std::string> stop_strings;  // end the answer before the first occurrence
};

enum class FinishReason { kStop, kLength, kCancelled };
const char* to_string(FinishReason reason);  // "stop", "length", "cancelled"

struct GenerationResult {
  std::vector<int32_t> ids;  // generated ids (a stop token excluded)
  std::string text;          // the streamed text, stop string excluded
  FinishReason finish_reason = FinishReason::kLength;
  int64_t prompt_tokens = 0;
  double prefill_seconds = 0;  // prompt in, first token out
  double decode_seconds = 0;   // the rest
};

// Receives each piece of text as soon as it is whole and cannot be the start of a stop
// string; returns false to cancel.
using TextCallback = std::function<bool(const std::string& text)>;

// Not thread-safe: one generation at a time per cache. Borrows model and tokenizer.
class DecodeBatcher;

class Generator {
 public:
  // batcher (optional, borrowed): where the answer's tokens are decoded, together with other
  // answers, when its context fits a row (DecodeBatcher).
  Generator(const Qwen2Model& model, const Tokenizer& tokenizer, DecodeBatcher* batcher = nullptr);

  // Runs one generation on cache (new tokens get the positions after cache.length()). The
  // prompt is appended to cache; the answer's tokens too on CPU without a batcher, while on
  // CUDA or with a batcher they are decoded from a copy (the batcher's row, else a
  // BatchDecoder of one row with a CUDA graph), so cache then ends with the prompt.
  // cancel, when set to true by another thread, stops it after the current token.
  GenerationResult generate(const GenerationRequest& request, KvCache& cache,
                            const TextCallback& on_text = nullptr,
                            const std::atomic<bool>* cancel = nullptr) const;

 private:
  const Qwen2Model& model_;
  const Tokenizer& tokenizer_;
  DecodeBatcher* batcher_;
};

// Holds back streamed text that could still turn into a stop string.
class StopStringFilter {
 public:
  explicit StopStringFilter(std::vector<std::string> stop_strings);
  // Adds text; returns what can be released now. Sets stopped() when a stop string completed
  // (the text before it is released, the stop string and anything after it are dropped).
  std::string push(const std::string& text);
  std::string finish();  // what was held back, at the end of generation
  bool stopped() const { return stopped_; }

 private:
  std::vector<std::string> stop_strings_;
  std::string pending_;
  bool stopped_ = false;
};

}  // namespace vigil::llm

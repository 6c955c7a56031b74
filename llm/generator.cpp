#include "llm/generator.h"

#include <algorithm>
#include <chrono>
#include <memory>

#include "llm/batch_decoder.h"
#include "llm/decode_batcher.h"
#include "llm/incremental_decoder.h"

namespace vigil::llm {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_between(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

}  // namespace

const char* to_string(FinishReason reason) {
  switch (reason) {
    case FinishReason::kStop:
      return "stop";
    case FinishReason::kLength:
      return "length";
    case FinishReason::kCancelled:
      return "cancelled";
  }
  return "unknown";
}

StopStringFilter::StopStringFilter(std::vector<std::string> stop_strings)
    : stop_strings_(std::move(stop_strings)) {
  stop_strings_.erase(std::remove(stop_strings_.begin(), stop_strings_.end(), std::string()),
                      stop_strings_.end());
}

std::string StopStringFilter::push(const std::string& text) {
  if (stopped_) return {};
  pending_ += text;
  size_t first_stop = std::string::npos;
  for (const std::string& stop : stop_strings_)
    first_stop = std::min(first_stop, pending_.find(stop));
  if (first_stop != std::string::npos) {
    stopped_ = true;
    std::string released = pending_.substr(0, first_stop);
    pending_.clear();
    return released;
  }
  // Keep the longest tail that is a proper prefix of some stop string.
  size_t keep = 0;
  for (const std::string& stop : stop_strings_) {
    for (size_t length = std::min(stop.size() - 1, pending_.size()); length > keep; --length) {
      if (pending_.compare(pending_.size() - length, length, stop, 0, length) == 0) {
        keep = length;
        break;
      }
    }
  }
  std::string released = pending_.substr(0, pending_.size() - keep);
  pending_.erase(0, pending_.size() - keep);
  return released;
}

std::string StopStringFilter::finish() {
  std::string rest = stopped_ ? std::string() : pending_;
  pending_.clear();
  return rest;
}

Generator::Generator(const Qwen2Model& model, const Tokenizer& tokenizer, DecodeBatcher* batcher)
    : model_(model), tokenizer_(tokenizer), batcher_(batcher) {}

GenerationResult Generator::generate(const GenerationRequest& request, KvCache& cache,
                                     const TextCallback& on_text,
                                     const std::atomic<bool>* cancel) const {
  GenerationResult result;
  result.prompt_tokens = static_cast<int64_t>(request.prompt_ids.size());
  Sampler sampler(request.sampling);
  IncrementalDecoder detokenizer(tokenizer_, /*skip_special=*/true);
  StopStringFilter filter(request.stop_strings);
  std::vector<int64_t> history(request.prompt_ids.begin(), request.prompt_ids.end());

  bool keep_going = true;
  const auto emit = [&](const std::string& text) {
    if (text.empty()) return;
    result.text += text;
    if (on_text && keep_going && !on_text(text)) keep_going = false;
  };

  const Clock::time_point start = Clock::now();
  int64_t position = cache.length();
  torch::Tensor logits = request.prompt_ids.empty() ? request.prompt_logits : torch::Tensor();
  if (!request.prompt_ids.empty()) {
    const torch::Tensor ids =
        torch::tensor(std::vector<int64_t>(request.prompt_ids.begin(), request.prompt_ids.end()));
    const torch::Tensor positions = torch::arange(position, position + ids.size(0));
    const torch::Tensor hidden = model_.forward(model_.embed(ids), positions, cache);
    logits = model_.logits(hidden.narrow(0, hidden.size(0) - 1, 1))[0];
    position += ids.size(0);
  }
  // With a batcher whose rows fit the answer, its tokens are decoded in the batcher's row,
  // together with the other answers in flight. Else on CUDA by a BatchDecoder of one row
  // holding a copy of the context, its steps replayed from a CUDA graph once the answer is
  // long enough to repay the capture; elsewhere, and for a prompt-less continuation, through
  // forward() on the cache. The row or decoder is taken after the first token is out, so its
  // copy of the context does not delay the first token.
  const bool batch_decode = (model_.device().is_cuda() || batcher_ != nullptr) &&
                            logits.defined() && request.max_tokens > 1;
  std::unique_ptr<DecodeBatcher::Row> row;
  std::unique_ptr<BatchDecoder> decoder;
  Clock::time_point first_token = start;
  result.finish_reason = FinishReason::kLength;
  for (int step = 0; step < request.max_tokens && logits.defined(); ++step) {
    if (cancel != nullptr && cancel->load()) {
      result.finish_reason = FinishReason::kCancelled;
      break;
    }
    const int32_t next = static_cast<int32_t>(sampler.next(logits, history));
    if (step == 0) first_token = Clock::now();
    if (std::find(request.stop_token_ids.begin(), request.stop_token_ids.end(), next) !=
        request.stop_token_ids.end()) {
      result.finish_reason = FinishReason::kStop;
      break;
    }
    result.ids.push_back(next);
    history.push_back(next);
    emit(filter.push(detokenizer.push(next)));
    if (filter.stopped()) {
      result.finish_reason = FinishReason::kStop;
      break;
    }
    if (!keep_going) {
      result.finish_reason = FinishReason::kCancelled;
      break;
    }
    if (step + 1 == request.max_tokens) break;  // no need to compute logits nobody reads
    const torch::Tensor next_id = torch::tensor({static_cast<int64_t>(next)});
    if (batch_decode && row == nullptr && decoder == nullptr) {
      if (batcher_ != nullptr && batcher_->fits(cache.length(), request.max_tokens)) {
        row = batcher_->join(cache);
      } else if (model_.device().is_cuda()) {
        constexpr int kGraphTokens = 16;  // fewer tokens run the same steps without capture
        decoder =
            std::make_unique<BatchDecoder>(model_, 1, cache.length() + request.max_tokens + 1,
                                           /*use_cuda_graph=*/request.max_tokens >= kGraphTokens);
        decoder->assign(0, cache);
      }
    }
    if (row != nullptr) {
      logits = row->step(next);
    } else if (decoder != nullptr) {
      logits = decoder->step(next_id.to(model_.device()))[0];
    } else {
      logits =
          model_.logits(model_.forward(model_.embed(next_id), torch::tensor({position}), cache))[0];
    }
    ++position;
  }
  if (!filter.stopped()) {
    // A character cut short and text held back as a possible stop string are answer text.
    emit(filter.push(detokenizer.finish()));
    emit(filter.finish());
  }
  const Clock::time_point end = Clock::now();
  result.prefill_seconds = seconds_between(start, first_token);
  result.decode_seconds = seconds_between(first_token, end);
  return result;
}

}  // namespace vigil::llm

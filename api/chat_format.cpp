#include "api/chat_format.h"

#include <chrono>
#include <cstdio>
#include <random>

namespace vigil::api {

std::string new_completion_id() {
  static thread_local std::mt19937_64 generator{std::random_device{}()};
  char text[40];
  std::snprintf(text, sizeof text, "chatcmpl-%016llx",
                static_cast<unsigned long long>(generator()));
  return text;
}

int64_t unix_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string openai_finish_reason(const std::string& finish_reason) {
  return finish_reason == "length" ? "length" : "stop";
}

nlohmann::json usage_json(const service::AnswerUsage& usage) {
  return {{"prompt_tokens", usage.prompt_tokens},
          {"completion_tokens", usage.completion_tokens},
          {"total_tokens", usage.prompt_tokens + usage.completion_tokens},
          {"prompt_tokens_details", {{"video_tokens", usage.video_tokens}}},
          {"time_to_first_token_ms", usage.time_to_first_token * 1000},
          {"total_ms", usage.total_seconds * 1000}};
}

nlohmann::json completion_json(const std::string& id, const std::string& model, int64_t created,
                               const std::string& text, const service::AnswerUsage& usage) {
  return {{"id", id},
          {"object", "chat.completion"},
          {"created", created},
          {"model", model},
          {"choices",
           nlohmann::json::array({{{"index", 0},
                                   {"message", {{"role", "assistant"}, {"content", text}}},
                                   {"logprobs", nullptr},
                                   {"finish_reason", openai_finish_reason(usage.finish_reason)}}})},
          {"usage", usage_json(usage)}};
}

std::string chunk_event(const std::string& id, const std::string& model, int64_t created,
                        const nlohmann::json& delta, const std::string& finish_reason,
                        const nlohmann::json& usage) {
  nlohmann::json chunk = {
      {"id", id}, {"object", "chat.completion.chunk"}, {"created", created}, {"model", model}};
  if (usage.is_null()) {
    chunk["choices"] = nlohmann::json::array(
        {{{"index", 0},
          {"delta", delta},
          {"logprobs", nullptr},
          {"finish_reason",
           finish_reason.empty() ? nlohmann::json(nullptr) : nlohmann::json(finish_reason)}}});
  } else {
    chunk["choices"] = nlohmann::json::array();
    chunk["usage"] = usage;
  }
  return "data: " + chunk.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n\n";
}

void record_answer(service::ServiceMetrics& metrics, const service::AnswerUsage& usage) {
  metrics.prompt_tokens.add(static_cast<double>(usage.prompt_tokens));
  metrics.completion_tokens.add(static_cast<double>(usage.completion_tokens));
  if (usage.completion_tokens > 0) metrics.time_to_first_token.observe(usage.time_to_first_token);
  if (usage.completion_tokens > 1) {
    metrics.time_per_output_token.observe((usage.total_seconds - usage.time_to_first_token) /
                                          static_cast<double>(usage.completion_tokens - 1));
  }
  if (usage.finish_reason == "cancelled") metrics.answers_cancelled.add(1);
}

}  // namespace vigil::api

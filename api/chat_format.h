// OpenAI's chat completion response shapes: the whole completion, the SSE chunks of a
// streamed one, usage; and the metrics every answer records.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "service/engine.h"
#include "service/metrics.h"

namespace vigil::api {

// "chatcmpl-<hex>".
std::string new_completion_id();

nlohmann::json usage_json(const service::AnswerUsage& usage);

// finish_reason as OpenAI names it ("stop", "length"; cancelled answers report "stop").
std::string openai_finish_reason(const std::string& finish_reason);

// The object of a non-streamed completion.
nlohmann::json completion_json(const std::string& id, const std::string& model, int64_t created,
                               const std::string& text, const service::AnswerUsage& usage);

// One "data: {...}\n\n" SSE event of a streamed completion. delta is {"role": ...} or
// {"content": ...} or {}; finish_reason "" for none; usage null unless the usage chunk.
std::string chunk_event(const std::string& id, const std::string& model, int64_t created,
                        const nlohmann::json& delta, const std::string& finish_reason,
                        const nlohmann::json& usage = nullptr);

// Seconds since the epoch.
int64_t unix_seconds();

// Counts tokens and observes TTFT and per-token time.
void record_answer(service::ServiceMetrics& metrics, const service::AnswerUsage& usage);

}  // namespace vigil::api

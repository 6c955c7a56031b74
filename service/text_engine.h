// An Engine on a Qwen2-family text checkpoint: answers chat with the real model, tokenizer
// and chat template, and ingests sessions by really decoding their video (tracking frames and
// progress). It has no vision tower, so questions about a video are refused with
// EngineError(kUnsupported) until the video-language engine replaces it.
#pragma once

#include <memory>
#include <string>

#include "service/engine.h"
#include "service/json_log.h"
#include "service/metrics.h"
#include "service/work_scheduler.h"

namespace vigil::service {

struct TextEngineOptions {
  std::string model_dir;  // tokenizer.json, config.json, *.safetensors
  std::string model_id;   // what /v1/models lists
  std::string device = "cpu";
  std::string dtype = "f32";
  int max_tokens_limit = 4096;
  DecodeBatchOptions decode_batch;  // answers decoded together
};

class TextEngine final : public Engine {
 public:
  // Loads the checkpoint (throws llm::ModelLoadError, TokenizerError, TemplateError). The
  // scheduler runs ingestion steps; metrics and log must outlive the engine.
  TextEngine(const TextEngineOptions& options, WorkScheduler& scheduler, ServiceMetrics& metrics,
             JsonLog& log);
  ~TextEngine() override;

  EngineInfo info() const override;
  void start_ingest(const IngestRequest& request,
                    std::shared_ptr<IngestObserver> observer) override;
  void stop_ingest(const std::string& session_id) override;
  void check(const AnswerRequest& request) const override;
  AnswerUsage answer(const AnswerRequest& request, const DeltaCallback& on_delta,
                     const std::atomic<bool>& cancel) override;
  void shutdown() override;

 private:
  struct State;  // torch lives in the .cpp only
  std::unique_ptr<State> state_;
};

}  // namespace vigil::service

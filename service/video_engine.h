// An Engine on a video-language checkpoint (LLaVA-OneVision): each session's frames are
// decoded, encoded by the vision tower, thinned by Differential Token Drop and written into the
// session's KV memory (service/video_pipeline.h); a question about a session is answered from
// that memory, retrieving the frames it needs, while ingestion goes on.
//
// Threads: a pump thread per session reads its decoder and queues ingestion steps (a few
// frames each) on the WorkScheduler; questions run on the scheduler's workers too. A session's
// steps and questions hold its lock while they touch its memory, so a question waits for the
// step in progress (at most frames_per_step frames) and ingestion waits for the answer.
#pragma once

#include <memory>
#include <string>

#include "service/engine.h"
#include "service/json_log.h"
#include "service/metrics.h"
#include "service/work_scheduler.h"

namespace vigil::service {

struct VideoEngineOptions {
  std::string model_dir;  // config.json (llava_onevision), *.safetensors, tokenizer.json
  std::string model_id;   // what /v1/models lists
  std::string device = "cpu";
  std::string dtype = "f32";
  int max_tokens_limit = 4096;
  int64_t max_video_tokens = 32768;  // video tokens one answer may bring into its context
  // Sessions' disk tiers live in data_dir/memory/<session id>; empty: no disk tier.
  std::string data_dir;
  int frames_per_step = 32;           // frames encoded per ingestion step (archives; live: 1)
  double token_drop_threshold = 0.5;  // Differential Token Drop tau; >= 1 keeps every token
  int64_t window_tokens = 15000;      // the encoder's sliding window (ReKV's n_local)
  int64_t recent_tokens = 16 * 196;   // newest frames always in an answer's context
  int64_t host_memory_bytes = int64_t{8} << 30;  // per session, host RAM tier
  int64_t gpu_cache_bytes = int64_t{1} << 30;    // per session, retrieved-block cache
  int64_t index_gpu_bytes = int64_t{1} << 30;    // per session, retrieval keys on the device
  int quantization_bits = 4;                     // host and disk tiers: 2, 4, 8; 0 = exact
  DecodeBatchOptions decode_batch;               // answers decoded together
};

class VideoEngine final : public Engine {
 public:
  // Loads the checkpoint (throws llm::ModelLoadError, TokenizerError, TemplateError). The
  // scheduler runs ingestion steps and metrics and log must outlive the engine.
  VideoEngine(const VideoEngineOptions& options, WorkScheduler& scheduler, ServiceMetrics& metrics,
              JsonLog& log);
  ~VideoEngine() override;

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

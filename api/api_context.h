// What the API's handlers and connections share: the configuration and the service parts.
// Everything referenced outlives the server.
#pragma once

#include <atomic>

#include "service/engine.h"
#include "service/json_log.h"
#include "service/metrics.h"
#include "service/service_config.h"
#include "service/session_manager.h"
#include "service/video_url_cache.h"
#include "service/work_scheduler.h"

namespace vigil::api {

struct ApiContext {
  const service::ServiceConfig& config;
  service::Engine& engine;
  service::WorkScheduler& scheduler;
  service::SessionManager& sessions;
  service::VideoUrlCache& video_urls;  // chat video_url URLs ingested on demand
  service::ServiceMetrics& metrics;
  service::JsonLog& log;
  std::atomic<bool> draining{false};      // shutting down: refuse new work with 503
  std::atomic<int> answers_in_flight{0};  // queued or running answers (shutdown waits)
  // Answers that ended but whose last events are still being written to their client
  // (shutdown waits for these too: stopping the I/O would cut them off).
  std::atomic<int> answers_writing{0};
};

}  // namespace vigil::api

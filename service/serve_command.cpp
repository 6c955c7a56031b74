#include <filesystem>
#include <iostream>

#include "api/api_context.h"
#include "api/server.h"
#include "service/commands.h"
#include "service/engine_factory.h"
#include "service/json_log.h"
#include "service/metrics.h"
#include "service/service_config.h"
#include "service/session_manager.h"
#include "service/session_registry.h"
#include "service/video_url_cache.h"
#include "service/work_scheduler.h"

namespace vigil::service {

// vigil serve --model DIR [--config FILE] [--host H] [--port P] ... (service_config.h)
// Serves the HTTP/WebSocket API until SIGINT/SIGTERM; logs JSON lines on stderr and prints
// "listening on http://HOST:PORT" on stdout once it accepts connections.
int run_serve_command(const std::vector<std::string>& args) {
  const ServiceConfig config = load_service_config(args, process_environment());
  std::filesystem::create_directories(config.data_dir + "/uploads");
  JsonLog log(parse_log_level(config.log_level));
  MetricsRegistry registry;
  ServiceMetrics metrics(registry);
  WorkScheduler scheduler(config.workers, static_cast<size_t>(config.question_queue),
                          static_cast<size_t>(config.ingest_queue), &metrics);
  const std::unique_ptr<Engine> engine = make_engine(config, scheduler, metrics, log);
  SessionRegistry sessions(config.max_sessions, config.max_streams);
  SessionManager manager(config, *engine, sessions, metrics, log);
  VideoUrlCache video_urls(manager, metrics);
  api::ApiContext context{config, *engine, scheduler, manager, video_urls, metrics, log};
  api::run_server(context, [&](int port) {
    std::cout << "listening on http://" << config.host << ":" << port << std::endl;
  });
  return 0;
}

}  // namespace vigil::service

// Opens and closes sessions: registers them (with their limits), starts their ingestion on
// the engine, keeps their state and progress in the registry as the engine reports it, and
// on deletion stops ingestion and removes what they stored.
#pragma once

#include <memory>
#include <string>

#include "decoder/push_source.h"
#include "service/engine.h"
#include "service/json_log.h"
#include "service/metrics.h"
#include "service/service_config.h"
#include "service/session_registry.h"

namespace vigil::service {

// Thread-safe. Methods that stop ingestion (remove, close_all) block until it stopped: call
// them off the I/O threads.
class SessionManager {
 public:
  SessionManager(const ServiceConfig& config, Engine& engine, SessionRegistry& registry,
                 ServiceMetrics& metrics, JsonLog& log);

  // An archived file already stored at path (owned by the session from now: deleted with
  // it). Throws SessionLimitError, EngineError.
  SessionInfo add_file(const std::string& path, const std::string& display_name, int64_t bytes);
  // An archived video read from a URL (already checked against the URL policy).
  SessionInfo add_file_url(const std::string& url);
  // A live stream pulled from a URL (already checked against the URL policy).
  SessionInfo add_stream(const std::string& url);
  // A realtime session; its video, pushed by the client, starts with start_push.
  SessionInfo add_realtime();
  // Starts decoding what the client pushes into source (MPEG-TS, fragmented MP4, ...).
  void start_push(const std::string& id, std::shared_ptr<decoder::PushSource> source);

  // Stops ingestion, deletes stored files and forgets the session; false when unknown.
  bool remove(const std::string& id);
  // Removes every session (shutdown).
  void close_all();

  SessionRegistry& registry() { return registry_; }

 private:
  void start(const SessionInfo& info, decoder::MediaSource source, bool live);
  void publish_counts();

  const ServiceConfig& config_;
  Engine& engine_;
  SessionRegistry& registry_;
  ServiceMetrics& metrics_;
  JsonLog& log_;
  std::mutex mutex_;
  std::map<std::string, std::string> stored_files_;  // session id -> path to delete
};

}  // namespace vigil::service

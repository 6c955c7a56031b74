// Opens and closes sessions: registers them (with their limits), starts their ingestion on
// the engine, keeps their state and progress in the registry as the engine reports it, and
// on deletion stops ingestion and removes what they stored.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

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
  // Receives a session's per-frame token drop results (IngestObserver::on_frames), on the
  // engine's threads: it must not block.
  using FramesListener = std::function<void(const std::vector<FrameTokens>& frames)>;

  // A realtime session; its video, pushed by the client, starts with start_push.
  SessionInfo add_realtime();
  // Starts ingesting what the client pushes into source (a MediaSource::push of MPEG-TS or
  // fragmented MP4 bytes, or a MediaSource::jpeg_push of pictures); on_frames, when set, hears
  // every ingested frame's token drop. Throws EngineError.
  void start_push(const std::string& id, decoder::MediaSource source,
                  FramesListener on_frames = nullptr);

  // Calls done once the session's ingestion has ended (ready or failed) or the session was
  // removed; at once, on this thread, when that already happened or the id is unknown.
  // Otherwise done runs later on an engine thread or a remover's: it must not block.
  void when_ingested(const std::string& id, std::function<void()> done);

  // Stops ingestion, deletes stored files and forgets the session; false when unknown.
  bool remove(const std::string& id);
  // Removes every session (shutdown).
  void close_all();

  SessionRegistry& registry() { return registry_; }

 private:
  void start(const SessionInfo& info, decoder::MediaSource source, bool live,
             FramesListener on_frames = nullptr);
  void publish_counts();
  // Runs (and forgets) the when_ingested callbacks of a session whose ingestion ended.
  void notify_ingested(const std::string& id);

  const ServiceConfig& config_;
  Engine& engine_;
  SessionRegistry& registry_;
  ServiceMetrics& metrics_;
  JsonLog& log_;
  std::mutex mutex_;
  std::map<std::string, std::string> stored_files_;  // session id -> path to delete
  std::map<std::string, std::vector<std::function<void()>>> ingested_callbacks_;  // by session
};

}  // namespace vigil::service

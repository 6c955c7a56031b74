#include "service/session_manager.h"

#include <cstdio>

namespace vigil::service {
namespace {

// Mirrors one session's ingestion into the registry (the engine counts it in the metrics).
class RegistryObserver final : public IngestObserver {
 public:
  RegistryObserver(SessionRegistry& registry, JsonLog& log, std::string id,
                   SessionManager::FramesListener on_frames, std::function<void()> on_ended)
      : registry_(registry),
        log_(log),
        id_(std::move(id)),
        on_frames_(std::move(on_frames)),
        on_ended_(std::move(on_ended)) {}

  void on_frames(const std::vector<FrameTokens>& frames) override {
    if (on_frames_) on_frames_(frames);
  }

  void on_progress(const IngestProgress& progress) override {
    registry_.update(id_, [&](SessionInfo& info) { copy(progress, info); });
  }

  void on_finished(const IngestProgress& progress, const std::string& error) override {
    on_progress(progress);
    registry_.update(id_, [&](SessionInfo& info) {
      info.state = error.empty() ? SessionState::kReady : SessionState::kFailed;
      info.error = error;
    });
    if (!error.empty()) log_.warn("session.failed", {{"session", id_}, {"error", error}});
    on_ended_();
  }

 private:
  static void copy(const IngestProgress& progress, SessionInfo& info) {
    info.frames_ingested = progress.frames_ingested;
    info.frames_planned = progress.frames_planned;
    info.frames_dropped = progress.frames_dropped;
    info.video_seconds = progress.video_seconds;
    info.tokens_kept = progress.tokens_kept;
  }

  SessionRegistry& registry_;
  JsonLog& log_;
  const std::string id_;
  const SessionManager::FramesListener on_frames_;
  const std::function<void()> on_ended_;  // after the registry shows the end
};

}  // namespace

SessionManager::SessionManager(const ServiceConfig& config, Engine& engine,
                               SessionRegistry& registry, ServiceMetrics& metrics, JsonLog& log)
    : config_(config), engine_(engine), registry_(registry), metrics_(metrics), log_(log) {}

void SessionManager::start(const SessionInfo& info, decoder::MediaSource source, bool live,
                           FramesListener on_frames) {
  IngestRequest request;
  request.session_id = info.id;
  request.source = std::move(source);
  request.live = live;
  request.frames_per_second = config_.sample_frames_per_second;
  request.decode_threads = config_.decode_threads;
  try {
    engine_.start_ingest(
        request, std::make_shared<RegistryObserver>(registry_, log_, info.id, std::move(on_frames),
                                                    [this, id = info.id] { notify_ingested(id); }));
  } catch (...) {
    registry_.remove(info.id);
    publish_counts();
    throw;
  }
  log_.info("session.created", {{"session", info.id},
                                {"kind", to_string(info.kind)},
                                {"source", info.source},
                                {"live", live}});
}

SessionInfo SessionManager::add_file(const std::string& path, const std::string& display_name,
                                     int64_t bytes) {
  SessionInfo info;
  try {
    info = registry_.create(SessionKind::kFile, display_name, bytes);
  } catch (...) {
    std::remove(path.c_str());
    throw;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stored_files_[info.id] = path;
  }
  publish_counts();
  try {
    start(info, decoder::MediaSource::file(path), /*live=*/false);
  } catch (...) {
    std::lock_guard<std::mutex> lock(mutex_);
    stored_files_.erase(info.id);
    std::remove(path.c_str());
    throw;
  }
  return info;
}

SessionInfo SessionManager::add_file_url(const std::string& url) {
  const SessionInfo info = registry_.create(SessionKind::kFile, url);
  publish_counts();
  start(info, decoder::MediaSource::url(url), /*live=*/false);
  return info;
}

SessionInfo SessionManager::add_stream(const std::string& url) {
  const SessionInfo info = registry_.create(SessionKind::kStream, url);
  publish_counts();
  start(info, decoder::MediaSource::url(url), /*live=*/true);
  return info;
}

SessionInfo SessionManager::add_realtime() {
  const SessionInfo info = registry_.create(SessionKind::kRealtime, "pushed stream");
  publish_counts();
  log_.info("session.created", {{"session", info.id}, {"kind", "realtime"}});
  return info;
}

void SessionManager::start_push(const std::string& id, decoder::MediaSource source,
                                FramesListener on_frames) {
  const std::optional<SessionInfo> info = registry_.get(id);
  if (!info) return;
  start(*info, std::move(source), /*live=*/true, std::move(on_frames));
}

bool SessionManager::remove(const std::string& id) {
  if (!registry_.get(id)) return false;
  registry_.update(id, [](SessionInfo& info) { info.state = SessionState::kClosed; });
  engine_.stop_ingest(id);
  std::string path;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto it = stored_files_.find(id);
    if (it != stored_files_.end()) {
      path = it->second;
      stored_files_.erase(it);
    }
  }
  if (!path.empty()) std::remove(path.c_str());
  const bool removed = registry_.remove(id);
  notify_ingested(id);
  publish_counts();
  if (removed) log_.info("session.deleted", {{"session", id}});
  return removed;
}

void SessionManager::when_ingested(const std::string& id, std::function<void()> done) {
  {
    // The observer updates the registry before it notifies under this lock: a session still
    // ingesting here is notified later.
    std::lock_guard<std::mutex> lock(mutex_);
    const std::optional<SessionInfo> info = registry_.get(id);
    if (info && info->state == SessionState::kIngesting) {
      ingested_callbacks_[id].push_back(std::move(done));
      return;
    }
  }
  done();
}

void SessionManager::notify_ingested(const std::string& id) {
  std::vector<std::function<void()>> callbacks;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto it = ingested_callbacks_.find(id);
    if (it == ingested_callbacks_.end()) return;
    callbacks = std::move(it->second);
    ingested_callbacks_.erase(it);
  }
  for (const std::function<void()>& callback : callbacks) callback();
}

void SessionManager::close_all() {
  for (SessionKind kind : {SessionKind::kFile, SessionKind::kStream, SessionKind::kRealtime}) {
    for (const SessionInfo& info : registry_.list(kind)) remove(info.id);
  }
}

void SessionManager::publish_counts() {
  metrics_.sessions_active.set(registry_.open_sessions());
  metrics_.streams_active.set(registry_.open_streams());
}

}  // namespace vigil::service

// The sessions the service knows: archived files, live streams pulled from a URL and realtime
// (WebSocket) sessions, each with a state and ingestion progress. Limits on how many may be
// open are enforced here, when a session is created.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace vigil::service {

enum class SessionKind { kFile, kStream, kRealtime };
enum class SessionState { kIngesting, kReady, kFailed, kClosed };
const char* to_string(SessionKind kind);    // "file", "stream", "realtime"
const char* to_string(SessionState state);  // "ingesting", "ready", "failed", "closed"

struct SessionInfo {
  std::string id;  // "file-…", "stream-…", "rt-…"
  SessionKind kind = SessionKind::kFile;
  std::string source;  // file name, URL, or "pushed stream"
  SessionState state = SessionState::kIngesting;
  int64_t created_at = 0;       // unix seconds
  int64_t bytes = 0;            // uploaded or pushed bytes
  int64_t frames_ingested = 0;  // sampled frames handed to the engine
  int64_t frames_planned = -1;  // archives: samples planned; live: -1
  double video_seconds = 0;     // time of the last ingested frame on the video timeline
  int64_t frames_dropped = 0;   // live frames dropped because ingestion lagged
  int64_t tokens_kept = 0;      // video tokens in memory (0 for a text-only engine)
  std::string error;            // why it failed

  // Archives: frames_ingested / frames_planned in [0, 1]; live: null.
  nlohmann::json progress() const;
  nlohmann::json to_json() const;
};

// Thrown by create when a limit is reached (the API answers 429).
class SessionLimitError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Thread-safe.
class SessionRegistry {
 public:
  SessionRegistry(int max_sessions, int max_streams);

  // Registers a new session in state ingesting. Throws SessionLimitError.
  SessionInfo create(SessionKind kind, const std::string& source, int64_t bytes = 0);
  std::optional<SessionInfo> get(const std::string& id) const;
  std::vector<SessionInfo> list(SessionKind kind) const;  // oldest first
  // Applies update to the session under the lock; false when it no longer exists. Updates
  // never move a session out of kClosed.
  template <typename Update>
  bool update(const std::string& id, Update&& update) {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto it = sessions_.find(id);
    if (it == sessions_.end()) return false;
    const SessionState before = it->second.state;
    update(it->second);
    if (before == SessionState::kClosed) it->second.state = SessionState::kClosed;
    return true;
  }
  // Forgets the session; false when unknown.
  bool remove(const std::string& id);
  int open_sessions() const;  // all registered
  int open_streams() const;   // streams + realtime

 private:
  const int max_sessions_;
  const int max_streams_;
  mutable std::mutex mutex_;
  std::map<std::string, SessionInfo> sessions_;
  int64_t next_serial_ = 0;
};

}  // namespace vigil::service

#include "service/session_registry.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>

namespace vigil::service {
namespace {

std::string random_hex(int digits) {
  static thread_local std::mt19937_64 generator{std::random_device{}()};
  std::string out;
  while (static_cast<int>(out.size()) < digits) {
    char part[17];
    std::snprintf(part, sizeof part, "%016llx", static_cast<unsigned long long>(generator()));
    out += part;
  }
  return out.substr(0, digits);
}

const char* prefix_of(SessionKind kind) {
  switch (kind) {
    case SessionKind::kFile:
      return "file-";
    case SessionKind::kStream:
      return "stream-";
    case SessionKind::kRealtime:
      return "rt-";
  }
  return "s-";
}

bool is_stream(SessionKind kind) {
  return kind == SessionKind::kStream || kind == SessionKind::kRealtime;
}

}  // namespace

const char* to_string(SessionKind kind) {
  switch (kind) {
    case SessionKind::kFile:
      return "file";
    case SessionKind::kStream:
      return "stream";
    case SessionKind::kRealtime:
      return "realtime";
  }
  return "file";
}

const char* to_string(SessionState state) {
  switch (state) {
    case SessionState::kIngesting:
      return "ingesting";
    case SessionState::kReady:
      return "ready";
    case SessionState::kFailed:
      return "failed";
    case SessionState::kClosed:
      return "closed";
  }
  return "failed";
}

nlohmann::json SessionInfo::progress() const {
  if (frames_planned < 0) return nullptr;
  if (frames_planned == 0) return state == SessionState::kReady ? 1.0 : 0.0;
  return std::min(1.0, static_cast<double>(frames_ingested) / static_cast<double>(frames_planned));
}

nlohmann::json SessionInfo::to_json() const {
  nlohmann::json json = {{"id", id},
                         {"object", kind == SessionKind::kFile ? "file" : "stream"},
                         {"kind", to_string(kind)},
                         {"source", source},
                         {"status", to_string(state)},
                         {"created_at", created_at},
                         {"bytes", bytes},
                         {"frames_ingested", frames_ingested},
                         {"frames_planned", frames_planned < 0 ? nlohmann::json(nullptr)
                                                               : nlohmann::json(frames_planned)},
                         {"frames_dropped", frames_dropped},
                         {"video_seconds", video_seconds},
                         {"tokens_kept", tokens_kept},
                         {"progress", progress()}};
  if (!error.empty()) json["error"] = error;
  return json;
}

SessionRegistry::SessionRegistry(int max_sessions, int max_streams)
    : max_sessions_(max_sessions), max_streams_(max_streams) {}

SessionInfo SessionRegistry::create(SessionKind kind, const std::string& source, int64_t bytes) {
  std::lock_guard<std::mutex> lock(mutex_);
  int streams = 0;
  for (const auto& [id, session] : sessions_) streams += is_stream(session.kind) ? 1 : 0;
  if (static_cast<int>(sessions_.size()) >= max_sessions_) {
    throw SessionLimitError("the server holds its maximum of " + std::to_string(max_sessions_) +
                            " sessions; delete one first");
  }
  if (is_stream(kind) && streams >= max_streams_) {
    throw SessionLimitError("the server holds its maximum of " + std::to_string(max_streams_) +
                            " live streams; delete one first");
  }
  SessionInfo info;
  info.id = prefix_of(kind) + random_hex(16);
  info.kind = kind;
  info.source = source;
  info.bytes = bytes;
  info.created_at = std::chrono::duration_cast<std::chrono::seconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
  ++next_serial_;
  sessions_[info.id] = info;
  return info;
}

std::optional<SessionInfo> SessionRegistry::get(const std::string& id) const {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = sessions_.find(id);
  if (it == sessions_.end()) return std::nullopt;
  return it->second;
}

std::vector<SessionInfo> SessionRegistry::list(SessionKind kind) const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<SessionInfo> out;
  for (const auto& [id, session] : sessions_) {
    if (session.kind == kind) out.push_back(session);
  }
  std::sort(out.begin(), out.end(), [](const SessionInfo& a, const SessionInfo& b) {
    return a.created_at != b.created_at ? a.created_at < b.created_at : a.id < b.id;
  });
  return out;
}

bool SessionRegistry::remove(const std::string& id) {
  std::lock_guard<std::mutex> lock(mutex_);
  return sessions_.erase(id) > 0;
}

int SessionRegistry::open_sessions() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return static_cast<int>(sessions_.size());
}

int SessionRegistry::open_streams() const {
  std::lock_guard<std::mutex> lock(mutex_);
  int streams = 0;
  for (const auto& [id, session] : sessions_) streams += is_stream(session.kind) ? 1 : 0;
  return streams;
}

}  // namespace vigil::service

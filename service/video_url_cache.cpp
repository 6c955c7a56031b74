#include "service/video_url_cache.h"

#include <optional>

namespace vigil::service {

VideoUrlCache::VideoUrlCache(SessionManager& sessions, ServiceMetrics& metrics)
    : sessions_(sessions), metrics_(metrics) {}

void VideoUrlCache::forget_deleted() {
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (it->second.waiters == 0 && !sessions_.registry().get(it->first)) {
      const auto current = current_.find(it->second.url);
      if (current != current_.end() && current->second == it->first) current_.erase(current);
      it = entries_.erase(it);
    } else {
      ++it;
    }
  }
}

VideoUrlCache::Waiting VideoUrlCache::start_waiting(const std::string& url) {
  std::lock_guard<std::mutex> lock(mutex_);
  forget_deleted();
  const auto current = current_.find(url);
  if (current != current_.end()) {
    const std::optional<SessionInfo> info = sessions_.registry().get(current->second);
    if (info && (info->state == SessionState::kIngesting || info->state == SessionState::kReady)) {
      ++entries_[current->second].waiters;
      metrics_.video_url_reuses.add(1);
      return {current->second, /*started=*/false};
    }
    // Failed or deleted: a new session takes the URL. A failed one started here goes with its
    // last waiter; one started by POST /v1/files stays listed, with its error, until deleted.
  }
  // Starting ingestion does not block (the engine's pump thread opens the URL).
  const SessionInfo info = sessions_.add_file_url(url);
  entries_[info.id] = Entry{url, /*from_chat=*/true, /*waiters=*/1};
  current_[url] = info.id;
  metrics_.video_url_ingests.add(1);
  return {info.id, /*started=*/true};
}

bool VideoUrlCache::stop_waiting(const std::string& session_id) {
  bool remove = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto it = entries_.find(session_id);
    if (it == entries_.end()) return false;
    Entry& entry = it->second;
    if (entry.waiters > 0) --entry.waiters;
    if (entry.waiters > 0) return false;
    const std::optional<SessionInfo> info = sessions_.registry().get(session_id);
    const bool failed = info && info->state == SessionState::kFailed;
    const bool unfinished = info && info->state == SessionState::kIngesting;
    remove = entry.from_chat && (failed || unfinished);
    if (!info || remove) {
      const auto current = current_.find(entry.url);
      if (current != current_.end() && current->second == session_id) current_.erase(current);
      entries_.erase(it);
    }
  }
  // Outside the lock: removal waits for the session's ingestion to stop.
  return remove && sessions_.remove(session_id);
}

void VideoUrlCache::remember(const std::string& url, const std::string& session_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  entries_[session_id] = Entry{url, /*from_chat=*/false, /*waiters=*/0};
  const auto current = current_.find(url);
  const std::optional<SessionInfo> info =
      current == current_.end() ? std::nullopt : sessions_.registry().get(current->second);
  const bool usable =
      info && (info->state == SessionState::kIngesting || info->state == SessionState::kReady);
  if (!usable) current_[url] = session_id;
}

}  // namespace vigil::service

// The external video URLs that chat requests name (a video_url part with http(s)://, rtsp://
// ...) and the archived file sessions that hold them: a URL is ingested once, as POST
// /v1/files with a JSON url would, and later requests naming it reuse its session, ingesting
// or ready.
//
// The key is the URL exactly as written. An entry lives as long as its session: until DELETE
// /v1/files/{id} removes it, or its ingestion fails (a later request then starts afresh).
// Sessions that POST /v1/files started for a URL are entered too (remember), so chat requests
// naming that URL reuse them. A session that a chat request started is removed when its
// ingestion failed, or when every request waiting for it gave up (timeout, client gone) before
// it was ready: nothing is left behind that no one asked for.
#pragma once

#include <map>
#include <mutex>
#include <string>

#include "service/metrics.h"
#include "service/session_manager.h"

namespace vigil::service {

// Thread-safe.
class VideoUrlCache {
 public:
  // Counts ingestions started and reuses in metrics (video_url_ingests, video_url_reuses).
  VideoUrlCache(SessionManager& sessions, ServiceMetrics& metrics);

  struct Waiting {
    std::string session_id;
    bool started = false;  // this call started the ingestion (else it reuses a session)
  };
  // The session holding url (already checked against the URL policy): a known one unless it
  // failed or is gone, else a new archived file session ingesting url. The caller now waits
  // for it and must call stop_waiting once. Throws SessionLimitError, EngineError.
  Waiting start_waiting(const std::string& url);

  // A caller of start_waiting no longer waits (the ingestion ended, it timed out, its client
  // left). A session started by a chat request that failed, or that is still ingesting with no
  // one waiting, is removed: true then. Blocks while ingestion stops: call off the I/O threads.
  bool stop_waiting(const std::string& session_id);

  // Enters a session that POST /v1/files started for url, unless url already has one.
  void remember(const std::string& url, const std::string& session_id);

 private:
  struct Entry {
    std::string url;
    bool from_chat = false;  // started by start_waiting (else by POST /v1/files)
    int waiters = 0;
  };
  // Forgets entries nobody waits for whose session is gone (deleted).
  void forget_deleted();

  SessionManager& sessions_;
  ServiceMetrics& metrics_;
  std::mutex mutex_;
  std::map<std::string, Entry> entries_;        // by session id
  std::map<std::string, std::string> current_;  // URL -> the session id requests reuse
};

}  // namespace vigil::service

// OpenAI's chat completion request body, parsed and validated into the engine's AnswerRequest.
#pragma once

#include <string>
#include <vector>

#include "service/engine.h"

namespace vigil::api {

// A video_url content part as the request names it.
struct VideoPart {
  std::string url;  // a session id ("file-…", "stream-…", "rt-…"), vigil://files/ID, or a URL
  std::optional<double> start_seconds;
  std::optional<double> end_seconds;
};

struct ChatRequest {
  std::string model;  // as given ("" when absent)
  bool stream = false;
  bool include_usage = false;     // stream_options.include_usage
  service::AnswerRequest answer;  // videos left empty: resolved by the handler from video_parts
  std::vector<VideoPart> video_parts;
  // Sessions ingesting the external URLs among video_parts (VideoUrlCache::start_waiting):
  // the request waits for them and then stops waiting, once per entry.
  std::vector<std::string> waiting_for;
};

// Parses body (JSON text). Throws ApiError(400) naming the field: invalid_json, missing or
// wrongly typed fields, values out of range (max_tokens > max_tokens_limit included).
ChatRequest parse_chat_request(const std::string& body, int max_tokens_limit);

// The session id a video_url names ("file-…", "vigil://files/file-…"), or "" for an external
// URL (scheme://…).
std::string session_id_of_video_url(const std::string& url);

}  // namespace vigil::api

#include "api/rest_handlers.h"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <optional>

#include "api/api_error.h"
#include "api/multipart_upload.h"
#include "api/url_policy.h"
#include "api/web_assets.h"

namespace vigil::api {
namespace {

using service::SessionInfo;
using service::SessionKind;

nlohmann::json parse_json_object(const std::string& body) {
  nlohmann::json json = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded())
    throw ApiError(400, "invalid_json", "the request body is not valid JSON");
  if (!json.is_object())
    throw ApiError(400, "invalid_json", "the request body must be a JSON object");
  return json;
}

std::string required_url(const nlohmann::json& json) {
  if (!json.contains("url")) throw ApiError(400, "invalid_request", "url is required", "url");
  if (!json["url"].is_string() || json["url"].get<std::string>().empty()) {
    throw ApiError(400, "invalid_request", "url must be a non-empty string", "url");
  }
  return json["url"].get<std::string>();
}

std::string lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

// Runs a session-creating call, mapping limit and engine refusals.
template <typename Create>
auto create_session(Create&& create) -> decltype(create()) {
  try {
    return create();
  } catch (const service::SessionLimitError& e) {
    throw ApiError(429, "too_many_sessions", e.what());
  } catch (const service::EngineError& e) {
    throw api_error_of(e);
  }
}

SessionInfo session_of_kind(ApiContext& context, const std::string& id, bool stream) {
  const std::optional<SessionInfo> info = context.sessions.registry().get(id);
  const bool kind_ok =
      info && (stream ? info->kind != SessionKind::kFile : info->kind == SessionKind::kFile);
  if (!kind_ok) {
    throw ApiError(404, "not_found",
                   std::string("no ") + (stream ? "stream" : "file") + " with id '" + id + "'",
                   "id");
  }
  return *info;
}

nlohmann::json list_json(const std::vector<SessionInfo>& sessions) {
  nlohmann::json data = nlohmann::json::array();
  for (const SessionInfo& info : sessions) data.push_back(info.to_json());
  return {{"object", "list"}, {"data", data}};
}

std::string upload_dir(const ApiContext& context) {
  const std::string dir = context.config.data_dir + "/uploads";
  std::filesystem::create_directories(dir);
  return dir;
}

// The embedded web page. Its scripts and styles are files of its own, so the policy allows
// nothing inline and nothing from elsewhere; 'self' covers the page's WebSocket too.
ApiResponse page_response(const std::string& path) {
  const std::optional<WebAsset> asset = find_web_asset(path);
  if (!asset) throw ApiError(404, "not_found", "no page asset " + path);
  ApiResponse response;
  response.content_type = std::string(asset->content_type);
  response.body = std::string(asset->body);
  response.headers = {
      {"Cache-Control", "no-cache"},
      {"X-Content-Type-Options", "nosniff"},
      {"Content-Security-Policy",
       "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
       "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"},
  };
  return response;
}

// Refuses a video_url naming a session that is unknown (404) or failed (409).
void check_video_session(ApiContext& context, const std::string& id) {
  const std::optional<SessionInfo> session = context.sessions.registry().get(id);
  if (!session) {
    throw ApiError(404, "not_found", "video_url names no file or stream with id '" + id + "'",
                   "messages");
  }
  if (session->state == service::SessionState::kFailed) {
    throw ApiError(409, "session_failed", "video '" + id + "' failed to ingest: " + session->error,
                   "messages");
  }
}

// Refuses an external video_url whose ingestion (session id) did not end ready.
void check_ingested_url(ApiContext& context, const std::string& url, const std::string& id) {
  const std::optional<SessionInfo> session = context.sessions.registry().get(id);
  if (!session || session->state == service::SessionState::kClosed) {
    throw ApiError(409, "video_url_deleted",
                   "the video at " + url + " (" + id + ") was deleted while it was ingested",
                   "messages");
  }
  if (session->state == service::SessionState::kFailed) {
    throw ApiError(400, "invalid_video_url",
                   "could not ingest the video at " + url + " (" + id + "): " + session->error,
                   "messages");
  }
}

ApiError video_timeout_error(ApiContext& context, const ChatRequest& chat) {
  std::string what;
  for (const std::string& id : chat.waiting_for) {
    const std::optional<SessionInfo> session = context.sessions.registry().get(id);
    if (!session || session->state != service::SessionState::kIngesting) continue;
    if (!what.empty()) what += ", ";
    what += id + " (" + session->source + ": " + std::to_string(session->frames_ingested) +
            " frames ingested";
    if (session->frames_planned >= 0) what += " of " + std::to_string(session->frames_planned);
    what += ")";
  }
  if (what.empty()) what = "its ingestion ended just then";
  return ApiError(504, "video_url_timeout",
                  "the video was not ingested within video_url_timeout_seconds (" +
                      std::to_string(context.config.video_url_timeout_seconds) + " s): " + what +
                      ". Ingestion goes on only while another request waits for it; for long "
                      "videos, POST /v1/files with the url and ask once it is ready",
                  "messages");
}

void check_with_engine(ApiContext& context, const service::AnswerRequest& answer) {
  try {
    context.engine.check(answer);
  } catch (const service::EngineError& e) {
    throw api_error_of(e);
  }
}

const char* to_string(VideoWaitEnd end) {
  switch (end) {
    case VideoWaitEnd::kIngested:
      return "ingested";
    case VideoWaitEnd::kTimedOut:
      return "timed_out";
    case VideoWaitEnd::kClientGone:
      return "client_gone";
  }
  return "ingested";
}

ApiResponse handle_upload(ApiContext& context, const ApiRequest& request) {
  const std::string content_type = lower(request.header("content-type"));
  if (content_type.rfind("application/json", 0) == 0) {
    const std::string url = required_url(parse_json_object(request.body));
    check_ingest_url(url, context.config.allow_private_urls);
    const SessionInfo info = create_session([&] { return context.sessions.add_file_url(url); });
    context.video_urls.remember(url, info.id);
    return json_response(202, info.to_json());
  }
  if (request.body_file.empty()) {
    throw ApiError(400, "invalid_request", "the upload has no body");
  }
  const std::string dir = upload_dir(context);
  const std::string stored = request.body_file + ".video";
  std::string name = "upload";
  int64_t bytes = 0;
  if (content_type.rfind("multipart/form-data", 0) == 0) {
    try {
      const MultipartUpload upload = extract_multipart_file(
          request.body_file, multipart_boundary(request.header("content-type")), stored);
      name = upload.filename;
      bytes = upload.bytes;
    } catch (...) {
      std::remove(stored.c_str());
      throw;
    }
    std::remove(request.body_file.c_str());
  } else if (content_type.rfind("video/", 0) == 0 ||
             content_type.rfind("application/octet-stream", 0) == 0) {
    std::filesystem::rename(request.body_file, stored);
    struct stat status {};
    if (::stat(stored.c_str(), &status) == 0) bytes = status.st_size;
    const std::string disposition = request.header("x-filename");
    if (!disposition.empty()) name = disposition;
  } else {
    multipart_boundary(content_type);  // throws the 415 naming what is accepted
  }
  if (bytes == 0) {
    std::remove(stored.c_str());
    throw ApiError(400, "empty_file", "the uploaded file is empty", "file");
  }
  const SessionInfo info =
      create_session([&] { return context.sessions.add_file(stored, name, bytes); });
  return json_response(202, info.to_json());
}

}  // namespace

ApiResponse json_response(int status, const nlohmann::json& body) {
  ApiResponse response;
  response.status = status;
  response.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return response;
}

ApiResponse error_response(const ApiError& error) {
  return json_response(error.status(), error.body());
}

std::vector<std::string> websocket_subprotocols(const std::string& header) {
  std::vector<std::string> protocols;
  size_t start = 0;
  while (start < header.size()) {
    const size_t comma = std::min(header.find(',', start), header.size());
    size_t first = start, last = comma;
    while (first < last && (header[first] == ' ' || header[first] == '\t')) ++first;
    while (last > first && (header[last - 1] == ' ' || header[last - 1] == '\t')) --last;
    if (last > first) protocols.push_back(header.substr(first, last - first));
    start = comma + 1;
  }
  return protocols;
}

void authorize(const ApiContext& context, const ApiRequest& request) {
  if (context.config.api_keys.empty()) return;
  std::optional<std::string> key;
  const std::string header = request.header("authorization");
  const std::string prefix = "Bearer ";
  if (header.size() > prefix.size() && header.compare(0, prefix.size(), prefix) == 0) {
    key = header.substr(prefix.size());
  } else if (header.empty() && lower(request.header("upgrade")) == "websocket") {
    // Browsers cannot set headers on a WebSocket: the key comes as a subprotocol.
    for (const std::string& protocol :
         websocket_subprotocols(request.header("sec-websocket-protocol"))) {
      if (protocol.rfind(kApiKeySubprotocolPrefix, 0) == 0) {
        key = protocol.substr(std::string(kApiKeySubprotocolPrefix).size());
      }
    }
  }
  if (key) {
    for (const std::string& allowed : context.config.api_keys) {
      if (*key == allowed) return;
    }
    throw ApiError(401, "invalid_api_key", "the API key is not valid");
  }
  throw ApiError(401, "missing_api_key",
                 "this endpoint needs an API key: 'Authorization: Bearer <key>'");
}

ApiResponse handle_rest(ApiContext& context, const Route& route, const ApiRequest& request) {
  const std::string pattern = route.pattern;
  const std::string method = request.method == "HEAD" ? "GET" : request.method;
  if (route.kind == RouteKind::kPage) return page_response(request.path);
  if (pattern == "/health/live") return json_response(200, {{"status", "ok"}});
  if (pattern == "/health/ready") {
    if (context.draining.load()) {
      throw ApiError(503, "shutting_down", "the server is shutting down");
    }
    return json_response(200, {{"status", "ready"}, {"model", context.engine.info().model_id}});
  }
  if (pattern == "/metrics") {
    ApiResponse response;
    response.content_type = "text/plain; version=0.0.4; charset=utf-8";
    response.body = context.metrics.registry.render();
    return response;
  }
  if (pattern == "/v1/models") {
    const service::EngineInfo info = context.engine.info();
    nlohmann::json model = {{"id", info.model_id},
                            {"object", "model"},
                            {"created", 0},
                            {"owned_by", "vigil"},
                            {"has_vision", info.has_vision},
                            {"context_length", info.context_tokens}};
    return json_response(200, {{"object", "list"}, {"data", nlohmann::json::array({model})}});
  }
  if (context.draining.load() && method == "POST") {
    throw ApiError(503, "shutting_down", "the server is shutting down");
  }
  if (pattern == "/v1/files" && method == "POST") return handle_upload(context, request);
  if (pattern == "/v1/files" && method == "GET") {
    return json_response(200, list_json(context.sessions.registry().list(SessionKind::kFile)));
  }
  if (pattern == "/v1/streams" && method == "GET") {
    std::vector<SessionInfo> all = context.sessions.registry().list(SessionKind::kStream);
    for (const SessionInfo& info : context.sessions.registry().list(SessionKind::kRealtime)) {
      all.push_back(info);
    }
    return json_response(200, list_json(all));
  }
  if (pattern == "/v1/streams" && method == "POST") {
    const std::string url = required_url(parse_json_object(request.body));
    check_ingest_url(url, context.config.allow_private_urls);
    const SessionInfo info = create_session([&] { return context.sessions.add_stream(url); });
    return json_response(201, info.to_json());
  }
  const bool stream = pattern == "/v1/streams/{id}";
  if (stream || pattern == "/v1/files/{id}") {
    const std::string id = request.params.at("id");
    const SessionInfo info = session_of_kind(context, id, stream);
    if (method == "GET") return json_response(200, info.to_json());
    if (method == "DELETE") {
      if (info.kind == SessionKind::kRealtime) {
        throw ApiError(409, "realtime_session",
                       "stream '" + id + "' belongs to a realtime connection; close its socket");
      }
      context.sessions.remove(id);
      return json_response(200,
                           {{"id", id}, {"object", stream ? "stream" : "file"}, {"deleted", true}});
    }
  }
  throw ApiError(405, "method_not_allowed", request.method + " is not allowed on " + request.path);
}

ChatRequest prepare_chat(ApiContext& context, const ApiRequest& request) {
  if (context.draining.load()) throw ApiError(503, "shutting_down", "the server is shutting down");
  ChatRequest chat = parse_chat_request(request.body, context.config.max_tokens_limit);
  const service::EngineInfo info = context.engine.info();
  if (!chat.model.empty() && chat.model != info.model_id) {
    throw ApiError(
        404, "model_not_found",
        "the model '" + chat.model + "' does not exist; this server serves '" + info.model_id + "'",
        "model");
  }
  std::vector<size_t> external;  // indices of video_parts naming a URL to ingest
  for (size_t i = 0; i < chat.video_parts.size(); ++i) {
    const VideoPart& part = chat.video_parts[i];
    service::VideoReference reference;
    reference.start_seconds = part.start_seconds;
    reference.end_seconds = part.end_seconds;
    reference.session_id = session_id_of_video_url(part.url);
    if (reference.session_id.empty()) {
      check_ingest_url(part.url, context.config.allow_private_urls);
      external.push_back(i);
    } else {
      check_video_session(context, reference.session_id);
    }
    chat.answer.videos.push_back(reference);
  }
  if (external.empty()) {
    check_with_engine(context, chat.answer);
    return chat;
  }
  // Before any download: what the engine refuses regardless of the videos (no vision tower,
  // max_tokens).
  service::AnswerRequest without_videos = chat.answer;
  without_videos.videos.clear();
  check_with_engine(context, without_videos);
  try {
    for (size_t i : external) {
      const service::VideoUrlCache::Waiting waiting =
          create_session([&] { return context.video_urls.start_waiting(chat.video_parts[i].url); });
      chat.answer.videos[i].session_id = waiting.session_id;
      chat.waiting_for.push_back(waiting.session_id);
      context.log.info("video_url.waiting", {{"session", waiting.session_id},
                                             {"url", chat.video_parts[i].url},
                                             {"started", waiting.started}});
    }
  } catch (...) {
    for (const std::string& id : chat.waiting_for) context.video_urls.stop_waiting(id);
    throw;
  }
  return chat;
}

void finish_video_wait(ApiContext& context, const ChatRequest& chat, VideoWaitEnd end) {
  std::optional<ApiError> error;
  if (end == VideoWaitEnd::kTimedOut) {
    error = video_timeout_error(context, chat);
  } else if (end == VideoWaitEnd::kIngested) {
    try {
      for (size_t i = 0; i < chat.video_parts.size(); ++i) {
        const std::string& id = chat.answer.videos[i].session_id;
        if (session_id_of_video_url(chat.video_parts[i].url).empty()) {
          check_ingested_url(context, chat.video_parts[i].url, id);
        } else {
          check_video_session(context, id);
        }
      }
      check_with_engine(context, chat.answer);
    } catch (const ApiError& e) {
      error = e;
    }
  }
  // After the checks: stopping may remove a failed session, and its error with it.
  const char* reason = end == VideoWaitEnd::kIngested ? "ingestion_failed" : to_string(end);
  for (const std::string& id : chat.waiting_for) {
    if (context.video_urls.stop_waiting(id)) {
      context.log.info("video_url.removed", {{"session", id}, {"reason", reason}});
    }
  }
  if (error) throw *error;
}

}  // namespace vigil::api

// The REST handlers: files, streams, models, health, metrics, and the preparation of chat
// completions (parsing, resolving video references, the engine's up-front checks). They may
// block (DNS, disk, stopping ingestion): the connection runs them off its I/O thread. They
// throw ApiError; the caller turns it into the response.
#pragma once

#include <string>
#include <vector>

#include "api/api_context.h"
#include "api/api_error.h"
#include "api/api_types.h"
#include "api/chat_request.h"
#include "api/routes.h"

namespace vigil::api {

// The WebSocket subprotocol that carries an API key from a browser, which cannot set headers
// on a WebSocket: "openai-insecure-api-key.<key>" (OpenAI Realtime's browser convention).
inline constexpr const char* kApiKeySubprotocolPrefix = "openai-insecure-api-key.";

// The subprotocols a Sec-WebSocket-Protocol header offers, in order ("a, b" -> {"a", "b"}).
std::vector<std::string> websocket_subprotocols(const std::string& header);

// Checks the key against the configured keys: 'Authorization: Bearer <key>', or on a
// WebSocket upgrade without that header the kApiKeySubprotocolPrefix subprotocol. Throws
// ApiError(401).
void authorize(const ApiContext& context, const ApiRequest& request);

// Answers a kRest or kUpload route.
ApiResponse handle_rest(ApiContext& context, const Route& route, const ApiRequest& request);

// Parses and checks a chat completion request; videos resolved to sessions. An external URL
// (http(s)://, rtsp://, ...) that passes the URL policy is ingested on demand as an archived
// file, or reuses the session already holding it (service::VideoUrlCache): its session id is
// in chat.waiting_for, and the caller must wait for its ingestion to end
// (SessionManager::when_ingested), then call finish_video_wait. Otherwise the request is
// checked completely here. Blocks (DNS, starting ingestion): call off the I/O threads.
ChatRequest prepare_chat(ApiContext& context, const ApiRequest& request);

// How a chat request's wait for the ingestion of its video URLs ended.
enum class VideoWaitEnd { kIngested, kTimedOut, kClientGone };

// Ends the wait of a request whose chat.waiting_for is not empty: stops waiting (a session
// the request started that failed or that nobody waits for any more is removed) and, when
// every video was ingested, checks the request as prepare_chat would have. Throws ApiError:
// 400 invalid_video_url when an ingestion failed (the decoder's reason), 504
// video_url_timeout when it took longer than video_url_timeout_seconds. Blocks (stopping
// ingestion): call off the I/O threads.
void finish_video_wait(ApiContext& context, const ChatRequest& chat, VideoWaitEnd end);

// A JSON response.
ApiResponse json_response(int status, const nlohmann::json& body);
ApiResponse error_response(const ApiError& error);

}  // namespace vigil::api

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

// Parses and checks a chat completion request; videos resolved to sessions.
ChatRequest prepare_chat(ApiContext& context, const ApiRequest& request);

// A JSON response.
ApiResponse json_response(int status, const nlohmann::json& body);
ApiResponse error_response(const ApiError& error);

}  // namespace vigil::api

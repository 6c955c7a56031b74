// The server's route table: every method and path it serves, and how each is handled. The
// OpenAPI document (docs/openapi.json) lists the same paths (a test checks it).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace vigil::api {

enum class RouteKind {
  kRest,      // JSON in, JSON (or text) out, handled off the I/O thread
  kUpload,    // POST /v1/files: the body streams to a file (multipart or raw) or is JSON
  kChat,      // POST /v1/chat/completions: answered by a worker, JSON or SSE
  kRealtime,  // GET /v1/realtime: WebSocket upgrade
  kPage,      // GET / and /web/{name}: the embedded web page (api/web_assets.h), public
};

struct Route {
  const char* method;   // "GET", "POST", "DELETE"
  const char* pattern;  // "/v1/files/{id}"
  RouteKind kind;
  bool needs_auth;  // false for health, metrics and the web page
};

// Every route, in a stable order.
const std::vector<Route>& route_table();

struct RouteMatch {
  const Route* route = nullptr;
  std::map<std::string, std::string> params;
};

// The route for method and path. nullopt with path_known=true: the path exists with another
// method (405); false: no such path (404).
std::optional<RouteMatch> match_route(const std::string& method, const std::string& path,
                                      bool& path_known);

}  // namespace vigil::api

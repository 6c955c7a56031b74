#include "api/routes.h"

namespace vigil::api {
namespace {

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> parts;
  size_t start = 1;
  while (start <= path.size()) {
    const size_t slash = std::min(path.find('/', start), path.size());
    parts.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return parts;
}

bool match_pattern(const std::string& pattern, const std::string& path,
                   std::map<std::string, std::string>& params) {
  const std::vector<std::string> want = split_path(pattern);
  const std::vector<std::string> got = split_path(path);
  if (want.size() != got.size()) return false;
  std::map<std::string, std::string> found;
  for (size_t i = 0; i < want.size(); ++i) {
    if (want[i].size() > 2 && want[i].front() == '{' && want[i].back() == '}') {
      if (got[i].empty()) return false;
      found[want[i].substr(1, want[i].size() - 2)] = got[i];
    } else if (want[i] != got[i]) {
      return false;
    }
  }
  params = std::move(found);
  return true;
}

}  // namespace

const std::vector<Route>& route_table() {
  static const std::vector<Route> routes = {
      {"GET", "/health/live", RouteKind::kRest, false},
      {"GET", "/health/ready", RouteKind::kRest, false},
      {"GET", "/metrics", RouteKind::kRest, false},
      {"GET", "/v1/models", RouteKind::kRest, true},
      {"POST", "/v1/files", RouteKind::kUpload, true},
      {"GET", "/v1/files", RouteKind::kRest, true},
      {"GET", "/v1/files/{id}", RouteKind::kRest, true},
      {"DELETE", "/v1/files/{id}", RouteKind::kRest, true},
      {"POST", "/v1/streams", RouteKind::kRest, true},
      {"GET", "/v1/streams", RouteKind::kRest, true},
      {"GET", "/v1/streams/{id}", RouteKind::kRest, true},
      {"DELETE", "/v1/streams/{id}", RouteKind::kRest, true},
      {"POST", "/v1/chat/completions", RouteKind::kChat, true},
      {"GET", "/v1/realtime", RouteKind::kRealtime, true},
      {"GET", "/", RouteKind::kPage, false},
      {"GET", "/web/{name}", RouteKind::kPage, false},
  };
  return routes;
}

std::optional<RouteMatch> match_route(const std::string& method, const std::string& path,
                                      bool& path_known) {
  path_known = false;
  for (const Route& route : route_table()) {
    std::map<std::string, std::string> params;
    if (!match_pattern(route.pattern, path, params)) continue;
    path_known = true;
    if (method == route.method) {
      return RouteMatch{&route, std::move(params)};
    }
  }
  return std::nullopt;
}

}  // namespace vigil::api

// A request and a response as the handlers see them, free of Beast (which only the
// connection code includes).
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace vigil::api {

struct ApiRequest {
  std::string method;                          // "GET", "POST", ...
  std::string path;                            // "/v1/files/file-1" (no query)
  std::string query;                           // after '?', undecoded
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;                            // JSON bodies (uploads go to body_file)
  std::string body_file;                       // uploads: the file the body was written to
  std::map<std::string, std::string> params;   // path parameters: {"id": "file-1"}

  std::string header(const std::string& lower_name) const {
    const auto it = headers.find(lower_name);
    return it == headers.end() ? "" : it->second;
  }
};

struct ApiResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // more fields: {"Cache-Control", ..}
};

}  // namespace vigil::api

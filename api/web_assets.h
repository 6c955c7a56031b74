// The web page (api/web/*: index.html, app.js, style.css), embedded in the binary at build
// time by api/web/embed_web_assets.cmake, so that `vigil serve` needs no files at runtime.
// Served publicly at GET / (index.html) and GET /web/{name}; its API calls carry the key the
// user types into it.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vigil::api {

struct WebAsset {
  std::string_view name;          // "index.html"
  std::string_view content_type;  // "text/html; charset=utf-8"
  std::string_view body;          // static storage: valid for the program's lifetime
};

// The asset a request path names: "/" is index.html, "/web/NAME" is NAME; nullopt for any
// other path or an unknown name. Thread-safe.
std::optional<WebAsset> find_web_asset(const std::string& path);

namespace detail {
struct EmbeddedWebFile {
  std::string_view name;  // the file's name in api/web/
  std::string_view body;
};
// Defined by the generated web_assets_data.cpp.
const std::vector<EmbeddedWebFile>& embedded_web_files();
}  // namespace detail

}  // namespace vigil::api

#include "api/web_assets.h"

namespace vigil::api {
namespace {

bool ends_with(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string_view content_type_of(std::string_view name) {
  if (ends_with(name, ".html")) return "text/html; charset=utf-8";
  if (ends_with(name, ".js")) return "text/javascript; charset=utf-8";
  if (ends_with(name, ".css")) return "text/css; charset=utf-8";
  if (ends_with(name, ".svg")) return "image/svg+xml";
  return "application/octet-stream";
}

}  // namespace

std::optional<WebAsset> find_web_asset(const std::string& path) {
  const std::string prefix = "/web/";
  std::string_view name;
  if (path == "/") {
    name = "index.html";
  } else if (path.rfind(prefix, 0) == 0) {
    name = std::string_view(path).substr(prefix.size());
  } else {
    return std::nullopt;
  }
  for (const detail::EmbeddedWebFile& file : detail::embedded_web_files()) {
    if (file.name == name) return WebAsset{file.name, content_type_of(file.name), file.body};
  }
  return std::nullopt;
}

}  // namespace vigil::api

#include "llm/jinja_error.h"

#include <utility>

namespace vigil::llm::jinja {
namespace {

std::string describe(TemplateError::Kind kind, const std::string& message,
                     const std::string& origin, SourceLocation location) {
  std::string text;
  if (!origin.empty()) text += origin + ":";
  if (location.line > 0) {
    text += std::to_string(location.line) + ":" + std::to_string(location.column) + ":";
  }
  if (!text.empty()) text += " ";
  return text + to_string(kind) + ": " + message;
}

}  // namespace

TemplateError::TemplateError(Kind kind, std::string message, std::string origin,
                             SourceLocation location)
    : std::runtime_error(describe(kind, message, origin, location)),
      kind_(kind),
      message_(std::move(message)),
      origin_(std::move(origin)),
      location_(location) {}

const char* to_string(TemplateError::Kind kind) {
  switch (kind) {
    case TemplateError::Kind::kLoad:
      return "load error";
    case TemplateError::Kind::kInvalidInput:
      return "invalid input";
    case TemplateError::Kind::kSyntax:
      return "syntax error";
    case TemplateError::Kind::kUnsupported:
      return "unsupported";
    case TemplateError::Kind::kRuntime:
      return "render error";
    case TemplateError::Kind::kRaised:
      return "raised by template";
    case TemplateError::Kind::kLimit:
      return "limit exceeded";
  }
  return "error";
}

}  // namespace vigil::llm::jinja

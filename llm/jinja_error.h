// The chat-template engine's typed error. Every failure of loading, parsing or rendering a
// template is a TemplateError: its kind says which, its message says what, and it names the
// template (origin) and, where it has one, the line and column in the template's own text.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>

namespace vigil::llm::jinja {

// A position in a template's text as written (before whitespace control): 1-based line, and
// 1-based column counted in Unicode code points. 0 means unknown.
struct SourceLocation {
  size_t line = 0;
  size_t column = 0;
};

class TemplateError : public std::runtime_error {
 public:
  enum class Kind {
    kLoad,          // a checkpoint's template file is missing, unreadable or malformed
    kInvalidInput,  // the messages or variables handed to render have the wrong shape
    kSyntax,        // the template text is not valid template syntax
    kUnsupported,   // valid Jinja2, but a statement, filter or test this engine lacks
    kRuntime,       // rendering failed: a type error, a bad argument, a division by zero
    kRaised,        // the template called raise_exception(message)
    kLimit,         // rendering exceeded a resource limit (output size, recursion, range)
  };

  // what() reads "ORIGIN:LINE:COLUMN: KIND: MESSAGE" (origin and location when known).
  TemplateError(Kind kind, std::string message, std::string origin = {},
                SourceLocation location = {});

  Kind kind() const noexcept { return kind_; }
  // The message alone: for kRaised, exactly the text the template passed to raise_exception.
  const std::string& message() const noexcept { return message_; }
  const std::string& origin() const noexcept { return origin_; }
  SourceLocation location() const noexcept { return location_; }

 private:
  Kind kind_;
  std::string message_;
  std::string origin_;
  SourceLocation location_;
};

// "syntax error", "unsupported", ... as they appear in what().
const char* to_string(TemplateError::Kind kind);

}  // namespace vigil::llm::jinja

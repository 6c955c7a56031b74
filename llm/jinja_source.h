// A template's text as written, with its name: maps byte offsets to line and column for error
// messages, and throws the engine's typed errors at an offset.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "llm/jinja_error.h"

namespace vigil::llm::jinja {

class SourceText {
 public:
  // origin names the template in errors, e.g. "Qwen2.5-7B-Instruct/tokenizer_config.json".
  SourceText(std::string text, std::string origin);

  const std::string& text() const { return text_; }
  const std::string& origin() const { return origin_; }
  // Line and column (in code points) of a byte offset; offsets past the end are the end.
  SourceLocation locate(size_t offset) const;
  // Throws TemplateError of kind at offset.
  [[noreturn]] void fail(TemplateError::Kind kind, const std::string& message, size_t offset) const;

 private:
  std::string text_;
  std::string origin_;
  std::vector<size_t> line_starts_;  // byte offset of the first byte of each line
};

}  // namespace vigil::llm::jinja

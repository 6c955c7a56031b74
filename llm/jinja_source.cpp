#include "llm/jinja_source.h"

#include <algorithm>
#include <string_view>
#include <utility>

#include "llm/jinja_text.h"

namespace vigil::llm::jinja {

SourceText::SourceText(std::string text, std::string origin)
    : text_(std::move(text)), origin_(std::move(origin)) {
  line_starts_.push_back(0);
  for (size_t i = 0; i < text_.size(); ++i) {
    if (text_[i] == '\n') line_starts_.push_back(i + 1);
  }
}

SourceLocation SourceText::locate(size_t offset) const {
  offset = std::min(offset, text_.size());
  const auto after = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset);
  const size_t line_start = *(after - 1);
  const std::string_view line(text_.data() + line_start, offset - line_start);
  return {static_cast<size_t>(after - line_starts_.begin()), text::code_point_count(line) + 1};
}

void SourceText::fail(TemplateError::Kind kind, const std::string& message, size_t offset) const {
  throw TemplateError(kind, message, origin_, locate(offset));
}

}  // namespace vigil::llm::jinja

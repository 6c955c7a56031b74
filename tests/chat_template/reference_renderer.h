// Runs the reference renderer, @huggingface/jinja, on many (template, variables) cases in one
// node process (render_reference.mjs), and the paths the chat-template tests read.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace vigil::testing::chat {

std::string js_root();       // tools/js
std::string fixtures_dir();  // tests/fixtures/chat_templates

// "" when node and @huggingface/jinja are installed, else what is missing and how to get it.
std::string missing_reference();

struct ReferenceCase {
  std::string template_source;
  nlohmann::ordered_json variables;
};

struct ReferenceResult {
  bool ok = false;
  std::string text;   // when ok
  std::string error;  // the reference's error message when not ok
};

// One result per case, in order. Throws std::runtime_error when node fails.
std::vector<ReferenceResult> render_with_reference(const std::vector<ReferenceCase>& cases);

// Text with control characters and non-ASCII bytes escaped, for failure messages.
std::string escape_for_report(const std::string& text);

}  // namespace vigil::testing::chat

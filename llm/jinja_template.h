// A compiled chat template: parse once, render many times. This is the engine's entry point;
// the lexer, parser, interpreter and builtins behind it are its parts.
//
// The template language is the Jinja2 subset that Hugging Face chat templates use, rendered as
// transformers renders them (trim_blocks and lstrip_blocks on, {% generation %} markers
// dropped) and as @huggingface/jinja does; jinja_builtins.h lists where vigil follows Python
// instead of the JavaScript reference.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "llm/jinja_ast.h"
#include "llm/jinja_builtins.h"
#include "llm/jinja_source.h"

namespace vigil::llm::jinja {

// Immutable after construction; copies share the parsed tree. render is const and may run on
// many threads at once.
class Template {
 public:
  // Parses source. origin names the template in errors ("<checkpoint>/tokenizer_config.json").
  // Throws TemplateError (kSyntax, kUnsupported, kLimit) with the line and column.
  Template(std::string source, std::string origin);

  // The rendered text. variables is a JSON object: each key becomes a template variable
  // (JSON null is none; object key order is kept). Throws TemplateError: kInvalidInput when
  // variables is not an object; kRaised from raise_exception; kRuntime, kUnsupported, kLimit
  // with the line and column of the failing expression.
  std::string render(const nlohmann::ordered_json& variables,
                     const RenderLimits& limits = {}) const;

  const std::string& source() const { return source_->text(); }
  const std::string& origin() const { return source_->origin(); }
  const Program& program() const { return *program_; }

 private:
  std::shared_ptr<const SourceText> source_;
  std::shared_ptr<const Program> program_;
};

}  // namespace vigil::llm::jinja

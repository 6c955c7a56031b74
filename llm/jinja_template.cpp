#include "llm/jinja_template.h"

#include <utility>

#include "llm/jinja_environment.h"
#include "llm/jinja_interpreter.h"
#include "llm/jinja_lexer.h"
#include "llm/jinja_parser.h"

namespace vigil::llm::jinja {

Template::Template(std::string source, std::string origin)
    : source_(std::make_shared<const SourceText>(std::move(source), std::move(origin))),
      program_(std::make_shared<const Program>(parse(tokenize(*source_), *source_))) {}

std::string Template::render(const nlohmann::ordered_json& variables,
                             const RenderLimits& limits) const {
  if (!variables.is_object()) {
    throw TemplateError(
        TemplateError::Kind::kInvalidInput,
        std::string("template variables must be a JSON object, not ") + variables.type_name(),
        source_->origin());
  }
  Environment globals;
  install_globals(globals, limits);
  Environment scope(&globals);
  for (const auto& [name, value] : variables.items()) scope.set(name, Value::from_json(value));
  Interpreter interpreter(*source_, limits);
  return interpreter.render(*program_, scope);
}

}  // namespace vigil::llm::jinja

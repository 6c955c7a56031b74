#include "llm/jinja_environment.h"

namespace vigil::llm::jinja {

Value Environment::lookup(std::string_view name) const {
  for (const Environment* scope = this; scope != nullptr; scope = scope->parent_) {
    const auto found = scope->variables_.find(std::string(name));
    if (found != scope->variables_.end()) return found->second;
  }
  return Value();
}

}  // namespace vigil::llm::jinja

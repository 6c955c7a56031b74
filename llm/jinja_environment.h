// A scope of template variables. Scopes chain to their parent: a for loop or a macro call opens
// a child scope, {% set %} writes to the current scope, lookups walk outwards. Scopes live on
// the interpreter's stack for one render; they are not shared between threads.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>

#include "llm/jinja_value.h"

namespace vigil::llm::jinja {

class Environment {
 public:
  explicit Environment(Environment* parent = nullptr) : parent_(parent) {}
  Environment(const Environment&) = delete;
  Environment& operator=(const Environment&) = delete;

  // The innermost binding of name, or undefined.
  Value lookup(std::string_view name) const;
  // Binds name in this scope.
  void set(const std::string& name, Value value) { variables_[name] = std::move(value); }

 private:
  Environment* parent_;
  std::unordered_map<std::string, Value> variables_;
};

}  // namespace vigil::llm::jinja

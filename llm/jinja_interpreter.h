// Renders a parsed chat template: walks the syntax tree, evaluating expressions and writing
// text. One Interpreter renders once; it holds the render's counters (output size, loop
// iterations, macro depth) against RenderLimits.
#pragma once

#include <cstddef>
#include <string>

#include "llm/jinja_ast.h"
#include "llm/jinja_builtins.h"
#include "llm/jinja_environment.h"
#include "llm/jinja_source.h"

namespace vigil::llm::jinja {

class Interpreter {
 public:
  Interpreter(const SourceText& source, const RenderLimits& limits)
      : source_(source), limits_(limits) {}
  Interpreter(const Interpreter&) = delete;
  Interpreter& operator=(const Interpreter&) = delete;

  // The text of program rendered in env (which holds the globals and the caller's variables).
  // Throws TemplateError with the template's line and column.
  std::string render(const Program& program, Environment& env);

 private:
  enum class Flow { kNormal, kBreak, kContinue };

  Flow execute_block(const Block& block, Environment& env, std::string& out);
  Flow execute(const Node& node, Environment& env, std::string& out);
  void execute_for(const ForNode& node, Environment& env, std::string& out);
  void execute_set(const SetNode& node, Environment& env);
  void define_macro(const MacroNode& node, Environment& env);
  Value call_macro(const MacroNode& node, const Arguments& arguments, Environment& caller);
  void assign(const Node& target, const Value& value, Environment& env);
  void append(std::string& out, const std::string& text, const Node& at);

  Value evaluate(const Node& node, Environment& env);
  Value evaluate_node(const Node& node, Environment& env);
  Value evaluate_member(const MemberNode& node, Environment& env);
  Value evaluate_slice(const Value& object, const SliceNode& node, Environment& env);
  Value evaluate_call(const CallNode& node, Environment& env);
  Value evaluate_unary(const UnaryNode& node, Environment& env);
  Value evaluate_binary(const BinaryNode& node, Environment& env);
  Arguments evaluate_arguments(const std::vector<NodePtr>& nodes, Environment& env);

  [[noreturn]] void fail(TemplateError::Kind kind, const std::string& message,
                         const Node& at) const;

  const SourceText& source_;
  const RenderLimits limits_;
  size_t loop_iterations_ = 0;
  int call_depth_ = 0;
};

}  // namespace vigil::llm::jinja

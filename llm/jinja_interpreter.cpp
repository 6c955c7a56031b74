#include "llm/jinja_interpreter.h"

#include <cmath>
#include <limits>
#include <optional>
#include <utility>

#include "llm/jinja_text.h"

namespace vigil::llm::jinja {
namespace {

using Type = Value::Type;
using Kind = TemplateError::Kind;

bool is_numeric(const Value& v) {
  return v.is_number() || v.type() == Type::kBool;
}

// Python's floor division and modulo for integers.
int64_t floor_divide(int64_t a, int64_t b) {
  const int64_t quotient = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? quotient - 1 : quotient;
}
int64_t floor_modulo(int64_t a, int64_t b) {
  const int64_t remainder = a % b;
  return (remainder != 0 && ((remainder < 0) != (b < 0))) ? remainder + b : remainder;
}

}  // namespace

std::string Interpreter::render(const Program& program, Environment& env) {
  std::string out;
  execute_block(program.body, env, out);
  return out;
}

void Interpreter::fail(Kind kind, const std::string& message, const Node& at) const {
  source_.fail(kind, message, at.offset);
}

void Interpreter::append(std::string& out, const std::string& text, const Node& at) {
  if (out.size() + text.size() > limits_.max_output_bytes) {
    fail(Kind::kLimit, "the output exceeds " + std::to_string(limits_.max_output_bytes) + " bytes",
         at);
  }
  out += text;
}

Interpreter::Flow Interpreter::execute_block(const Block& block, Environment& env,
                                             std::string& out) {
  for (const NodePtr& node : block) {
    const Flow flow = execute(*node, env, out);
    if (flow != Flow::kNormal) return flow;
  }
  return Flow::kNormal;
}

Interpreter::Flow Interpreter::execute(const Node& node, Environment& env, std::string& out) {
  switch (node.kind) {
    case NodeKind::kText:
      append(out, static_cast<const TextNode&>(node).text, node);
      return Flow::kNormal;
    case NodeKind::kComment:
      return Flow::kNormal;
    case NodeKind::kBreak:
      return Flow::kBreak;
    case NodeKind::kContinue:
      return Flow::kContinue;
    case NodeKind::kIf: {
      const auto& n = static_cast<const IfNode&>(node);
      return execute_block(evaluate(*n.test, env).truthy() ? n.body : n.alternate, env, out);
    }
    case NodeKind::kFor:
      execute_for(static_cast<const ForNode&>(node), env, out);
      return Flow::kNormal;
    case NodeKind::kSet:
      execute_set(static_cast<const SetNode&>(node), env);
      return Flow::kNormal;
    case NodeKind::kMacro:
      define_macro(static_cast<const MacroNode&>(node), env);
      return Flow::kNormal;
    case NodeKind::kFilterBlock: {
      const auto& n = static_cast<const FilterBlockNode&>(node);
      std::string body;
      execute_block(n.body, env, body);
      const Arguments arguments = evaluate_arguments(n.arguments, env);
      Value result;
      try {
        result = apply_filter(n.name, Value::string(std::move(body)), arguments);
      } catch (const TemplateError& error) {
        if (error.location().line != 0) throw;
        fail(error.kind(), error.message(), node);
      }
      append(out, to_output(result), node);
      return Flow::kNormal;
    }
    default: {
      const Value value = evaluate(node, env);
      if (!value.is_none() && !value.is_undefined()) append(out, to_output(value), node);
      return Flow::kNormal;
    }
  }
}

void Interpreter::assign(const Node& target, const Value& value, Environment& env) {
  if (target.kind == NodeKind::kIdentifier) {
    env.set(static_cast<const IdentifierNode&>(target).name, value);
    return;
  }
  const auto& names = static_cast<const ListLiteralNode&>(target).items;
  if (!value.is_list())
    fail(Kind::kRuntime, std::string("cannot unpack ") + a_type_name(value.type()), target);
  const List& items = value.as_list();
  if (items.size() != names.size()) {
    fail(Kind::kRuntime,
         "cannot unpack " + std::to_string(items.size()) + " items into " +
             std::to_string(names.size()) + " names",
         target);
  }
  for (size_t i = 0; i < names.size(); ++i)
    env.set(static_cast<const IdentifierNode&>(*names[i]).name, items[i]);
}

void Interpreter::execute_for(const ForNode& node, Environment& env, std::string& out) {
  Environment scope(&env);
  const Node* iterable_node = node.iterable.get();
  const Node* condition = nullptr;
  if (iterable_node->kind == NodeKind::kSelect) {
    const auto& select = static_cast<const SelectNode&>(*iterable_node);
    iterable_node = select.value.get();
    condition = select.condition.get();
  }
  const Value iterable = evaluate(*iterable_node, scope);
  List source;
  switch (iterable.type()) {
    case Type::kList:
      source = iterable.as_list();
      break;
    case Type::kDict:
      for (const auto& entry : iterable.as_dict().entries())
        source.push_back(Value::string(entry.first));
      break;
    case Type::kString:
      for (const std::string& part : text::split_code_points(iterable.as_string())) {
        source.push_back(Value::string(part));
      }
      break;
    case Type::kUndefined:
      break;
    default:
      fail(Kind::kRuntime, std::string("cannot loop over ") + a_type_name(iterable.type()),
           *iterable_node);
  }
  List items;
  if (condition) {
    for (const Value& item : source) {
      Environment test_scope(&scope);
      assign(*node.target, item, test_scope);
      if (evaluate(*condition, test_scope).truthy()) items.push_back(item);
    }
  } else {
    items = std::move(source);
  }
  const auto count = static_cast<int64_t>(items.size());
  for (int64_t i = 0; i < count; ++i) {
    if (++loop_iterations_ > limits_.max_loop_iterations) {
      fail(Kind::kLimit,
           "more than " + std::to_string(limits_.max_loop_iterations) + " loop iterations", node);
    }
    Dict loop;
    loop.set("index", Value::integer(i + 1));
    loop.set("index0", Value::integer(i));
    loop.set("revindex", Value::integer(count - i));
    loop.set("revindex0", Value::integer(count - i - 1));
    loop.set("first", Value::boolean(i == 0));
    loop.set("last", Value::boolean(i == count - 1));
    loop.set("length", Value::integer(count));
    loop.set("previtem", i > 0 ? items[static_cast<size_t>(i - 1)] : Value());
    loop.set("nextitem", i + 1 < count ? items[static_cast<size_t>(i + 1)] : Value());
    scope.set("loop", Value::dict(std::move(loop)));
    assign(*node.target, items[static_cast<size_t>(i)], scope);
    if (execute_block(node.body, scope, out) == Flow::kBreak) break;
  }
  if (items.empty()) execute_block(node.else_body, scope, out);
}

void Interpreter::execute_set(const SetNode& node, Environment& env) {
  Value value;
  if (node.value) {
    value = evaluate(*node.value, env);
  } else {
    std::string body;
    execute_block(node.body, env, body);
    value = Value::string(std::move(body));
  }
  if (node.target->kind != NodeKind::kMember) {
    assign(*node.target, value, env);
    return;
  }
  const auto& member = static_cast<const MemberNode&>(*node.target);
  const Value object = evaluate(*member.object, env);
  if (!object.is_namespace()) {
    fail(Kind::kRuntime,
         std::string("cannot set an attribute of ") + a_type_name(object.type()) +
             ": only namespace() objects can be assigned to",
         node);
  }
  if (member.property->kind != NodeKind::kIdentifier)
    fail(Kind::kRuntime, "cannot assign to this attribute", node);
  object.namespace_entries().set(static_cast<const IdentifierNode&>(*member.property).name,
                                 std::move(value));
}

void Interpreter::define_macro(const MacroNode& node, Environment& env) {
  env.set(node.name,
          Value::function([this, &node](const Arguments& arguments, Environment& caller) {
            return call_macro(node, arguments, caller);
          }));
}

Value Interpreter::call_macro(const MacroNode& node, const Arguments& arguments,
                              Environment& caller) {
  if (call_depth_ >= limits_.max_call_depth) {
    fail(Kind::kLimit, "macro calls nest deeper than " + std::to_string(limits_.max_call_depth),
         node);
  }
  struct DepthGuard {
    int& depth;
    explicit DepthGuard(int& d) : depth(++d) {}
    ~DepthGuard() { --depth; }
  } guard(call_depth_);

  // Macros run in a child of the calling scope, as in @huggingface/jinja.
  Environment scope(&caller);
  std::vector<std::pair<std::string, Value>> keywords = arguments.keyword;
  std::vector<const Parameter*> pending_defaults;
  for (size_t i = 0; i < node.parameters.size(); ++i) {
    const Parameter& parameter = node.parameters[i];
    Value value;
    bool bound = false;
    if (i < arguments.positional.size()) {
      value = arguments.positional[i];
      bound = true;
    } else {
      for (auto it = keywords.begin(); it != keywords.end(); ++it) {
        if (it->first == parameter.name) {
          value = std::move(it->second);
          keywords.erase(it);
          bound = true;
          break;
        }
      }
    }
    if (!bound && parameter.default_value) pending_defaults.push_back(&parameter);
    scope.set(parameter.name, std::move(value));
  }
  if (node.uses_kwargs) {
    Dict extra;
    for (auto& [key, value] : keywords) extra.set(key, std::move(value));
    scope.set("kwargs", Value::dict(std::move(extra)));
  } else if (!keywords.empty()) {
    fail(Kind::kRuntime,
         "macro '" + node.name + "' takes no keyword argument '" + keywords.front().first + "'",
         node);
  }
  if (node.uses_varargs) {
    List extra;
    for (size_t i = node.parameters.size(); i < arguments.positional.size(); ++i)
      extra.push_back(arguments.positional[i]);
    scope.set("varargs", Value::list(std::move(extra)));
  } else if (arguments.positional.size() > node.parameters.size()) {
    fail(Kind::kRuntime,
         "macro '" + node.name + "' takes at most " + std::to_string(node.parameters.size()) +
             " argument(s)",
         node);
  }
  for (const Parameter* parameter : pending_defaults)
    scope.set(parameter->name, evaluate(*parameter->default_value, scope));
  std::string out;
  execute_block(node.body, scope, out);
  return Value::string(std::move(out));
}

Value Interpreter::evaluate(const Node& node, Environment& env) {
  try {
    return evaluate_node(node, env);
  } catch (const TemplateError& error) {
    if (error.location().line != 0) throw;
    fail(error.kind(), error.message(), node);
  }
}

Value Interpreter::evaluate_node(const Node& node, Environment& env) {
  switch (node.kind) {
    case NodeKind::kIntegerLiteral:
      return Value::integer(static_cast<const IntegerLiteralNode&>(node).value);
    case NodeKind::kFloatLiteral:
      return Value::floating(static_cast<const FloatLiteralNode&>(node).value);
    case NodeKind::kStringLiteral:
      return Value::string(static_cast<const StringLiteralNode&>(node).value);
    case NodeKind::kListLiteral: {
      List items;
      for (const NodePtr& item : static_cast<const ListLiteralNode&>(node).items)
        items.push_back(evaluate(*item, env));
      return Value::list(std::move(items));
    }
    case NodeKind::kDictLiteral: {
      Dict entries;
      for (const auto& [key_node, value_node] : static_cast<const DictLiteralNode&>(node).entries) {
        const Value key = evaluate(*key_node, env);
        if (!key.is_string()) {
          fail(Kind::kRuntime,
               std::string("dict keys must be strings, not ") + a_type_name(key.type()), *key_node);
        }
        entries.set(key.as_string(), evaluate(*value_node, env));
      }
      return Value::dict(std::move(entries));
    }
    case NodeKind::kIdentifier:
      return env.lookup(static_cast<const IdentifierNode&>(node).name);
    case NodeKind::kMember:
      return evaluate_member(static_cast<const MemberNode&>(node), env);
    case NodeKind::kCall:
      return evaluate_call(static_cast<const CallNode&>(node), env);
    case NodeKind::kUnary:
      return evaluate_unary(static_cast<const UnaryNode&>(node), env);
    case NodeKind::kBinary:
      return evaluate_binary(static_cast<const BinaryNode&>(node), env);
    case NodeKind::kFilter: {
      const auto& n = static_cast<const FilterNode&>(node);
      const Value operand = evaluate(*n.operand, env);
      return apply_filter(n.name, operand, evaluate_arguments(n.arguments, env));
    }
    case NodeKind::kTest: {
      const auto& n = static_cast<const TestNode&>(node);
      const Value operand = evaluate(*n.operand, env);
      const bool result = apply_test(n.name, operand, evaluate_arguments(n.arguments, env));
      return Value::boolean(n.negate ? !result : result);
    }
    case NodeKind::kSelect: {
      const auto& n = static_cast<const SelectNode&>(node);
      return evaluate(*n.condition, env).truthy() ? evaluate(*n.value, env) : Value();
    }
    case NodeKind::kTernary: {
      const auto& n = static_cast<const TernaryNode&>(node);
      return evaluate(*n.condition, env).truthy() ? evaluate(*n.if_true, env)
                                                  : evaluate(*n.if_false, env);
    }
    default:
      fail(Kind::kSyntax, "this is not an expression", node);
  }
}

Value Interpreter::evaluate_member(const MemberNode& node, Environment& env) {
  const Value object = evaluate(*node.object, env);
  Value key;
  if (node.computed) {
    if (node.property->kind == NodeKind::kSlice) {
      return evaluate_slice(object, static_cast<const SliceNode&>(*node.property), env);
    }
    key = evaluate(*node.property, env);
  } else if (node.property->kind == NodeKind::kIntegerLiteral) {
    key = Value::integer(static_cast<const IntegerLiteralNode&>(*node.property).value);
  } else {
    key = Value::string(static_cast<const IdentifierNode&>(*node.property).name);
  }
  return get_member(object, key);
}

Value Interpreter::evaluate_slice(const Value& object, const SliceNode& node, Environment& env) {
  const auto bound = [&](const NodePtr& part, const char* what) -> std::optional<int64_t> {
    if (!part) return std::nullopt;
    const Value value = evaluate(*part, env);
    if (value.is_none() || value.is_undefined()) return std::nullopt;
    if (value.type() != Type::kInt)
      fail(Kind::kRuntime, std::string("slice ") + what + " must be an integer", *part);
    return value.as_int();
  };
  const std::optional<int64_t> start = bound(node.start, "start");
  const std::optional<int64_t> stop = bound(node.stop, "stop");
  const int64_t step = bound(node.step, "step").value_or(1);
  if (step == 0) fail(Kind::kRuntime, "slice step cannot be zero", node);

  List items;
  std::vector<std::string> characters;
  if (object.is_list()) {
    items = object.as_list();
  } else if (object.is_string()) {
    characters = text::split_code_points(object.as_string());
  } else {
    fail(Kind::kRuntime, std::string("cannot slice ") + a_type_name(object.type()), node);
  }
  const int64_t length = static_cast<int64_t>(object.is_list() ? items.size() : characters.size());
  // Python's slice.indices().
  const auto clamp = [length, step](std::optional<int64_t> index, bool is_start) {
    if (!index) return step > 0 ? (is_start ? 0 : length) : (is_start ? length - 1 : int64_t{-1});
    int64_t i = *index;
    if (i < 0) {
      i += length;
      if (i < 0) i = step > 0 ? 0 : -1;
    } else if (i >= length) {
      i = step > 0 ? length : length - 1;
    }
    return i;
  };
  const int64_t first = clamp(start, true);
  const int64_t end = clamp(stop, false);
  List sliced;
  std::string text_sliced;
  for (int64_t i = first; step > 0 ? i < end : i > end; i += step) {
    if (object.is_list()) {
      sliced.push_back(items[static_cast<size_t>(i)]);
    } else {
      text_sliced += characters[static_cast<size_t>(i)];
    }
  }
  return object.is_list() ? Value::list(std::move(sliced)) : Value::string(std::move(text_sliced));
}

Arguments Interpreter::evaluate_arguments(const std::vector<NodePtr>& nodes, Environment& env) {
  Arguments arguments;
  for (const NodePtr& node : nodes) {
    if (node->kind == NodeKind::kSpread) {
      const Value value = evaluate(*static_cast<const SpreadNode&>(*node).value, env);
      if (!value.is_list())
        fail(Kind::kRuntime, std::string("cannot unpack ") + a_type_name(value.type()) + " with *",
             *node);
      for (const Value& item : value.as_list()) arguments.positional.push_back(item);
    } else if (node->kind != NodeKind::kKeywordArgument && node->kind != NodeKind::kKeywordSpread) {
      arguments.positional.push_back(evaluate(*node, env));
    }
  }
  const auto add_keyword = [&](const std::string& key, Value value, const Node& at) {
    if (arguments.find_keyword(key))
      fail(Kind::kRuntime, "keyword argument '" + key + "' given twice", at);
    arguments.keyword.emplace_back(key, std::move(value));
  };
  for (const NodePtr& node : nodes) {
    if (node->kind == NodeKind::kKeywordArgument) {
      const auto& keyword = static_cast<const KeywordArgumentNode&>(*node);
      add_keyword(keyword.name, evaluate(*keyword.value, env), *node);
    } else if (node->kind == NodeKind::kKeywordSpread) {
      const Value value = evaluate(*static_cast<const SpreadNode&>(*node).value, env);
      if (!value.is_dict())
        fail(Kind::kRuntime, std::string("** needs a dict, not ") + a_type_name(value.type()),
             *node);
      for (const auto& [key, item] : value.as_dict().entries()) add_keyword(key, item, *node);
    }
  }
  return arguments;
}

Value Interpreter::evaluate_call(const CallNode& node, Environment& env) {
  const Arguments arguments = evaluate_arguments(node.arguments, env);
  const Value callee = evaluate(*node.callee, env);
  if (!callee.is_function()) {
    std::string what = a_type_name(callee.type());
    if (node.callee->kind == NodeKind::kIdentifier)
      what = "'" + static_cast<const IdentifierNode&>(*node.callee).name + "' (" + what + ")";
    fail(Kind::kRuntime, what + " is not callable", node);
  }
  return callee.as_function()(arguments, env);
}

Value Interpreter::evaluate_unary(const UnaryNode& node, Environment& env) {
  const Value operand = evaluate(*node.operand, env);
  if (node.operator_name == "not") return Value::boolean(!operand.truthy());
  const bool negate = node.operator_name == "-";
  switch (operand.type()) {
    case Type::kInt:
      return Value::integer(negate ? -operand.as_int() : operand.as_int());
    case Type::kBool:
      return Value::integer(negate ? -int64_t{operand.as_bool()} : operand.as_bool());
    case Type::kFloat:
      return Value::floating(negate ? -operand.as_float() : operand.as_float());
    default:
      fail(Kind::kRuntime,
           "unary '" + node.operator_name + "' cannot be applied to " + a_type_name(operand.type()),
           node);
  }
}

Value Interpreter::evaluate_binary(const BinaryNode& node, Environment& env) {
  const std::string& op = node.operator_name;
  const Value left = evaluate(*node.left, env);
  if (op == "and") return left.truthy() ? evaluate(*node.right, env) : left;
  if (op == "or") return left.truthy() ? left : evaluate(*node.right, env);
  const Value right = evaluate(*node.right, env);
  if (op == "==") return Value::boolean(values_equal(left, right));
  if (op == "!=") return Value::boolean(!values_equal(left, right));
  if (op == "in" || op == "not in") {
    bool found = false;
    switch (right.type()) {
      case Type::kList:
        for (const Value& item : right.as_list()) {
          if (values_equal(item, left)) {
            found = true;
            break;
          }
        }
        break;
      case Type::kString:
        if (!left.is_string()) {
          fail(Kind::kRuntime,
               std::string("'in <string>' needs a string on the left, not ") +
                   a_type_name(left.type()),
               node);
        }
        found = right.as_string().find(left.as_string()) != std::string::npos;
        break;
      case Type::kDict:
      case Type::kNamespace:
        found = left.is_string() && right.as_dict().find(left.as_string()) != nullptr;
        break;
      case Type::kUndefined:
        break;
      default:
        fail(Kind::kRuntime, std::string("'in' cannot look inside ") + a_type_name(right.type()),
             node);
    }
    return Value::boolean(op == "in" ? found : !found);
  }
  const auto type_error = [&]() {
    fail(Kind::kRuntime,
         "unsupported operand types for '" + op + "': " + type_name(left.type()) + " and " +
             type_name(right.type()),
         node);
  };
  if (left.is_undefined() || right.is_undefined() || left.is_none() || right.is_none())
    type_error();
  if (op == "~") return Value::string(to_output(left) + to_output(right));
  if (is_numeric(left) && is_numeric(right)) {
    const bool floating = left.type() == Type::kFloat || right.type() == Type::kFloat;
    const double a = left.as_number();
    const double b = right.as_number();
    const int64_t x = floating ? 0 : static_cast<int64_t>(a);
    const int64_t y = floating ? 0 : static_cast<int64_t>(b);
    if (op == "<") return Value::boolean(a < b);
    if (op == ">") return Value::boolean(a > b);
    if (op == "<=") return Value::boolean(a <= b);
    if (op == ">=") return Value::boolean(a >= b);
    if (op == "+") return floating ? Value::floating(a + b) : Value::integer(x + y);
    if (op == "-") return floating ? Value::floating(a - b) : Value::integer(x - y);
    if (op == "*") return floating ? Value::floating(a * b) : Value::integer(x * y);
    if (op == "/" || op == "//" || op == "%") {
      if (b == 0) fail(Kind::kRuntime, "division by zero", node);
      if (op == "/") return Value::floating(a / b);
      if (op == "//")
        return floating ? Value::floating(std::floor(a / b)) : Value::integer(floor_divide(x, y));
      return floating ? Value::floating(a - b * std::floor(a / b))
                      : Value::integer(floor_modulo(x, y));
    }
    if (op == "**") {
      if (a == 0 && b < 0) fail(Kind::kRuntime, "0 cannot be raised to a negative power", node);
      const double result = std::pow(a, b);
      if (!std::isfinite(result))
        fail(Kind::kRuntime, "the power is not a finite real number", node);
      if (floating || b < 0 || std::fabs(result) > 9.0e18) return Value::floating(result);
      return Value::integer(static_cast<int64_t>(result));
    }
  }
  if (op == "+" && left.is_list() && right.is_list()) {
    List items = left.as_list();
    items.insert(items.end(), right.as_list().begin(), right.as_list().end());
    return Value::list(std::move(items));
  }
  if (op == "+" && (left.is_string() || right.is_string()))
    return Value::string(to_output(left) + to_output(right));
  if (left.is_string() && right.is_string()) {
    const int order = left.as_string().compare(right.as_string());
    if (op == "<") return Value::boolean(order < 0);
    if (op == ">") return Value::boolean(order > 0);
    if (op == "<=") return Value::boolean(order <= 0);
    if (op == ">=") return Value::boolean(order >= 0);
  }
  type_error();
  return Value();
}

}  // namespace vigil::llm::jinja

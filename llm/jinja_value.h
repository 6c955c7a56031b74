// The values a chat template computes with: undefined, none, bool, int, float, string, list,
// dict (ordered), namespace (a mutable dict, from namespace()) and function. Values are cheap
// to copy: strings, lists, dicts and functions are shared, immutable after construction;
// only a namespace's entries change (set ns.x = ...), seen by every copy, as in Jinja2.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace vigil::llm::jinja {

class Value;
class Environment;

using List = std::vector<Value>;

// Insertion-ordered string-keyed map (JSON objects keep their key order, as in Python).
class Dict {
 public:
  const Value* find(std::string_view key) const;
  // Replaces the value of an existing key in place, else appends.
  void set(std::string key, Value value);
  const std::vector<std::pair<std::string, Value>>& entries() const { return entries_; }
  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }

 private:
  std::vector<std::pair<std::string, Value>> entries_;
};

// A call's arguments after evaluation: positional, then keyword in the order written.
struct Arguments {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keyword;

  const Value* find_keyword(std::string_view name) const;
};

// A callable value: a global (range, namespace, raise_exception), a macro, or a bound method
// such as a string's startswith. caller is the calling scope (macros run in a child of it).
using Function = std::function<Value(const Arguments& arguments, Environment& caller)>;

class Value {
 public:
  enum class Type {
    kUndefined,
    kNone,
    kBool,
    kInt,
    kFloat,
    kString,
    kList,
    kDict,
    kNamespace,
    kFunction
  };

  Value() = default;  // undefined
  static Value none();
  static Value boolean(bool value);
  static Value integer(int64_t value);
  static Value floating(double value);
  static Value string(std::string value);
  static Value list(List items);
  static Value dict(Dict entries);
  static Value new_namespace(Dict entries);
  static Value function(Function function);
  // JSON null, bool, numbers, strings, arrays and objects (key order kept).
  static Value from_json(const nlohmann::ordered_json& json);

  Type type() const { return static_cast<Type>(data_.index()); }
  bool is_undefined() const { return type() == Type::kUndefined; }
  bool is_none() const { return type() == Type::kNone; }
  bool is_string() const { return type() == Type::kString; }
  bool is_list() const { return type() == Type::kList; }
  bool is_dict() const { return type() == Type::kDict; }
  bool is_namespace() const { return type() == Type::kNamespace; }
  bool is_function() const { return type() == Type::kFunction; }
  bool is_number() const { return type() == Type::kInt || type() == Type::kFloat; }

  // Accessors; each asserts the type.
  bool as_bool() const { return std::get<bool>(data_); }
  int64_t as_int() const { return std::get<int64_t>(data_); }
  double as_float() const { return std::get<double>(data_); }
  // int, float or bool as a double.
  double as_number() const;
  const std::string& as_string() const {
    return *std::get<std::shared_ptr<const std::string>>(data_);
  }
  const List& as_list() const { return *std::get<std::shared_ptr<const List>>(data_); }
  // A dict's or a namespace's entries.
  const Dict& as_dict() const;
  // A namespace's entries, to assign to.
  Dict& namespace_entries() const { return std::get<std::shared_ptr<Namespace>>(data_)->entries; }
  const Function& as_function() const { return *std::get<std::shared_ptr<const Function>>(data_); }

  // Jinja2 truthiness: false, 0, 0.0, "", [], {}, none and undefined are false.
  bool truthy() const;

 private:
  struct Undefined {};
  struct None {};
  struct Namespace {
    Dict entries;
  };
  // Alternative order matches Type.
  using Data =
      std::variant<Undefined, None, bool, int64_t, double, std::shared_ptr<const std::string>,
                   std::shared_ptr<const List>, std::shared_ptr<const Dict>,
                   std::shared_ptr<Namespace>, std::shared_ptr<const Function>>;
  explicit Value(Data data) : data_(std::move(data)) {}

  Data data_;
};

// "undefined", "none", "bool", "int", "float", "string", "list", "dict", "namespace", "function".
const char* type_name(Value::Type type);
// The same with an article, for messages: "an int", "a string", "none", "an undefined value".
const char* a_type_name(Value::Type type);

// How a value prints in {{ }}: strings as they are, numbers as JavaScript prints them (floats
// keep a ".0"), booleans as true/false, lists, dicts and namespaces as compact JSON, none and
// undefined as "" (the reference renderer prints nothing for them).
std::string to_output(const Value& value);

struct JsonFormat {
  int indent = -1;            // < 0: one line
  bool ensure_ascii = false;  // escape non-ASCII as \uXXXX
  bool sort_keys = false;     // by code point
  // Item and key separators; default ", " and ": " (with an indent: "," and ": ").
  std::string item_separator;
  std::string key_separator;
  bool has_separators = false;
};

// The tojson filter: Python's json.dumps layout; undefined is null. Functions cannot be
// written: throws std::invalid_argument.
std::string to_json(const Value& value, const JsonFormat& format = {});

// Python equality: numbers (int, float, bool) by value, strings, lists and dicts by contents,
// none == none, undefined == undefined; namespaces and functions by identity.
bool values_equal(const Value& a, const Value& b);

}  // namespace vigil::llm::jinja

#include "llm/jinja_value.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "llm/jinja_text.h"

namespace vigil::llm::jinja {

const Value* Dict::find(std::string_view key) const {
  for (const auto& [name, value] : entries_) {
    if (name == key) return &value;
  }
  return nullptr;
}

void Dict::set(std::string key, Value value) {
  for (auto& [name, existing] : entries_) {
    if (name == key) {
      existing = std::move(value);
      return;
    }
  }
  entries_.emplace_back(std::move(key), std::move(value));
}

const Value* Arguments::find_keyword(std::string_view name) const {
  for (const auto& [key, value] : keyword) {
    if (key == name) return &value;
  }
  return nullptr;
}

Value Value::none() {
  return Value(Data(None{}));
}
Value Value::boolean(bool value) {
  return Value(Data(value));
}
Value Value::integer(int64_t value) {
  return Value(Data(value));
}
Value Value::floating(double value) {
  return Value(Data(value));
}
Value Value::string(std::string value) {
  return Value(Data(std::make_shared<const std::string>(std::move(value))));
}
Value Value::list(List items) {
  return Value(Data(std::make_shared<const List>(std::move(items))));
}
Value Value::dict(Dict entries) {
  return Value(Data(std::make_shared<const Dict>(std::move(entries))));
}
Value Value::new_namespace(Dict entries) {
  return Value(Data(std::make_shared<Namespace>(Namespace{std::move(entries)})));
}
Value Value::function(Function function) {
  return Value(Data(std::make_shared<const Function>(std::move(function))));
}

Value Value::from_json(const nlohmann::ordered_json& json) {
  switch (json.type()) {
    case nlohmann::ordered_json::value_t::null:
      return none();
    case nlohmann::ordered_json::value_t::boolean:
      return boolean(json.get<bool>());
    case nlohmann::ordered_json::value_t::number_integer:
      return integer(json.get<int64_t>());
    case nlohmann::ordered_json::value_t::number_unsigned: {
      const auto value = json.get<uint64_t>();
      if (value <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        return integer(static_cast<int64_t>(value));
      }
      return floating(static_cast<double>(value));
    }
    case nlohmann::ordered_json::value_t::number_float:
      return floating(json.get<double>());
    case nlohmann::ordered_json::value_t::string:
      return string(json.get<std::string>());
    case nlohmann::ordered_json::value_t::array: {
      List items;
      items.reserve(json.size());
      for (const auto& item : json) items.push_back(from_json(item));
      return list(std::move(items));
    }
    case nlohmann::ordered_json::value_t::object: {
      Dict entries;
      for (const auto& [key, item] : json.items()) entries.set(key, from_json(item));
      return dict(std::move(entries));
    }
    case nlohmann::ordered_json::value_t::binary:
    case nlohmann::ordered_json::value_t::discarded:
      break;
  }
  return Value();
}

double Value::as_number() const {
  switch (type()) {
    case Type::kInt:
      return static_cast<double>(as_int());
    case Type::kFloat:
      return as_float();
    case Type::kBool:
      return as_bool() ? 1 : 0;
    default:
      throw std::logic_error("Value::as_number on a non-number");
  }
}

const Dict& Value::as_dict() const {
  if (is_namespace()) return std::get<std::shared_ptr<Namespace>>(data_)->entries;
  return *std::get<std::shared_ptr<const Dict>>(data_);
}

bool Value::truthy() const {
  switch (type()) {
    case Type::kUndefined:
    case Type::kNone:
      return false;
    case Type::kBool:
      return as_bool();
    case Type::kInt:
      return as_int() != 0;
    case Type::kFloat:
      return as_float() != 0 && !std::isnan(as_float());
    case Type::kString:
      return !as_string().empty();
    case Type::kList:
      return !as_list().empty();
    case Type::kDict:
      return !as_dict().empty();
    case Type::kNamespace:
    case Type::kFunction:
      return true;
  }
  return false;
}

const char* type_name(Value::Type type) {
  switch (type) {
    case Value::Type::kUndefined:
      return "undefined";
    case Value::Type::kNone:
      return "none";
    case Value::Type::kBool:
      return "bool";
    case Value::Type::kInt:
      return "int";
    case Value::Type::kFloat:
      return "float";
    case Value::Type::kString:
      return "string";
    case Value::Type::kList:
      return "list";
    case Value::Type::kDict:
      return "dict";
    case Value::Type::kNamespace:
      return "namespace";
    case Value::Type::kFunction:
      return "function";
  }
  return "value";
}

const char* a_type_name(Value::Type type) {
  switch (type) {
    case Value::Type::kUndefined:
      return "an undefined value";
    case Value::Type::kNone:
      return "none";
    case Value::Type::kBool:
      return "a bool";
    case Value::Type::kInt:
      return "an int";
    case Value::Type::kFloat:
      return "a float";
    case Value::Type::kString:
      return "a string";
    case Value::Type::kList:
      return "a list";
    case Value::Type::kDict:
      return "a dict";
    case Value::Type::kNamespace:
      return "a namespace";
    case Value::Type::kFunction:
      return "a function";
  }
  return "a value";
}

namespace {

void write_json(const Value& value, const JsonFormat& format, bool undefined_as_null, int depth,
                std::string& out) {
  const bool indented = format.indent > 0;
  const std::string item_separator =
      format.has_separators ? format.item_separator : (indented ? "," : ", ");
  const std::string key_separator = format.has_separators ? format.key_separator : ": ";
  const std::string unit = indented ? std::string(static_cast<size_t>(format.indent), ' ') : "";
  std::string base_padding = "\n";
  for (int i = 0; i < depth; ++i) base_padding += unit;
  const std::string child_padding = base_padding + unit;

  switch (value.type()) {
    case Value::Type::kUndefined:
      out += undefined_as_null ? "null" : "undefined";
      return;
    case Value::Type::kNone:
      out += "null";
      return;
    case Value::Type::kBool:
      out += value.as_bool() ? "true" : "false";
      return;
    case Value::Type::kInt:
      out += std::to_string(value.as_int());
      return;
    case Value::Type::kFloat:
      out += std::isfinite(value.as_float()) ? text::format_js_number(value.as_float()) : "null";
      return;
    case Value::Type::kString:
      out += text::json_quote(value.as_string(), format.ensure_ascii);
      return;
    case Value::Type::kList: {
      const List& items = value.as_list();
      out += '[';
      for (size_t i = 0; i < items.size(); ++i) {
        if (i > 0) out += item_separator;
        if (indented) out += child_padding;
        write_json(items[i], format, undefined_as_null, depth + 1, out);
      }
      if (indented && !items.empty()) out += base_padding;
      out += ']';
      return;
    }
    case Value::Type::kDict:
    case Value::Type::kNamespace: {
      std::vector<const std::pair<std::string, Value>*> entries;
      for (const auto& entry : value.as_dict().entries()) entries.push_back(&entry);
      if (format.sort_keys) {
        std::stable_sort(entries.begin(), entries.end(),
                         [](const auto* a, const auto* b) { return a->first < b->first; });
      }
      out += '{';
      for (size_t i = 0; i < entries.size(); ++i) {
        if (i > 0) out += item_separator;
        if (indented) out += child_padding;
        out += text::json_quote(entries[i]->first, format.ensure_ascii);
        out += key_separator;
        write_json(entries[i]->second, format, undefined_as_null, depth + 1, out);
      }
      if (indented && !entries.empty()) out += base_padding;
      out += '}';
      return;
    }
    case Value::Type::kFunction:
      throw std::invalid_argument("a function cannot be converted to JSON");
  }
}

}  // namespace

std::string to_output(const Value& value) {
  switch (value.type()) {
    case Value::Type::kUndefined:
    case Value::Type::kNone:
      return "";
    case Value::Type::kBool:
      return value.as_bool() ? "true" : "false";
    case Value::Type::kInt:
      return std::to_string(value.as_int());
    case Value::Type::kFloat:
      return text::format_float(value.as_float());
    case Value::Type::kString:
      return value.as_string();
    case Value::Type::kList:
    case Value::Type::kDict:
    case Value::Type::kNamespace: {
      std::string out;
      write_json(value, JsonFormat{}, /*undefined_as_null=*/false, 0, out);
      return out;
    }
    case Value::Type::kFunction:
      return "<function>";
  }
  return "";
}

std::string to_json(const Value& value, const JsonFormat& format) {
  std::string out;
  write_json(value, format, /*undefined_as_null=*/true, 0, out);
  return out;
}

bool values_equal(const Value& a, const Value& b) {
  const auto numeric = [](const Value& v) {
    return v.type() == Value::Type::kInt || v.type() == Value::Type::kFloat ||
           v.type() == Value::Type::kBool;
  };
  if (numeric(a) && numeric(b)) {
    if (a.type() == Value::Type::kFloat || b.type() == Value::Type::kFloat)
      return a.as_number() == b.as_number();
    const int64_t x = a.type() == Value::Type::kBool ? a.as_bool() : a.as_int();
    const int64_t y = b.type() == Value::Type::kBool ? b.as_bool() : b.as_int();
    return x == y;
  }
  if (a.type() != b.type()) return false;
  switch (a.type()) {
    case Value::Type::kUndefined:
    case Value::Type::kNone:
      return true;
    case Value::Type::kString:
      return a.as_string() == b.as_string();
    case Value::Type::kList: {
      const List& x = a.as_list();
      const List& y = b.as_list();
      if (x.size() != y.size()) return false;
      for (size_t i = 0; i < x.size(); ++i) {
        if (!values_equal(x[i], y[i])) return false;
      }
      return true;
    }
    case Value::Type::kDict: {
      const Dict& x = a.as_dict();
      const Dict& y = b.as_dict();
      if (x.size() != y.size()) return false;
      for (const auto& [key, value] : x.entries()) {
        const Value* other = y.find(key);
        if (!other || !values_equal(value, *other)) return false;
      }
      return true;
    }
    case Value::Type::kNamespace:
      return &a.as_dict() == &b.as_dict();
    case Value::Type::kFunction:
      return &a.as_function() == &b.as_function();
    default:
      return false;
  }
}

}  // namespace vigil::llm::jinja

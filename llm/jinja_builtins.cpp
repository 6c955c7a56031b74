#include "llm/jinja_builtins.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <stdexcept>
#include <string_view>
#include <utility>

#include "llm/jinja_error.h"
#include "llm/jinja_text.h"

namespace vigil::llm::jinja {
namespace {

using Type = Value::Type;

[[noreturn]] void fail(const std::string& message) {
  throw TemplateError(TemplateError::Kind::kRuntime, message);
}

[[noreturn]] void wrong_type(const char* what, const std::string& name, const Value& value) {
  fail(std::string(what) + " '" + name + "' cannot be applied to " + a_type_name(value.type()));
}

// The argument at position index, else the keyword argument name, else null.
const Value* argument(const Arguments& arguments, size_t index, std::string_view name) {
  if (index < arguments.positional.size()) return &arguments.positional[index];
  return arguments.find_keyword(name);
}

bool bool_argument(const Arguments& arguments, size_t index, std::string_view name, bool fallback) {
  const Value* value = argument(arguments, index, name);
  if (!value || value->is_undefined()) return fallback;
  if (value->type() != Type::kBool) fail(std::string(name) + " must be a boolean");
  return value->as_bool();
}

const std::string* string_argument(const Arguments& arguments, size_t index,
                                   std::string_view name) {
  const Value* value = argument(arguments, index, name);
  if (!value || value->is_undefined() || value->is_none()) return nullptr;
  if (!value->is_string()) fail(std::string(name) + " must be a string");
  return &value->as_string();
}

Value string_list(const std::vector<std::string>& parts) {
  List items;
  items.reserve(parts.size());
  for (const std::string& part : parts) items.push_back(Value::string(part));
  return Value::list(std::move(items));
}

Value dict_items(const Dict& dict) {
  List items;
  for (const auto& [key, value] : dict.entries())
    items.push_back(Value::list({Value::string(key), value}));
  return Value::list(std::move(items));
}

Value dict_keys(const Dict& dict) {
  List items;
  for (const auto& entry : dict.entries()) items.push_back(Value::string(entry.first));
  return Value::list(std::move(items));
}

Value dict_values(const Dict& dict) {
  List items;
  for (const auto& entry : dict.entries()) items.push_back(entry.second);
  return Value::list(std::move(items));
}

// A dotted attribute path ("a.b", "items.0") into dicts and lists; undefined when missing.
Value attribute_path(const Value& item, const std::string& path) {
  if (item.is_dict() || item.is_namespace()) {
    if (const Value* direct = item.as_dict().find(path)) return *direct;
  }
  Value value = item;
  size_t start = 0;
  while (true) {
    const size_t dot = path.find('.', start);
    const std::string part =
        path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (value.is_dict() || value.is_namespace()) {
      const Value* found = value.as_dict().find(part);
      if (!found) return Value();
      value = *found;
    } else if (value.is_list()) {
      char* end = nullptr;
      const long index = std::strtol(part.c_str(), &end, 10);
      if (part.empty() || *end != '\0' || index < 0 ||
          static_cast<size_t>(index) >= value.as_list().size()) {
        return Value();
      }
      value = value.as_list()[static_cast<size_t>(index)];
    } else {
      return Value();
    }
    if (dot == std::string::npos) return value;
    start = dot + 1;
  }
}

bool contains(const Value& container, const Value& item) {
  switch (container.type()) {
    case Type::kList:
      return std::any_of(container.as_list().begin(), container.as_list().end(),
                         [&item](const Value& v) { return values_equal(v, item); });
    case Type::kString:
      if (!item.is_string())
        fail(std::string("'in <string>' needs a string on the left, not ") +
             a_type_name(item.type()));
      return container.as_string().find(item.as_string()) != std::string::npos;
    case Type::kDict:
    case Type::kNamespace:
      return item.is_string() && container.as_dict().find(item.as_string()) != nullptr;
    case Type::kUndefined:
      return false;
    default:
      fail(std::string(a_type_name(container.type())) + " has no members to test with 'in'");
  }
}

// JavaScript's titleCase: an ASCII word character after a non-word character is uppercased.
std::string title_case(const std::string& s) {
  std::string out = s;
  bool previous_is_word = false;
  for (char& c : out) {
    const auto byte = static_cast<unsigned char>(c);
    const bool word = byte < 0x80 && (std::isalnum(byte) || c == '_');
    if (word && !previous_is_word) c = static_cast<char>(std::toupper(byte));
    previous_is_word = word;
  }
  return out;
}

std::string capitalize(const std::string& s) {
  if (s.empty()) return s;
  size_t first_end = 0;
  text::next_code_point(s, first_end);
  return text::to_upper(s.substr(0, first_end)) + s.substr(first_end);
}

// Python's str.split(sep=None, maxsplit=-1).
std::vector<std::string> split(const std::string& s, const std::string* separator,
                               int64_t max_split) {
  std::vector<std::string> parts;
  if (separator == nullptr) {
    size_t i = 0;
    while (true) {
      while (size_t length = text::js_space_at(s, i)) i += length;
      if (i >= s.size()) break;
      if (max_split >= 0 && static_cast<int64_t>(parts.size()) >= max_split) {
        parts.push_back(s.substr(i));
        break;
      }
      const size_t start = i;
      while (i < s.size() && text::js_space_at(s, i) == 0) ++i;
      parts.push_back(s.substr(start, i - start));
    }
    return parts;
  }
  if (separator->empty()) fail("split: empty separator");
  size_t start = 0;
  while (true) {
    const size_t found = s.find(*separator, start);
    if (found == std::string::npos ||
        (max_split >= 0 && static_cast<int64_t>(parts.size()) >= max_split)) {
      parts.push_back(s.substr(start));
      return parts;
    }
    parts.push_back(s.substr(start, found - start));
    start = found + separator->size();
  }
}

std::string replace(const std::string& s, const std::string& old_text, const std::string& new_text,
                    int64_t count) {
  if (count == 0) return s;
  std::string out;
  if (old_text.empty()) {
    // Python inserts the replacement before every code point and at the end.
    const std::vector<std::string> characters = text::split_code_points(s);
    int64_t done = 0;
    for (const std::string& character : characters) {
      if (count < 0 || done < count) {
        out += new_text;
        ++done;
      }
      out += character;
    }
    if (count < 0 || done < count) out += new_text;
    return out;
  }
  size_t start = 0;
  int64_t done = 0;
  while (count < 0 || done < count) {
    const size_t found = s.find(old_text, start);
    if (found == std::string::npos) break;
    out.append(s, start, found - start);
    out += new_text;
    start = found + old_text.size();
    ++done;
  }
  out.append(s, start, std::string::npos);
  return out;
}

bool starts_or_ends_with(const std::string& s, const Value& pattern, bool at_start,
                         const char* method) {
  const auto matches = [&](const std::string& p) {
    if (p.size() > s.size()) return false;
    return at_start ? s.compare(0, p.size(), p) == 0
                    : s.compare(s.size() - p.size(), p.size(), p) == 0;
  };
  if (pattern.is_string()) return matches(pattern.as_string());
  if (pattern.is_list()) {
    for (const Value& item : pattern.as_list()) {
      if (!item.is_string()) fail(std::string(method) + ": the tuple must hold strings");
      if (matches(item.as_string())) return true;
    }
    return false;
  }
  fail(std::string(method) + ": the argument must be a string or a tuple of strings");
}

Value bound(Function function) {
  return Value::function(std::move(function));
}

Value string_method(const std::string& s, const std::string& name) {
  const auto strip = [s](bool start, bool end) {
    return bound([s, start, end](const Arguments& arguments, Environment&) {
      const std::string* chars = string_argument(arguments, 0, "chars");
      return Value::string(std::string(chars ? text::strip_chars(s, *chars, start, end)
                                             : text::js_trim(s, start, end)));
    });
  };
  if (name == "length") return Value::integer(static_cast<int64_t>(text::code_point_count(s)));
  if (name == "strip") return strip(true, true);
  if (name == "lstrip") return strip(true, false);
  if (name == "rstrip") return strip(false, true);
  if (name == "upper")
    return bound([s](const Arguments&, Environment&) { return Value::string(text::to_upper(s)); });
  if (name == "lower")
    return bound([s](const Arguments&, Environment&) { return Value::string(text::to_lower(s)); });
  if (name == "title")
    return bound([s](const Arguments&, Environment&) { return Value::string(title_case(s)); });
  if (name == "capitalize") {
    return bound([s](const Arguments&, Environment&) { return Value::string(capitalize(s)); });
  }
  if (name == "startswith" || name == "endswith") {
    const bool at_start = name == "startswith";
    return bound([s, at_start](const Arguments& arguments, Environment&) {
      const char* method = at_start ? "startswith" : "endswith";
      if (arguments.positional.empty()) fail(std::string(method) + " needs an argument");
      return Value::boolean(starts_or_ends_with(s, arguments.positional[0], at_start, method));
    });
  }
  if (name == "split") {
    return bound([s](const Arguments& arguments, Environment&) {
      const std::string* separator = string_argument(arguments, 0, "sep");
      int64_t max_split = -1;
      if (const Value* limit = argument(arguments, 1, "maxsplit")) {
        if (limit->type() != Type::kInt) fail("split: maxsplit must be an integer");
        max_split = limit->as_int();
      }
      return string_list(split(s, separator, max_split));
    });
  }
  if (name == "replace") {
    return bound([s](const Arguments& arguments, Environment&) {
      const std::string* old_text = string_argument(arguments, 0, "old");
      const std::string* new_text = string_argument(arguments, 1, "new");
      if (!old_text || !new_text) fail("replace needs two strings");
      int64_t count = -1;
      if (const Value* limit = argument(arguments, 2, "count"); limit && !limit->is_none()) {
        if (limit->type() != Type::kInt) fail("replace: count must be an integer");
        count = limit->as_int();
      }
      return Value::string(replace(s, *old_text, *new_text, count));
    });
  }
  return Value();
}

Value dictsort(const Dict& dict, const Arguments& arguments) {
  const bool case_sensitive = bool_argument(arguments, 0, "case_sensitive", false);
  const std::string* by = string_argument(arguments, 1, "by");
  const bool by_value = by && *by == "value";
  if (by && *by != "key" && *by != "value") fail("dictsort: by must be 'key' or 'value'");
  const bool reverse = bool_argument(arguments, 2, "reverse", false);
  std::vector<std::pair<std::string, Value>> entries = dict.entries();
  std::stable_sort(entries.begin(), entries.end(), [&](const auto& a, const auto& b) {
    const int order =
        by_value ? compare_values(a.second, b.second, case_sensitive)
                 : compare_values(Value::string(a.first), Value::string(b.first), case_sensitive);
    return reverse ? order > 0 : order < 0;
  });
  List items;
  for (auto& [key, value] : entries) items.push_back(Value::list({Value::string(key), value}));
  return Value::list(std::move(items));
}

Value dict_method(const std::string& name, const Value& self) {
  if (name == "get") {
    return bound([self](const Arguments& arguments, Environment&) {
      if (arguments.positional.empty() || !arguments.positional[0].is_string())
        fail("get needs a string key");
      if (const Value* found = self.as_dict().find(arguments.positional[0].as_string()))
        return *found;
      return arguments.positional.size() > 1 ? arguments.positional[1] : Value::none();
    });
  }
  if (name == "items")
    return bound([self](const Arguments&, Environment&) { return dict_items(self.as_dict()); });
  if (name == "keys")
    return bound([self](const Arguments&, Environment&) { return dict_keys(self.as_dict()); });
  if (name == "values")
    return bound([self](const Arguments&, Environment&) { return dict_values(self.as_dict()); });
  if (name == "dictsort") {
    return bound([self](const Arguments& arguments, Environment&) {
      return dictsort(self.as_dict(), arguments);
    });
  }
  return Value();
}

std::string indent_lines(const std::string& s, const std::string& unit, bool first, bool blank) {
  std::string out;
  size_t start = 0;
  for (size_t line = 0;; ++line) {
    const size_t newline = s.find('\n', start);
    const std::string_view text_line(s.data() + start,
                                     (newline == std::string::npos ? s.size() : newline) - start);
    if ((first || line > 0) && (blank || !text_line.empty())) out += unit;
    out.append(text_line);
    if (newline == std::string::npos) return out;
    out += '\n';
    start = newline + 1;
  }
}

// Python int(): optional sign and digits with surrounding whitespace.
bool parse_int(const std::string& s, int64_t& value) {
  const std::string_view trimmed = text::js_trim(s, true, true);
  if (trimmed.empty()) return false;
  const std::string digits(trimmed);
  errno = 0;
  char* end = nullptr;
  const long long parsed = std::strtoll(digits.c_str(), &end, 10);
  if (*end != '\0' || errno == ERANGE || !std::isdigit(static_cast<unsigned char>(digits.back())))
    return false;
  value = parsed;
  return true;
}

bool parse_float(const std::string& s, double& value) {
  const std::string trimmed(text::js_trim(s, true, true));
  if (trimmed.empty()) return false;
  char* end = nullptr;
  value = std::strtod(trimmed.c_str(), &end);
  return *end == '\0';
}

List as_items(const std::string& filter, const Value& operand) {
  if (operand.is_list()) return operand.as_list();
  if (operand.is_string()) {
    List items;
    for (const std::string& part : text::split_code_points(operand.as_string()))
      items.push_back(Value::string(part));
    return items;
  }
  if (operand.is_dict()) return dict_keys(operand.as_dict()).as_list();
  if (operand.is_undefined()) return {};
  wrong_type("filter", filter, operand);
}

Arguments tail(const Arguments& arguments, size_t from) {
  Arguments rest;
  for (size_t i = from; i < arguments.positional.size(); ++i)
    rest.positional.push_back(arguments.positional[i]);
  rest.keyword = arguments.keyword;
  return rest;
}

Value select_by_attribute(const std::string& filter, const Value& operand,
                          const Arguments& arguments, bool keep) {
  const std::string* attribute = string_argument(arguments, 0, "attribute");
  if (!attribute) fail(filter + " needs an attribute name");
  const std::string* test = string_argument(arguments, 1, "test");
  List kept;
  for (const Value& item : as_items(filter, operand)) {
    if (!item.is_dict() && !item.is_namespace())
      fail(filter + " can only be applied to a list of dicts");
    const Value value = attribute_path(item, *attribute);
    bool passes = false;
    if (!value.is_undefined())
      passes = test ? apply_test(*test, value, tail(arguments, 2)) : value.truthy();
    if (passes == keep) kept.push_back(item);
  }
  return Value::list(std::move(kept));
}

Value select_by_test(const std::string& filter, const Value& operand, const Arguments& arguments,
                     bool keep) {
  const std::string* test = string_argument(arguments, 0, "test");
  List kept;
  for (const Value& item : as_items(filter, operand)) {
    const bool passes = test ? apply_test(*test, item, tail(arguments, 1)) : item.truthy();
    if (passes == keep) kept.push_back(item);
  }
  return Value::list(std::move(kept));
}

Value tojson(const Value& operand, const Arguments& arguments) {
  JsonFormat format;
  if (const Value* indent = argument(arguments, 0, "indent");
      indent && !indent->is_none() && !indent->is_undefined()) {
    if (indent->type() != Type::kInt) fail("tojson: indent must be an integer");
    format.indent = static_cast<int>(indent->as_int());
  }
  format.ensure_ascii = bool_argument(arguments, 99, "ensure_ascii", false);
  format.sort_keys = bool_argument(arguments, 99, "sort_keys", false);
  if (const Value* separators = arguments.find_keyword("separators");
      separators && !separators->is_none()) {
    if (!separators->is_list() || separators->as_list().size() != 2 ||
        !separators->as_list()[0].is_string() || !separators->as_list()[1].is_string()) {
      fail("tojson: separators must be a pair of strings");
    }
    format.has_separators = true;
    format.item_separator = separators->as_list()[0].as_string();
    format.key_separator = separators->as_list()[1].as_string();
  }
  try {
    return Value::string(to_json(operand, format));
  } catch (const std::invalid_argument& error) {
    fail(std::string("tojson: ") + error.what());
  }
}

std::string month_name(int month, bool full) {
  static const char* const kNames[] = {"January",   "February", "March",    "April",
                                       "May",       "June",     "July",     "August",
                                       "September", "October",  "November", "December"};
  const std::string name = kNames[month % 12];
  return full ? name : name.substr(0, 3);
}

std::string strftime_now(const std::string& format) {
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  const auto pad2 = [](int n) { return (n < 10 ? "0" : "") + std::to_string(n); };
  std::string out;
  for (size_t i = 0; i < format.size(); ++i) {
    if (format[i] != '%' || i + 1 >= format.size()) {
      out += format[i];
      continue;
    }
    const char code = format[++i];
    switch (code) {
      case 'Y':
        out += std::to_string(local.tm_year + 1900);
        break;
      case 'm':
        out += pad2(local.tm_mon + 1);
        break;
      case 'd':
        out += pad2(local.tm_mday);
        break;
      case 'b':
        out += month_name(local.tm_mon, false);
        break;
      case 'B':
        out += month_name(local.tm_mon, true);
        break;
      case 'H':
        out += pad2(local.tm_hour);
        break;
      case 'M':
        out += pad2(local.tm_min);
        break;
      case '%':
        out += '%';
        break;
      default:
        out += '%';
        out += code;
    }
  }
  return out;
}

}  // namespace

int compare_values(const Value& a, const Value& b, bool case_sensitive) {
  const auto numeric = [](const Value& v) { return v.is_number() || v.type() == Type::kBool; };
  if (a.is_none() && b.is_none()) return 0;
  if (a.is_undefined() && b.is_undefined()) return 0;
  if (numeric(a) && numeric(b)) {
    const double x = a.as_number();
    const double y = b.as_number();
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  if (a.is_string() && b.is_string()) {
    const std::string x = case_sensitive ? a.as_string() : text::to_lower(a.as_string());
    const std::string y = case_sensitive ? b.as_string() : text::to_lower(b.as_string());
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  fail(std::string("cannot compare ") + a_type_name(a.type()) + " with " + a_type_name(b.type()));
}

Value get_member(const Value& object, const Value& key) {
  switch (object.type()) {
    case Type::kDict:
    case Type::kNamespace: {
      if (!key.is_string()) return Value();
      if (const Value* found = object.as_dict().find(key.as_string())) return *found;
      return object.is_dict() ? dict_method(key.as_string(), object) : Value();
    }
    case Type::kList: {
      const List& items = object.as_list();
      if (key.type() == Type::kInt) {
        int64_t index = key.as_int();
        if (index < 0) index += static_cast<int64_t>(items.size());
        if (index < 0 || index >= static_cast<int64_t>(items.size())) return Value();
        return items[static_cast<size_t>(index)];
      }
      if (key.is_string() && key.as_string() == "length")
        return Value::integer(static_cast<int64_t>(items.size()));
      return Value();
    }
    case Type::kString: {
      if (key.type() == Type::kInt) {
        const std::vector<std::string> characters = text::split_code_points(object.as_string());
        int64_t index = key.as_int();
        if (index < 0) index += static_cast<int64_t>(characters.size());
        if (index < 0 || index >= static_cast<int64_t>(characters.size())) return Value();
        return Value::string(characters[static_cast<size_t>(index)]);
      }
      if (key.is_string()) return string_method(object.as_string(), key.as_string());
      return Value();
    }
    default:
      return Value();
  }
}

bool apply_test(const std::string& name, const Value& operand, const Arguments& arguments) {
  const auto other = [&]() -> const Value& {
    if (arguments.positional.empty()) fail("test '" + name + "' needs an argument");
    return arguments.positional[0];
  };
  const Type type = operand.type();
  if (name == "defined") return type != Type::kUndefined;
  if (name == "undefined") return type == Type::kUndefined;
  if (name == "none") return type == Type::kNone;
  if (name == "boolean") return type == Type::kBool;
  if (name == "true") return type == Type::kBool && operand.as_bool();
  if (name == "false") return type == Type::kBool && !operand.as_bool();
  if (name == "string") return type == Type::kString;
  if (name == "number") return type == Type::kInt || type == Type::kFloat;
  if (name == "integer") return type == Type::kInt;
  if (name == "float") return type == Type::kFloat;
  if (name == "mapping") return type == Type::kDict;
  if (name == "iterable")
    return type == Type::kList || type == Type::kString || type == Type::kDict;
  if (name == "sequence")
    return type == Type::kList || type == Type::kString || type == Type::kDict;
  if (name == "callable") return type == Type::kFunction;
  if (name == "odd" || name == "even") {
    if (type != Type::kInt) wrong_type("test", name, operand);
    const bool odd = operand.as_int() % 2 != 0;
    return name == "odd" ? odd : !odd;
  }
  if (name == "divisibleby") {
    const Value& divisor = other();
    if (type != Type::kInt || divisor.type() != Type::kInt || divisor.as_int() == 0) {
      fail("divisibleby needs a non-zero integer divisor and an integer");
    }
    return operand.as_int() % divisor.as_int() == 0;
  }
  if (name == "lower" || name == "upper") {
    if (type != Type::kString) return false;
    const std::string& s = operand.as_string();
    return s == (name == "lower" ? text::to_lower(s) : text::to_upper(s));
  }
  if (name == "equalto" || name == "eq" || name == "==") return values_equal(operand, other());
  if (name == "ne" || name == "!=") return !values_equal(operand, other());
  if (name == "sameas") {
    const Value& b = other();
    return operand.type() == b.type() && values_equal(operand, b);
  }
  if (name == "in") return contains(other(), operand);
  throw TemplateError(TemplateError::Kind::kUnsupported, "unknown test '" + name + "'");
}

Value apply_filter(const std::string& name, const Value& operand, const Arguments& arguments) {
  const Type type = operand.type();
  if (name == "safe") return operand;
  if (name == "tojson") return tojson(operand, arguments);
  if (name == "default" || name == "d") {
    const Value* fallback = argument(arguments, 0, "default_value");
    const bool boolean = bool_argument(arguments, 1, "boolean", false);
    if (type == Type::kUndefined || (boolean && !operand.truthy()))
      return fallback ? *fallback : Value::string("");
    return operand;
  }
  if (name == "length" || name == "count") {
    switch (type) {
      case Type::kList:
        return Value::integer(static_cast<int64_t>(operand.as_list().size()));
      case Type::kString:
        return Value::integer(static_cast<int64_t>(text::code_point_count(operand.as_string())));
      case Type::kDict:
      case Type::kNamespace:
        return Value::integer(static_cast<int64_t>(operand.as_dict().size()));
      case Type::kUndefined:
        return Value::integer(0);
      default:
        wrong_type("filter", name, operand);
    }
  }
  if (name == "list") return Value::list(as_items(name, operand));
  if (name == "first" || name == "last") {
    if (type != Type::kList && type != Type::kString) wrong_type("filter", name, operand);
    const List items = as_items(name, operand);
    if (items.empty()) return Value();
    return name == "first" ? items.front() : items.back();
  }
  if (name == "reverse") {
    if (type == Type::kString) {
      std::vector<std::string> characters = text::split_code_points(operand.as_string());
      std::string out;
      for (auto it = characters.rbegin(); it != characters.rend(); ++it) out += *it;
      return Value::string(std::move(out));
    }
    if (type != Type::kList) wrong_type("filter", name, operand);
    List items = operand.as_list();
    std::reverse(items.begin(), items.end());
    return Value::list(std::move(items));
  }
  if (name == "sort") {
    if (type != Type::kList) wrong_type("filter", name, operand);
    const bool reverse = bool_argument(arguments, 0, "reverse", false);
    const bool case_sensitive = bool_argument(arguments, 1, "case_sensitive", false);
    const Value* attribute = argument(arguments, 2, "attribute");
    std::string path;
    if (attribute && attribute->is_string()) path = attribute->as_string();
    if (attribute && attribute->type() == Type::kInt) path = std::to_string(attribute->as_int());
    List items = operand.as_list();
    std::stable_sort(items.begin(), items.end(), [&](const Value& a, const Value& b) {
      const int order = path.empty() ? compare_values(a, b, case_sensitive)
                                     : compare_values(attribute_path(a, path),
                                                      attribute_path(b, path), case_sensitive);
      return reverse ? order > 0 : order < 0;
    });
    return Value::list(std::move(items));
  }
  if (name == "join") {
    if (type != Type::kList && type != Type::kString) wrong_type("filter", name, operand);
    const std::string* separator = string_argument(arguments, 0, "d");
    if (!separator) separator = string_argument(arguments, 99, "separator");
    const std::string* attribute = string_argument(arguments, 1, "attribute");
    std::string out;
    bool first = true;
    for (const Value& item : as_items(name, operand)) {
      if (!first && separator) out += *separator;
      first = false;
      out += to_output(attribute ? attribute_path(item, *attribute) : item);
    }
    return Value::string(std::move(out));
  }
  if (name == "string") {
    if (type == Type::kNone) return Value::string("None");
    return Value::string(to_output(operand));
  }
  if (name == "unique") {
    if (type != Type::kList) wrong_type("filter", name, operand);
    List kept;
    for (const Value& item : operand.as_list()) {
      if (std::none_of(kept.begin(), kept.end(),
                       [&item](const Value& k) { return values_equal(k, item); })) {
        kept.push_back(item);
      }
    }
    return Value::list(std::move(kept));
  }
  if (name == "upper" || name == "lower" || name == "title" || name == "capitalize") {
    if (type != Type::kString) wrong_type("filter", name, operand);
    const std::string& s = operand.as_string();
    if (name == "upper") return Value::string(text::to_upper(s));
    if (name == "lower") return Value::string(text::to_lower(s));
    if (name == "title") return Value::string(title_case(s));
    return Value::string(capitalize(s));
  }
  if (name == "trim") {
    if (type != Type::kString) wrong_type("filter", name, operand);
    const std::string* chars = string_argument(arguments, 0, "chars");
    const std::string& s = operand.as_string();
    return Value::string(std::string(chars ? text::strip_chars(s, *chars, true, true)
                                           : text::js_trim(s, true, true)));
  }
  if (name == "indent") {
    if (type != Type::kString) wrong_type("filter", name, operand);
    std::string unit = "    ";
    if (const Value* width = argument(arguments, 0, "width")) {
      if (width->type() == Type::kInt) {
        unit = std::string(static_cast<size_t>(std::max<int64_t>(0, width->as_int())), ' ');
      } else if (width->is_string()) {
        unit = width->as_string();
      } else {
        fail("indent: width must be an integer or a string");
      }
    }
    return Value::string(indent_lines(operand.as_string(), unit,
                                      bool_argument(arguments, 1, "first", false),
                                      bool_argument(arguments, 2, "blank", false)));
  }
  if (name == "replace") {
    if (type != Type::kString) wrong_type("filter", name, operand);
    Environment unused;
    return string_method(operand.as_string(), "replace").as_function()(arguments, unused);
  }
  if (name == "int" || name == "float") {
    const bool to_int = name == "int";
    const Value* fallback = argument(arguments, 0, "default");
    const Value otherwise =
        fallback ? *fallback : (to_int ? Value::integer(0) : Value::floating(0));
    switch (type) {
      case Type::kInt:
        return to_int ? operand : Value::floating(static_cast<double>(operand.as_int()));
      case Type::kFloat:
        return to_int ? Value::integer(static_cast<int64_t>(std::trunc(operand.as_float())))
                      : operand;
      case Type::kBool:
        return to_int ? Value::integer(operand.as_bool()) : Value::floating(operand.as_bool());
      case Type::kString: {
        int64_t integer = 0;
        double number = 0;
        if (to_int) {
          if (parse_int(operand.as_string(), integer)) return Value::integer(integer);
          if (parse_float(operand.as_string(), number) && std::isfinite(number)) {
            return Value::integer(static_cast<int64_t>(std::trunc(number)));
          }
          return otherwise;
        }
        return parse_float(operand.as_string(), number) ? Value::floating(number) : otherwise;
      }
      default:
        return otherwise;
    }
  }
  if (name == "abs") {
    if (type == Type::kInt)
      return Value::integer(operand.as_int() < 0 ? -operand.as_int() : operand.as_int());
    if (type == Type::kFloat) return Value::floating(std::fabs(operand.as_float()));
    wrong_type("filter", name, operand);
  }
  if (name == "bool") return Value::boolean(operand.truthy());
  if (name == "items" || name == "keys" || name == "values") {
    if (type == Type::kUndefined) return Value::list({});
    if (type != Type::kDict && type != Type::kNamespace) wrong_type("filter", name, operand);
    if (name == "items") return dict_items(operand.as_dict());
    return name == "keys" ? dict_keys(operand.as_dict()) : dict_values(operand.as_dict());
  }
  if (name == "dictsort") {
    if (type != Type::kDict && type != Type::kNamespace) wrong_type("filter", name, operand);
    return dictsort(operand.as_dict(), arguments);
  }
  if (name == "selectattr" || name == "rejectattr") {
    return select_by_attribute(name, operand, arguments, name == "selectattr");
  }
  if (name == "select" || name == "reject")
    return select_by_test(name, operand, arguments, name == "select");
  if (name == "map") {
    List mapped;
    if (const Value* attribute = arguments.find_keyword("attribute")) {
      if (!attribute->is_string()) fail("map: attribute must be a string");
      const Value* fallback = arguments.find_keyword("default");
      for (const Value& item : as_items(name, operand)) {
        const Value value = attribute_path(item, attribute->as_string());
        mapped.push_back(value.is_undefined() && fallback ? *fallback : value);
      }
      return Value::list(std::move(mapped));
    }
    const std::string* filter = string_argument(arguments, 0, "filter");
    if (!filter) fail("map needs attribute= or a filter name");
    const Arguments rest = tail(arguments, 1);
    for (const Value& item : as_items(name, operand))
      mapped.push_back(apply_filter(*filter, item, rest));
    return Value::list(std::move(mapped));
  }
  throw TemplateError(TemplateError::Kind::kUnsupported, "unknown filter '" + name + "'");
}

void install_globals(Environment& env, const RenderLimits& limits) {
  env.set("true", Value::boolean(true));
  env.set("false", Value::boolean(false));
  env.set("none", Value::none());
  env.set("True", Value::boolean(true));
  env.set("False", Value::boolean(false));
  env.set("None", Value::none());

  env.set("raise_exception", Value::function([](const Arguments& arguments, Environment&) -> Value {
            const std::string message =
                arguments.positional.empty() ? "" : to_output(arguments.positional[0]);
            throw TemplateError(TemplateError::Kind::kRaised, message);
          }));

  env.set(
      "namespace", Value::function([](const Arguments& arguments, Environment&) {
        if (arguments.positional.size() > 1)
          fail("namespace takes at most one positional argument");
        Dict entries;
        if (!arguments.positional.empty()) {
          const Value& source = arguments.positional[0];
          if (source.is_dict()) {
            entries = source.as_dict();
          } else if (source.is_list()) {
            for (const Value& pair : source.as_list()) {
              if (!pair.is_list() || pair.as_list().size() != 2 || !pair.as_list()[0].is_string()) {
                fail("namespace: expected a dict or a list of [key, value] pairs");
              }
              entries.set(pair.as_list()[0].as_string(), pair.as_list()[1]);
            }
          } else {
            fail(std::string("namespace: ") + a_type_name(source.type()) + " is not a dict");
          }
        }
        for (const auto& [key, value] : arguments.keyword) entries.set(key, value);
        return Value::new_namespace(std::move(entries));
      }));

  const size_t max_range = limits.max_range_length;
  env.set("range", Value::function([max_range](const Arguments& arguments, Environment&) {
            const auto& p = arguments.positional;
            if (p.empty() || p.size() > 3) fail("range takes 1 to 3 integer arguments");
            for (const Value& v : p) {
              if (v.type() != Type::kInt)
                fail("range takes integers, not " + std::string(a_type_name(v.type())));
            }
            const int64_t start = p.size() == 1 ? 0 : p[0].as_int();
            const int64_t stop = p.size() == 1 ? p[0].as_int() : p[1].as_int();
            const int64_t step = p.size() == 3 ? p[2].as_int() : 1;
            if (step == 0) fail("range: step must not be zero");
            List items;
            for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
              if (items.size() >= max_range) {
                throw TemplateError(TemplateError::Kind::kLimit,
                                    "range has more than " + std::to_string(max_range) + " items");
              }
              items.push_back(Value::integer(i));
            }
            return Value::list(std::move(items));
          }));

  env.set("strftime_now", Value::function([](const Arguments& arguments, Environment&) {
            if (arguments.positional.empty() || !arguments.positional[0].is_string()) {
              fail("strftime_now needs a format string");
            }
            return Value::string(strftime_now(arguments.positional[0].as_string()));
          }));
}

}  // namespace vigil::llm::jinja

// The chat-template engine's built-in filters, tests, attributes and global functions.
//
// They follow @huggingface/jinja (transformers.js's renderer, the reference the golden tests
// compare with) and Python Jinja2 as transformers configures it, which agree on everything
// real chat templates use. Where they differ, vigil takes Python's behaviour:
//   - strip/lstrip/rstrip take the characters to strip (Qwen3's template relies on it);
//   - ==, !=, `in` and unique compare by value (also lists and dicts), and 1 == "1" is false;
//   - string length and indexing count code points, not UTF-16 units;
//   - % and // round towards negative infinity; dividing by zero is an error;
//   - the int filter truncates floats towards zero.
// Printing follows the reference: none and undefined print nothing, booleans print
// true/false, lists and dicts print as JSON; tojson writes 1.0 as 1 (JavaScript's JSON).
// All functions throw TemplateError without a location; the interpreter adds it.
#pragma once

#include <cstddef>
#include <string>

#include "llm/jinja_environment.h"
#include "llm/jinja_value.h"

namespace vigil::llm::jinja {

struct RenderLimits {
  size_t max_output_bytes = size_t{64} << 20;  // of the rendered text and of any part of it
  int max_call_depth = 64;                     // nested macro calls
  size_t max_range_length = 1'000'000;         // items in one range()
  size_t max_loop_iterations = 10'000'000;     // for-loop bodies in one render
};

// x | name(arguments). Throws kUnsupported for an unknown filter, kRuntime for a wrong type.
Value apply_filter(const std::string& name, const Value& operand, const Arguments& arguments);

// x is name(arguments). Throws kUnsupported for an unknown test.
bool apply_test(const std::string& name, const Value& operand, const Arguments& arguments);

// object.name / object[key]: dict entries (then dict methods get, items, keys, values),
// list and string items by index (negative counts from the end), string methods (startswith,
// split, strip, ...), length. Anything else is undefined, never an error.
Value get_member(const Value& object, const Value& key);

// Three-way comparison for sort and dictsort: numbers (and bools) with numbers, strings with
// strings (optionally ignoring case), none with none. Throws kRuntime for other pairs.
int compare_values(const Value& a, const Value& b, bool case_sensitive);

// Binds true/false/none (and True/False/None), namespace, range, raise_exception and
// strftime_now in env.
void install_globals(Environment& env, const RenderLimits& limits);

}  // namespace vigil::llm::jinja

// Text helpers of the chat-template engine: UTF-8 code points, the whitespace and number
// formatting of JavaScript (which @huggingface/jinja, the reference renderer, uses), and JSON
// string quoting. Strings are UTF-8 bytes; ill-formed bytes read as U+FFFD, one per byte.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace vigil::llm::jinja::text {

// The code point at s[i], advancing i past it (past one byte when ill-formed: U+FFFD).
char32_t next_code_point(std::string_view s, size_t& i);
void append_utf8(std::string& out, char32_t code_point);
size_t code_point_count(std::string_view s);
// Each code point of s as its own string (ill-formed bytes as single-byte strings).
std::vector<std::string> split_code_points(std::string_view s);

// JavaScript's /\s/: ASCII whitespace, U+00A0, U+1680, U+2000..U+200A, U+2028, U+2029,
// U+202F, U+205F, U+3000, U+FEFF.
bool is_js_space(char32_t code_point);
// The byte length of the whitespace character starting at s[i] (0 if none / out of range).
size_t js_space_at(std::string_view s, size_t i);
// The byte length of the whitespace character ending just before s[end] (0 if none).
size_t js_space_before(std::string_view s, size_t end);
// String.prototype.trim / trimStart / trimEnd.
std::string_view js_trim(std::string_view s, bool start, bool end);
// Python's str.strip(chars) family: strips any code point found in chars.
std::string_view strip_chars(std::string_view s, std::string_view chars, bool start, bool end);

// Unicode simple case mapping of every code point.
std::string to_upper(std::string_view s);
std::string to_lower(std::string_view s);

// Number.prototype.toString(): shortest round-trip digits, "1e-7", "1.5e+21", "NaN".
std::string format_js_number(double value);
// How a float prints in a template: integral values keep one decimal ("3.0", "-0.0").
std::string format_float(double value);

// JSON.stringify of a string: quotes, \" \\ \b \f \n \r \t, \u00XX for other controls.
// ensure_ascii also writes every UTF-16 unit of 0x7F and above as \uXXXX.
std::string json_quote(std::string_view s, bool ensure_ascii);

}  // namespace vigil::llm::jinja::text

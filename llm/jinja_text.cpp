#include "llm/jinja_text.h"

#include <utf8proc.h>

#include <cassert>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace vigil::llm::jinja::text {
namespace {

constexpr char32_t kReplacement = 0xFFFD;

bool is_continuation(unsigned char byte) {
  return (byte & 0xC0) == 0x80;
}

void append_hex4(std::string& out, unsigned value) {
  static const char kDigits[] = "0123456789abcdef";
  out += "\\u";
  for (int shift = 12; shift >= 0; shift -= 4) out += kDigits[(value >> shift) & 15];
}

template <typename Map>
std::string map_code_points(std::string_view s, Map map) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const size_t start = i;
    const char32_t code_point = next_code_point(s, i);
    if (code_point == kReplacement && i == start + 1 &&
        static_cast<unsigned char>(s[start]) >= 0x80) {
      out += s[start];  // keep ill-formed bytes as they are
      continue;
    }
    append_utf8(out, static_cast<char32_t>(map(static_cast<utf8proc_int32_t>(code_point))));
  }
  return out;
}

}  // namespace

char32_t next_code_point(std::string_view s, size_t& i) {
  const auto lead = static_cast<unsigned char>(s[i]);
  if (lead < 0x80) {
    ++i;
    return lead;
  }
  size_t length = 0;
  char32_t value = 0;
  char32_t minimum = 0;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2, value = lead & 0x1F, minimum = 0x80;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3, value = lead & 0x0F, minimum = 0x800;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4, value = lead & 0x07, minimum = 0x10000;
  } else {
    ++i;
    return kReplacement;
  }
  if (i + length > s.size()) {
    ++i;
    return kReplacement;
  }
  for (size_t k = 1; k < length; ++k) {
    const auto byte = static_cast<unsigned char>(s[i + k]);
    if (!is_continuation(byte)) {
      ++i;
      return kReplacement;
    }
    value = (value << 6) | (byte & 0x3F);
  }
  if (value < minimum || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF)) {
    ++i;
    return kReplacement;
  }
  i += length;
  return value;
}

void append_utf8(std::string& out, char32_t code_point) {
  if (code_point >= 0xD800 && code_point <= 0xDFFF) code_point = kReplacement;
  if (code_point < 0x80) {
    out += static_cast<char>(code_point);
  } else if (code_point < 0x800) {
    out += static_cast<char>(0xC0 | (code_point >> 6));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  } else if (code_point < 0x10000) {
    out += static_cast<char>(0xE0 | (code_point >> 12));
    out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (code_point >> 18));
    out += static_cast<char>(0x80 | ((code_point >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  }
}

size_t code_point_count(std::string_view s) {
  size_t count = 0;
  for (size_t i = 0; i < s.size(); ++count) next_code_point(s, i);
  return count;
}

std::vector<std::string> split_code_points(std::string_view s) {
  std::vector<std::string> parts;
  for (size_t i = 0; i < s.size();) {
    const size_t start = i;
    next_code_point(s, i);
    parts.emplace_back(s.substr(start, i - start));
  }
  return parts;
}

bool is_js_space(char32_t c) {
  return c == ' ' || (c >= 0x09 && c <= 0x0D) || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
         c == 0x3000 || c == 0xFEFF;
}

size_t js_space_at(std::string_view s, size_t i) {
  if (i >= s.size()) return 0;
  size_t next = i;
  const char32_t code_point = next_code_point(s, next);
  if (code_point == kReplacement && next == i + 1) return 0;
  return is_js_space(code_point) ? next - i : 0;
}

size_t js_space_before(std::string_view s, size_t end) {
  for (size_t length = 1; length <= 3 && length <= end; ++length) {
    if (js_space_at(s, end - length) == length) return length;
  }
  return 0;
}

std::string_view js_trim(std::string_view s, bool start, bool end) {
  size_t begin = 0;
  size_t stop = s.size();
  if (start) {
    while (size_t length = js_space_at(s, begin)) begin += length;
  }
  if (end) {
    while (stop > begin) {
      const size_t length = js_space_before(s, stop);
      if (length == 0) break;
      stop -= length;
    }
  }
  return s.substr(begin, stop - begin);
}

std::string_view strip_chars(std::string_view s, std::string_view chars, bool start, bool end) {
  std::vector<char32_t> set;
  for (size_t i = 0; i < chars.size();) set.push_back(next_code_point(chars, i));
  const auto in_set = [&set](char32_t c) {
    for (const char32_t member : set) {
      if (member == c) return true;
    }
    return false;
  };
  size_t begin = 0;
  size_t stop = s.size();
  if (start) {
    while (begin < stop) {
      size_t next = begin;
      if (!in_set(next_code_point(s, next))) break;
      begin = next;
    }
  }
  if (end) {
    while (stop > begin) {
      size_t length = 1;
      while (length < 4 && length < stop - begin &&
             is_continuation(static_cast<unsigned char>(s[stop - length]))) {
        ++length;
      }
      size_t at = stop - length;
      const char32_t code_point = next_code_point(s, at);
      if (at != stop || !in_set(code_point)) break;
      stop -= length;
    }
  }
  return s.substr(begin, stop - begin);
}

std::string to_upper(std::string_view s) {
  return map_code_points(s, utf8proc_toupper);
}
std::string to_lower(std::string_view s) {
  return map_code_points(s, utf8proc_tolower);
}

std::string format_js_number(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "Infinity" : "-Infinity";
  if (value == 0) return "0";
  if (value < 0) return "-" + format_js_number(-value);
  // Shortest round-trip digits d.ddd and exponent, as ECMAScript's Number::toString wants them.
  char buffer[64];
  const auto result =
      std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::scientific);
  assert(result.ec == std::errc());
  const std::string scientific(buffer, result.ptr);
  const size_t e = scientific.find('e');
  std::string digits;
  for (size_t i = 0; i < e; ++i) {
    if (scientific[i] != '.') digits += scientific[i];
  }
  const int k = static_cast<int>(digits.size());
  const int n = std::atoi(scientific.c_str() + e + 1) + 1;  // value = 0.digits * 10^n
  if (k <= n && n <= 21) return digits + std::string(static_cast<size_t>(n - k), '0');
  if (0 < n && n <= 21) return digits.substr(0, n) + "." + digits.substr(n);
  if (-6 < n && n <= 0) return "0." + std::string(static_cast<size_t>(-n), '0') + digits;
  const int exponent = n - 1;
  std::string out = digits.substr(0, 1);
  if (k > 1) out += "." + digits.substr(1);
  out += exponent < 0 ? "e-" : "e+";
  return out + std::to_string(exponent < 0 ? -exponent : exponent);
}

std::string format_float(double value) {
  if (value == 0 && std::signbit(value)) return "-0.0";
  if (std::isfinite(value) && std::floor(value) == value && std::fabs(value) < 1e21) {
    char buffer[400];
    std::snprintf(buffer, sizeof buffer, "%.1f", value);
    return buffer;
  }
  return format_js_number(value);
}

std::string json_quote(std::string_view s, bool ensure_ascii) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size();) {
    const auto byte = static_cast<unsigned char>(s[i]);
    if (byte < 0x80) {
      ++i;
      switch (byte) {
        case '"':
          out += "\\\"";
          break;
        case '\\':
          out += "\\\\";
          break;
        case '\b':
          out += "\\b";
          break;
        case '\f':
          out += "\\f";
          break;
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        case '\t':
          out += "\\t";
          break;
        default:
          if (byte < 0x20 || (ensure_ascii && byte == 0x7F)) {
            append_hex4(out, byte);
          } else {
            out += static_cast<char>(byte);
          }
      }
      continue;
    }
    const size_t start = i;
    const char32_t code_point = next_code_point(s, i);
    if (!ensure_ascii) {
      if (code_point == kReplacement && i == start + 1) {
        append_utf8(out, kReplacement);
      } else {
        out.append(s.substr(start, i - start));
      }
    } else if (code_point >= 0x10000) {
      const char32_t offset = code_point - 0x10000;
      append_hex4(out, 0xD800 + (offset >> 10));
      append_hex4(out, 0xDC00 + (offset & 0x3FF));
    } else {
      append_hex4(out, code_point);
    }
  }
  return out + "\"";
}

}  // namespace vigil::llm::jinja::text

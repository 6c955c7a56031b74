#include "llm/utf8.h"

#include <cstring>

namespace vigil::llm::utf8 {
namespace {

// Facts about a lead byte in the WHATWG decoder: how many continuation bytes follow and the
// range the first of them must fall in (which rules out overlongs, surrogates and > U+10FFFF).
struct LeadByte {
  int continuation_bytes = -1;  // -1: not a lead byte (ASCII is handled before)
  unsigned char second_lower = 0x80;
  unsigned char second_upper = 0xBF;
};

LeadByte lead_byte(unsigned char byte) {
  LeadByte lead;
  if (byte >= 0xC2 && byte <= 0xDF) {
    lead.continuation_bytes = 1;
  } else if (byte >= 0xE0 && byte <= 0xEF) {
    lead.continuation_bytes = 2;
    if (byte == 0xE0) lead.second_lower = 0xA0;
    if (byte == 0xED) lead.second_upper = 0x9F;
  } else if (byte >= 0xF0 && byte <= 0xF4) {
    lead.continuation_bytes = 3;
    if (byte == 0xF0) lead.second_lower = 0x90;
    if (byte == 0xF4) lead.second_upper = 0x8F;
  }
  return lead;
}

bool is_continuation(unsigned char byte) {
  return (byte & 0xC0) == 0x80;
}

// Length of the longest well-formed prefix of bytes.
size_t valid_prefix_length(std::string_view bytes) {
  const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
  const size_t size = bytes.size();
  size_t pos = 0;
  while (pos < size) {
    // Eight ASCII bytes at a time: the common case for prose and code.
    if (pos + 8 <= size) {
      uint64_t word;
      std::memcpy(&word, data + pos, 8);
      if ((word & 0x8080808080808080ULL) == 0) {
        pos += 8;
        continue;
      }
    }
    const unsigned char byte = data[pos];
    if (byte < 0x80) {
      ++pos;
      continue;
    }
    const LeadByte lead = lead_byte(byte);
    if (lead.continuation_bytes < 0 || pos + lead.continuation_bytes >= size) return pos;
    const unsigned char second = data[pos + 1];
    if (second < lead.second_lower || second > lead.second_upper) return pos;
    for (int i = 2; i <= lead.continuation_bytes; ++i) {
      if (!is_continuation(data[pos + i])) return pos;
    }
    pos += 1 + lead.continuation_bytes;
  }
  return pos;
}

}  // namespace

void append(char32_t code_point, std::string& out) {
  if (code_point < 0x80) {
    out.push_back(static_cast<char>(code_point));
  } else if (code_point < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (code_point >> 6)));
    out.push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  } else if (code_point < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (code_point >> 12)));
    out.push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (code_point >> 18)));
    out.push_back(static_cast<char>(0x80 | ((code_point >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  }
}

bool is_valid(std::string_view bytes) {
  return valid_prefix_length(bytes) == bytes.size();
}

void append_sanitized(std::string_view bytes, std::string& out) {
  const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
  const size_t size = bytes.size();
  size_t pos = 0;
  while (pos < size) {
    const size_t valid = valid_prefix_length(bytes.substr(pos));
    out.append(bytes.data() + pos, valid);
    pos += valid;
    if (pos == size) break;
    // data[pos] starts an ill-formed sequence: consume its maximal subpart, the lead byte and
    // the continuation bytes that were still acceptable, and emit one U+FFFD for it.
    const LeadByte lead = lead_byte(data[pos]);
    size_t consumed = 1;
    if (lead.continuation_bytes > 0 && pos + 1 < size && data[pos + 1] >= lead.second_lower &&
        data[pos + 1] <= lead.second_upper) {
      consumed = 2;
      while (consumed <= static_cast<size_t>(lead.continuation_bytes) && pos + consumed < size &&
             is_continuation(data[pos + consumed])) {
        ++consumed;
      }
    }
    append(kReplacementCharacter, out);
    pos += consumed;
  }
}

size_t incomplete_suffix_length(std::string_view bytes) {
  const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
  const size_t size = bytes.size();
  for (size_t length = 1; length <= 3 && length <= size; ++length) {
    const size_t start = size - length;
    const unsigned char byte = data[start];
    if (is_continuation(byte)) continue;
    const LeadByte lead = lead_byte(byte);
    if (lead.continuation_bytes < static_cast<int>(length)) return 0;  // complete, or not a lead
    if (length >= 2 &&
        (data[start + 1] < lead.second_lower || data[start + 1] > lead.second_upper)) {
      return 0;
    }
    return length;  // the rest are continuation bytes by construction
  }
  return 0;
}

}  // namespace vigil::llm::utf8

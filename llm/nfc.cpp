#include "llm/nfc.h"

#include <utf8proc.h>

#include <cassert>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "llm/unicode_class.h"
#include "llm/utf8.h"

namespace vigil::llm {
namespace {

struct FreeDeleter {
  void operator()(utf8proc_uint8_t* pointer) const { std::free(pointer); }
};
using Utf8procBuffer = std::unique_ptr<utf8proc_uint8_t, FreeDeleter>;

void append_normalized_chunk(std::string_view chunk, std::string& out) {
  utf8proc_uint8_t* result = nullptr;
  const utf8proc_ssize_t length =
      utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(chunk.data()),
                   static_cast<utf8proc_ssize_t>(chunk.size()), &result,
                   static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE));
  Utf8procBuffer owned(result);
  // The input is valid UTF-8, so the only failure left is running out of memory.
  if (length < 0) throw std::bad_alloc();
  out.append(reinterpret_cast<const char*>(owned.get()), static_cast<size_t>(length));
}

bool is_inert(char32_t code_point) {
  return code_point < 0x300 || (unicode_flags(code_point) & kNfcInert) != 0;
}

}  // namespace

bool is_nfc_inert(std::string_view text) {
  size_t pos = 0;
  while (pos < text.size()) {
    if (pos + 8 <= text.size()) {  // eight ASCII bytes at a time: ASCII is always inert
      uint64_t word;
      std::memcpy(&word, text.data() + pos, 8);
      if ((word & 0x8080808080808080ULL) == 0) {
        pos += 8;
        continue;
      }
    }
    size_t length = 0;
    if (!is_inert(utf8::decode_valid(text, pos, length))) return false;
    pos += length;
  }
  return true;
}

void append_nfc(std::string_view text, std::string& out) {
  // Normalization never crosses an inert code point (a starter that is its own NFC and never
  // composes with what precedes it), so the text splits into independent chunks there: inert
  // stretches are copied, and each chunk that holds a non-inert code point is normalized from
  // the inert code point before it (which it may compose with) to the next inert one.
  size_t copied_up_to = 0;      // text[0, copied_up_to) is in out
  size_t last_inert_start = 0;  // where the most recent inert code point starts
  size_t pos = 0;
  while (pos < text.size()) {
    size_t length = 0;
    const char32_t code_point = utf8::decode_valid(text, pos, length);
    if (is_inert(code_point)) {
      last_inert_start = pos;
      pos += length;
      continue;
    }
    const size_t chunk_start = last_inert_start > copied_up_to ? last_inert_start : copied_up_to;
    out.append(text.data() + copied_up_to, chunk_start - copied_up_to);
    size_t chunk_end = pos + length;
    while (chunk_end < text.size()) {
      size_t next_length = 0;
      if (is_inert(utf8::decode_valid(text, chunk_end, next_length))) break;
      chunk_end += next_length;
    }
    append_normalized_chunk(text.substr(chunk_start, chunk_end - chunk_start), out);
    copied_up_to = chunk_end;
    last_inert_start = chunk_end;
    pos = chunk_end;
  }
  out.append(text.data() + copied_up_to, text.size() - copied_up_to);
}

}  // namespace vigil::llm

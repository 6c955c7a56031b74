#include "llm/pretokenizer.h"

#include <array>
#include <cstddef>
#include <cstdint>

#include "llm/unicode_class.h"
#include "llm/utf8.h"

namespace vigil::llm {

const std::string_view kQwen2SplitPattern =
    R"re((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)re";

namespace {

constexpr uint8_t kAnyClass = kLetter | kNumber | kWhitespace;

constexpr std::array<uint8_t, 128> make_ascii_flags() {
  std::array<uint8_t, 128> flags{};
  for (int c = 'a'; c <= 'z'; ++c) flags[c] = kLetter | kNfcInert;
  for (int c = 'A'; c <= 'Z'; ++c) flags[c] = kLetter | kNfcInert;
  for (int c = '0'; c <= '9'; ++c) flags[c] = kNumber | kNfcInert;
  for (int c = 0; c < 128; ++c) {
    if (flags[c] == 0) flags[c] = kNfcInert;
  }
  for (int c = '\t'; c <= '\r'; ++c) flags[c] |= kWhitespace;
  flags[' '] |= kWhitespace;
  flags['\n'] |= kLineBreak;
  flags['\r'] |= kLineBreak;
  return flags;
}
constexpr std::array<uint8_t, 128> kAsciiFlags = make_ascii_flags();

class Splitter {
 public:
  explicit Splitter(std::string_view text) : text_(text) {}

  // The end of the piece that starts at begin.
  size_t match(size_t begin) const {
    size_t length = 0;
    const uint8_t flags = flags_at(begin, length);
    const size_t next = begin + length;
    // (?i:'s|'t|'re|'ve|'m|'ll|'d)
    if (text_[begin] == '\'') {
      const size_t contraction = contraction_length(next);
      if (contraction > 0) return next + contraction;
    }
    // [^\r\n\p{L}\p{N}]?\p{L}+
    if (flags & kLetter) return run_end(next, kLetter);
    if (!(flags & (kNumber | kLineBreak)) && next < text_.size()) {
      size_t next_length = 0;
      if (flags_at(next, next_length) & kLetter) return run_end(next + next_length, kLetter);
    }
    // \p{N}
    if (flags & kNumber) return next;
    // ' '?[^\s\p{L}\p{N}]+[\r\n]*
    if (text_[begin] == ' ' && next < text_.size()) {
      size_t next_length = 0;
      if (!(flags_at(next, next_length) & kAnyClass)) {
        return run_end(other_run_end(next + next_length), kLineBreak);
      }
    }
    if (!(flags & kAnyClass)) return run_end(other_run_end(next), kLineBreak);
    // Only whitespace is left. With W the whitespace run from begin:
    // \s*[\r\n]+ takes W up to its last line break, \s+(?!\S) takes all of W at the end of the
    // text and all of W but its last code point otherwise (when that leaves something), and
    // \s+ takes W.
    size_t end = next;
    size_t last_line_break_end = (flags & kLineBreak) ? next : 0;
    size_t last_start = begin;
    while (end < text_.size()) {
      size_t run_length = 0;
      const uint8_t run_flags = flags_at(end, run_length);
      if (!(run_flags & kWhitespace)) break;
      if (run_flags & kLineBreak) last_line_break_end = end + run_length;
      last_start = end;
      end += run_length;
    }
    if (last_line_break_end != 0) return last_line_break_end;
    if (end == text_.size()) return end;
    if (last_start != begin) return last_start;
    return end;
  }

 private:
  uint8_t flags_at(size_t pos, size_t& length) const {
    const auto byte = static_cast<unsigned char>(text_[pos]);
    if (byte < 0x80) {
      length = 1;
      return kAsciiFlags[byte];
    }
    return unicode_flags(utf8::decode_valid(text_, pos, length));
  }

  // The end of the run of code points from pos that have one of the flags in mask.
  size_t run_end(size_t pos, uint8_t mask) const {
    while (pos < text_.size()) {
      size_t length = 0;
      if (!(flags_at(pos, length) & mask)) break;
      pos += length;
    }
    return pos;
  }

  // The end of the run of code points from pos that are neither letters, numbers nor spaces.
  size_t other_run_end(size_t pos) const {
    while (pos < text_.size()) {
      size_t length = 0;
      if (flags_at(pos, length) & kAnyClass) break;
      pos += length;
    }
    return pos;
  }

  // Length of s|t|re|ve|m|ll|d (ASCII case-insensitive) at pos, 0 when none is there.
  size_t contraction_length(size_t pos) const {
    if (pos >= text_.size()) return 0;
    const char first = ascii_lower(text_[pos]);
    if (first == 's' || first == 't' || first == 'm' || first == 'd') return 1;
    if (pos + 1 >= text_.size()) return 0;
    const char second = ascii_lower(text_[pos + 1]);
    if ((first == 'r' || first == 'v') && second == 'e') return 2;
    if (first == 'l' && second == 'l') return 2;
    return 0;
  }

  static char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

  std::string_view text_;
};

}  // namespace

void split_qwen2(std::string_view text, std::vector<std::string_view>& pieces) {
  const Splitter splitter(text);
  size_t begin = 0;
  while (begin < text.size()) {
    const size_t end = splitter.match(begin);
    pieces.push_back(text.substr(begin, end - begin));
    begin = end;
  }
}

}  // namespace vigil::llm

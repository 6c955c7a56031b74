#include "llm/jinja_lexer.h"

#include <array>
#include <string_view>
#include <utility>

#include "llm/jinja_text.h"

namespace vigil::llm::jinja {
namespace {

// Text after whitespace control, each byte remembering its offset in the text as written.
struct MappedText {
  std::string text;
  std::vector<size_t> origin;  // origin[i] = offset of text[i]; origin[size] = end

  void push(char c, size_t offset) {
    text += c;
    origin.push_back(offset);
  }
};

MappedText identity(const std::string& source) {
  MappedText mapped;
  mapped.text = source;
  mapped.origin.resize(source.size() + 1);
  for (size_t i = 0; i <= source.size(); ++i) mapped.origin[i] = i;
  return mapped;
}

MappedText finish(MappedText mapped, size_t end) {
  mapped.origin.push_back(end);
  return mapped;
}

bool is_line_start(const std::string& s, size_t i) {
  if (i == 0) return true;
  if (s[i - 1] == '\n' || s[i - 1] == '\r') return true;
  // U+2028 and U+2029 also end lines for a JavaScript multiline regex.
  return i >= 3 && s.compare(i - 3, 2, "\xE2\x80") == 0 &&
         (s[i - 1] == '\xA8' || s[i - 1] == '\xA9');
}

// lstrip_blocks: spaces and tabs between a line start and {# {% (or {-) are dropped.
MappedText lstrip_blocks(const MappedText& in) {
  MappedText out;
  const std::string& s = in.text;
  for (size_t i = 0; i < s.size();) {
    if (is_line_start(s, i)) {
      size_t j = i;
      while (j < s.size() && (s[j] == ' ' || s[j] == '\t')) ++j;
      if (j > i && j + 1 < s.size() && s[j] == '{' &&
          (s[j + 1] == '#' || s[j + 1] == '%' || s[j + 1] == '-')) {
        i = j;
      }
    }
    out.push(s[i], in.origin[i]);
    ++i;
  }
  return finish(std::move(out), in.origin.back());
}

// trim_blocks: the newline right after #} %} (or -}) is dropped.
MappedText trim_blocks(const MappedText& in) {
  MappedText out;
  const std::string& s = in.text;
  for (size_t i = 0; i < s.size();) {
    if (i + 2 < s.size() && (s[i] == '#' || s[i] == '%' || s[i] == '-') && s[i + 1] == '}' &&
        s[i + 2] == '\n') {
      out.push(s[i], in.origin[i]);
      out.push(s[i + 1], in.origin[i + 1]);
      i += 3;
      continue;
    }
    out.push(s[i], in.origin[i]);
    ++i;
  }
  return finish(std::move(out), in.origin.back());
}

size_t skip_spaces(const std::string& s, size_t i) {
  while (size_t length = text::js_space_at(s, i)) i += length;
  return i;
}

// The end of a {% generation %} / {% endgeneration %} tag at i (with {%- -%} flags), or 0.
size_t match_generation_tag(const std::string& s, size_t i, bool& strip_before, bool& strip_after) {
  if (s.compare(i, 2, "{%") != 0) return 0;
  size_t j = i + 2;
  strip_before = j < s.size() && s[j] == '-';
  if (strip_before) ++j;
  j = skip_spaces(s, j);
  if (s.compare(j, 3, "end") == 0 && s.compare(j + 3, 10, "generation") == 0) j += 3;
  if (s.compare(j, 10, "generation") != 0) return 0;
  j = skip_spaces(s, j + 10);
  strip_after = j < s.size() && s[j] == '-';
  if (strip_after) ++j;
  if (s.compare(j, 2, "%}") != 0) return 0;
  return j + 2;
}

// transformers' {% generation %} markers (they only mark assistant text for training masks)
// are removed; their {%- and -%} still strip the whitespace around them.
MappedText remove_generation_tags(const MappedText& in) {
  MappedText out;
  const std::string& s = in.text;
  size_t space_run_out = std::string::npos;  // out.text size where the current space run began
  for (size_t i = 0; i < s.size();) {
    bool strip_before = false;
    bool strip_after = false;
    if (s[i] == '{') {
      if (const size_t end = match_generation_tag(s, i, strip_before, strip_after)) {
        if (strip_before && space_run_out != std::string::npos) {
          out.text.resize(space_run_out);
          out.origin.resize(space_run_out);
        }
        const size_t after = skip_spaces(s, end);
        if (!strip_after) {
          for (size_t k = end; k < after; ++k) out.push(s[k], in.origin[k]);
        }
        i = after;
        space_run_out = std::string::npos;
        continue;
      }
    }
    if (const size_t length = text::js_space_at(s, i)) {
      if (space_run_out == std::string::npos) space_run_out = out.text.size();
      for (size_t k = i; k < i + length; ++k) out.push(s[k], in.origin[k]);
      i += length;
      continue;
    }
    space_run_out = std::string::npos;
    out.push(s[i], in.origin[i]);
    ++i;
  }
  return finish(std::move(out), in.origin.back());
}

MappedText preprocess(const std::string& source) {
  MappedText mapped = identity(source);
  if (!mapped.text.empty() && mapped.text.back() == '\n') {
    mapped.text.pop_back();
    mapped.origin.erase(mapped.origin.end() - 2);
  }
  return remove_generation_tags(trim_blocks(lstrip_blocks(mapped)));
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_word(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

struct Symbol {
  std::string_view text;
  Token::Type type;
};

// Longer symbols first where one is a prefix of another, as the reference orders them.
constexpr std::array<Symbol, 29> kSymbols = {{
    {"{%", Token::Type::kOpenStatement},
    {"%}", Token::Type::kCloseStatement},
    {"{{", Token::Type::kOpenExpression},
    {"}}", Token::Type::kCloseExpression},
    {"(", Token::Type::kOpenParen},
    {")", Token::Type::kCloseParen},
    {"{", Token::Type::kOpenCurlyBracket},
    {"}", Token::Type::kCloseCurlyBracket},
    {"[", Token::Type::kOpenSquareBracket},
    {"]", Token::Type::kCloseSquareBracket},
    {",", Token::Type::kComma},
    {".", Token::Type::kDot},
    {":", Token::Type::kColon},
    {"|", Token::Type::kPipe},
    {"<=", Token::Type::kComparisonOperator},
    {">=", Token::Type::kComparisonOperator},
    {"==", Token::Type::kComparisonOperator},
    {"!=", Token::Type::kComparisonOperator},
    {"<", Token::Type::kComparisonOperator},
    {">", Token::Type::kComparisonOperator},
    {"+", Token::Type::kAdditiveOperator},
    {"-", Token::Type::kAdditiveOperator},
    {"~", Token::Type::kAdditiveOperator},
    {"**", Token::Type::kExponentOperator},
    {"*", Token::Type::kMultiplicativeOperator},
    {"//", Token::Type::kMultiplicativeOperator},
    {"/", Token::Type::kMultiplicativeOperator},
    {"%", Token::Type::kMultiplicativeOperator},
    {"=", Token::Type::kEquals},
}};

class Lexer {
 public:
  explicit Lexer(const SourceText& source) : source_(source), mapped_(preprocess(source.text())) {}

  std::vector<Token> run() {
    const std::string& s = mapped_.text;
    while (pos_ < s.size()) {
      const bool after_tag = tokens_.empty() || last_type() == Token::Type::kCloseStatement ||
                             last_type() == Token::Type::kCloseExpression ||
                             last_type() == Token::Type::kComment;
      if (after_tag) {
        const size_t start = pos_;
        while (pos_ < s.size() &&
               !(s[pos_] == '{' && pos_ + 1 < s.size() &&
                 (s[pos_ + 1] == '%' || s[pos_ + 1] == '{' || s[pos_ + 1] == '#'))) {
          ++pos_;
        }
        if (pos_ > start) {
          push(Token::Type::kText, s.substr(start, pos_ - start), start);
          continue;
        }
      }
      if (s.compare(pos_, 2, "{#") == 0) {
        lex_comment();
        continue;
      }
      if (s.compare(pos_, 3, "{%-") == 0 || s.compare(pos_, 3, "{{-") == 0) {
        strip_trailing_space();
        const bool statement = s[pos_ + 1] == '%';
        push(statement ? Token::Type::kOpenStatement : Token::Type::kOpenExpression,
             statement ? "{%" : "{{", pos_);
        if (!statement) curly_depth_ = 0;
        pos_ += 3;
        continue;
      }
      skip_space();
      if (pos_ >= s.size()) break;
      if (s.compare(pos_, 3, "-%}") == 0 || s.compare(pos_, 3, "-}}") == 0) {
        const bool statement = s[pos_ + 1] == '%';
        push(statement ? Token::Type::kCloseStatement : Token::Type::kCloseExpression,
             statement ? "%}" : "}}", pos_);
        pos_ += 3;
        skip_space();
        continue;
      }
      const char c = s[pos_];
      if ((c == '-' || c == '+') && lex_unary_sign()) continue;
      if (lex_symbol()) continue;
      if (c == '\'' || c == '"') {
        lex_string(c);
        continue;
      }
      if (is_digit(c)) {
        lex_number();
        continue;
      }
      if (is_word(c)) {
        const size_t start = pos_;
        while (pos_ < s.size() && is_word(s[pos_])) ++pos_;
        push(Token::Type::kIdentifier, s.substr(start, pos_ - start), start);
        continue;
      }
      size_t next = pos_;
      std::string character;
      text::append_utf8(character, text::next_code_point(s, next));
      fail("unexpected character '" + character + "'", pos_);
    }
    return std::move(tokens_);
  }

 private:
  [[noreturn]] void fail(const std::string& message, size_t at) const {
    source_.fail(TemplateError::Kind::kSyntax, message,
                 mapped_.origin[std::min(at, mapped_.text.size())]);
  }

  Token::Type last_type() const { return tokens_.back().type; }

  void push(Token::Type type, std::string value, size_t at) {
    tokens_.push_back(Token{type, std::move(value), mapped_.origin[at]});
  }

  void skip_space() {
    while (size_t length = text::js_space_at(mapped_.text, pos_)) pos_ += length;
  }

  void strip_trailing_space() {
    if (tokens_.empty() || last_type() != Token::Type::kText) return;
    Token& last = tokens_.back();
    last.value = std::string(text::js_trim(last.value, false, true));
    if (last.value.empty()) tokens_.pop_back();
  }

  void lex_comment() {
    const std::string& s = mapped_.text;
    const size_t start = pos_;
    pos_ += 2;
    const bool strip_before = pos_ < s.size() && s[pos_] == '-';
    if (strip_before) ++pos_;
    const size_t close = s.find("#}", pos_);
    if (close == std::string::npos) fail("comment is not closed: missing '#}'", start);
    std::string comment = s.substr(pos_, close - pos_);
    const bool strip_after = !comment.empty() && comment.back() == '-';
    if (strip_after) comment.pop_back();
    if (strip_before) strip_trailing_space();
    push(Token::Type::kComment, std::move(comment), start);
    pos_ = close + 2;
    if (strip_after) skip_space();
  }

  // A - or + where an operand is expected is a sign: glued to a following number, else a
  // unary operator. Returns false where it is a binary operator.
  bool lex_unary_sign() {
    const std::string& s = mapped_.text;
    if (tokens_.empty() || last_type() == Token::Type::kText) {
      fail(std::string("unexpected '") + s[pos_] + "'", pos_);
    }
    switch (last_type()) {
      case Token::Type::kIdentifier:
      case Token::Type::kNumericLiteral:
      case Token::Type::kStringLiteral:
      case Token::Type::kCloseParen:
      case Token::Type::kCloseSquareBracket:
        return false;
      default:
        break;
    }
    const size_t start = pos_;
    std::string value(1, s[pos_++]);
    const std::string digits = take_digits();
    std::string number = digits;
    if (!digits.empty() && pos_ + 1 < s.size() && s[pos_] == '.' && is_digit(s[pos_ + 1])) {
      ++pos_;
      number += "." + take_digits();
    }
    push(number.empty() ? Token::Type::kUnaryOperator : Token::Type::kNumericLiteral,
         value + number, start);
    return true;
  }

  bool lex_symbol() {
    const std::string& s = mapped_.text;
    for (const Symbol& symbol : kSymbols) {
      if (symbol.type == Token::Type::kCloseExpression && curly_depth_ > 0) continue;
      if (s.compare(pos_, symbol.text.size(), symbol.text) != 0) continue;
      push(symbol.type, std::string(symbol.text), pos_);
      if (symbol.type == Token::Type::kOpenExpression) {
        curly_depth_ = 0;
      } else if (symbol.type == Token::Type::kOpenCurlyBracket) {
        ++curly_depth_;
      } else if (symbol.type == Token::Type::kCloseCurlyBracket) {
        --curly_depth_;
      }
      pos_ += symbol.text.size();
      return true;
    }
    return false;
  }

  std::string take_digits() {
    const std::string& s = mapped_.text;
    const size_t start = pos_;
    while (pos_ < s.size() && is_digit(s[pos_])) ++pos_;
    return s.substr(start, pos_ - start);
  }

  void lex_number() {
    const std::string& s = mapped_.text;
    const size_t start = pos_;
    std::string number = take_digits();
    const bool after_dot = !tokens_.empty() && last_type() == Token::Type::kDot;
    if (!after_dot && pos_ + 1 < s.size() && s[pos_] == '.' && is_digit(s[pos_ + 1])) {
      ++pos_;
      number += "." + take_digits();
    }
    push(Token::Type::kNumericLiteral, std::move(number), start);
  }

  void lex_string(char quote) {
    const std::string& s = mapped_.text;
    const size_t start = pos_++;
    std::string value;
    char32_t pending_high_surrogate = 0;
    const auto flush_surrogate = [&] {
      if (pending_high_surrogate != 0) text::append_utf8(value, 0xFFFD);
      pending_high_surrogate = 0;
    };
    while (true) {
      if (pos_ >= s.size()) fail("string literal is not closed", start);
      const char c = s[pos_];
      if (c == quote) break;
      if (c != '\\') {
        flush_surrogate();
        value += c;
        ++pos_;
        continue;
      }
      if (++pos_ >= s.size()) fail("string literal is not closed", start);
      const char escaped = s[pos_++];
      if (escaped == 'x' || escaped == 'u') {
        const size_t length = escaped == 'x' ? 2 : 4;
        const std::string hex = s.substr(pos_, length);
        if (hex.size() != length ||
            hex.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos) {
          fail(std::string("invalid escape \\") + escaped + hex, pos_ - 2);
        }
        pos_ += length;
        const auto unit = static_cast<char32_t>(std::stoul(hex, nullptr, 16));
        if (unit >= 0xD800 && unit <= 0xDBFF) {
          flush_surrogate();
          pending_high_surrogate = unit;
        } else if (unit >= 0xDC00 && unit <= 0xDFFF && pending_high_surrogate != 0) {
          text::append_utf8(value,
                            0x10000 + ((pending_high_surrogate - 0xD800) << 10) + (unit - 0xDC00));
          pending_high_surrogate = 0;
        } else {
          flush_surrogate();
          text::append_utf8(value, unit);
        }
        continue;
      }
      flush_surrogate();
      switch (escaped) {
        case 'n':
          value += '\n';
          break;
        case 't':
          value += '\t';
          break;
        case 'r':
          value += '\r';
          break;
        case 'b':
          value += '\b';
          break;
        case 'f':
          value += '\f';
          break;
        case 'v':
          value += '\v';
          break;
        case '\'':
        case '"':
        case '\\':
          value += escaped;
          break;
        default:
          fail(std::string("invalid escape \\") + escaped + " in string literal", pos_ - 2);
      }
    }
    flush_surrogate();
    ++pos_;  // the closing quote
    push(Token::Type::kStringLiteral, std::move(value), start);
  }

  const SourceText& source_;
  MappedText mapped_;
  size_t pos_ = 0;
  int curly_depth_ = 0;
  std::vector<Token> tokens_;
};

}  // namespace

std::vector<Token> tokenize(const SourceText& source) {
  return Lexer(source).run();
}

const char* to_string(Token::Type type) {
  switch (type) {
    case Token::Type::kText:
      return "text";
    case Token::Type::kNumericLiteral:
      return "number";
    case Token::Type::kStringLiteral:
      return "string";
    case Token::Type::kIdentifier:
      return "name";
    case Token::Type::kEquals:
      return "'='";
    case Token::Type::kOpenParen:
      return "'('";
    case Token::Type::kCloseParen:
      return "')'";
    case Token::Type::kOpenStatement:
      return "'{%'";
    case Token::Type::kCloseStatement:
      return "'%}'";
    case Token::Type::kOpenExpression:
      return "'{{'";
    case Token::Type::kCloseExpression:
      return "'}}'";
    case Token::Type::kOpenSquareBracket:
      return "'['";
    case Token::Type::kCloseSquareBracket:
      return "']'";
    case Token::Type::kOpenCurlyBracket:
      return "'{'";
    case Token::Type::kCloseCurlyBracket:
      return "'}'";
    case Token::Type::kComma:
      return "','";
    case Token::Type::kDot:
      return "'.'";
    case Token::Type::kColon:
      return "':'";
    case Token::Type::kPipe:
      return "'|'";
    case Token::Type::kAdditiveOperator:
    case Token::Type::kMultiplicativeOperator:
    case Token::Type::kExponentOperator:
    case Token::Type::kComparisonOperator:
    case Token::Type::kUnaryOperator:
      return "operator";
    case Token::Type::kComment:
      return "comment";
  }
  return "token";
}

}  // namespace vigil::llm::jinja

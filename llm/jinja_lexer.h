// The chat-template lexer: a template's text becomes tokens, after the whitespace control that
// Hugging Face applies to chat templates (trim_blocks and lstrip_blocks on, one trailing newline
// dropped, transformers' {% generation %} markers removed) and the {%- -%} {{- -}} {#- -#}
// markers. Token for token the same as @huggingface/jinja's tokenize().
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "llm/jinja_source.h"

namespace vigil::llm::jinja {

struct Token {
  enum class Type {
    kText,                    // text between tags
    kNumericLiteral,          // 123, 1.5, -2 (a sign glued to a number where unary)
    kStringLiteral,           // 'a' or "a", escapes resolved
    kIdentifier,              // names and keywords
    kEquals,                  // =
    kOpenParen,               // (
    kCloseParen,              // )
    kOpenStatement,           // {%
    kCloseStatement,          // %}
    kOpenExpression,          // {{
    kCloseExpression,         // }}
    kOpenSquareBracket,       // [
    kCloseSquareBracket,      // ]
    kOpenCurlyBracket,        // {
    kCloseCurlyBracket,       // }
    kComma,                   // ,
    kDot,                     // .
    kColon,                   // :
    kPipe,                    // |
    kAdditiveOperator,        // + - ~
    kMultiplicativeOperator,  // * / // %
    kExponentOperator,        // **
    kComparisonOperator,      // < > <= >= == !=
    kUnaryOperator,           // a lone unary - or +
    kComment,                 // {# ... #}
  };

  Type type;
  std::string value;
  size_t offset;  // byte offset of the token in the template as written
};

// Throws TemplateError(kSyntax) with the line and column of an unexpected character, an
// unterminated comment or string, or a bad escape.
std::vector<Token> tokenize(const SourceText& source);

const char* to_string(Token::Type type);

}  // namespace vigil::llm::jinja

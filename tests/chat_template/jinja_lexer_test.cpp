// The lexer: token kinds, whitespace control (trim_blocks, lstrip_blocks, {%- -%}, comments,
// generation markers), string escapes, and where errors point.
#include "llm/jinja_lexer.h"

#include <gtest/gtest.h>

namespace vigil::testing::chat {
namespace {

using llm::jinja::SourceText;
using llm::jinja::Token;
using Type = Token::Type;

std::vector<Token> lex(const std::string& text) {
  return llm::jinja::tokenize(SourceText(text, "test"));
}

std::string texts(const std::vector<Token>& tokens) {
  std::string out;
  for (const Token& token : tokens) {
    if (token.type == Type::kText) out += "[" + token.value + "]";
  }
  return out;
}

TEST(JinjaLexer, SplitsTextExpressionsAndStatements) {
  const auto tokens = lex("Hi {{ name | upper }}{% if x >= 2 %}!{% endif %}");
  std::vector<Type> types;
  for (const Token& token : tokens) types.push_back(token.type);
  const std::vector<Type> expected = {
      Type::kText,       Type::kOpenExpression,     Type::kIdentifier,     Type::kPipe,
      Type::kIdentifier, Type::kCloseExpression,    Type::kOpenStatement,  Type::kIdentifier,
      Type::kIdentifier, Type::kComparisonOperator, Type::kNumericLiteral, Type::kCloseStatement,
      Type::kText,       Type::kOpenStatement,      Type::kIdentifier,     Type::kCloseStatement};
  EXPECT_EQ(types, expected);
  EXPECT_EQ(tokens[9].value, ">=");
}

TEST(JinjaLexer, OffsetsPointIntoTheTextAsWritten) {
  const auto tokens = lex("ab\n  {% if x %}");
  ASSERT_GE(tokens.size(), 3u);
  // lstrip_blocks removed the two spaces, but the tag still points at its own position.
  EXPECT_EQ(tokens[1].type, Type::kOpenStatement);
  EXPECT_EQ(tokens[1].offset, 5u);
  EXPECT_EQ(tokens[2].offset, 8u);
}

TEST(JinjaLexer, TrimBlocksDropsTheNewlineAfterATag) {
  EXPECT_EQ(texts(lex("{% if x %}\nA\n{% endif %}\nB")), "[A\n][B]");
  EXPECT_EQ(texts(lex("{# c #}\nA")), "[A]");
  // Not after expressions.
  EXPECT_EQ(texts(lex("{{ x }}\nA")), "[\nA]");
}

TEST(JinjaLexer, LstripBlocksDropsIndentationBeforeATag) {
  EXPECT_EQ(texts(lex("A\n  \t{% if x %}B{% endif %}")), "[A\n][B]");
  // Only at a line start, and not before expressions.
  EXPECT_EQ(texts(lex("A  {% if x %}B{% endif %}")), "[A  ][B]");
  EXPECT_EQ(texts(lex("A\n  {{ x }}")), "[A\n  ]");
}

TEST(JinjaLexer, OneTrailingNewlineIsDropped) {
  EXPECT_EQ(texts(lex("A\n\n")), "[A\n]");
  EXPECT_EQ(texts(lex("A")), "[A]");
}

TEST(JinjaLexer, DashMarkersStripWhitespaceAroundTags) {
  EXPECT_EQ(texts(lex("A \n {%- if x -%} \n B {{- y -}} C")), "[A][B][C]");
  EXPECT_EQ(texts(lex("A  {#- c -#}  B")), "[A][B]");
  // Unicode whitespace counts, as in JavaScript.
  EXPECT_EQ(texts(lex("A\u00a0\u3000{%- if x %}{% endif %}")), "[A]");
}

TEST(JinjaLexer, GenerationMarkersAreRemoved) {
  EXPECT_EQ(texts(lex("A {% generation %}B{% endgeneration %} C")), "[A B C]");
  EXPECT_EQ(texts(lex("A {%- generation -%} B")), "[AB]");
}

TEST(JinjaLexer, StringLiteralsResolveEscapes) {
  const auto tokens = lex(R"({{ 'a\n\t\'"' ~ "\u00e9\x41\ud83c\udfa5\\" }})");
  ASSERT_EQ(tokens[1].type, Type::kStringLiteral);
  EXPECT_EQ(tokens[1].value, "a\n\t'\"");
  EXPECT_EQ(tokens[3].value, "\u00e9A\U0001F3A5\\");
}

TEST(JinjaLexer, SignsGlueToNumbersWhereUnary) {
  const auto tokens = lex("{{ -1.5 + x - 2 }}");
  EXPECT_EQ(tokens[1].type, Type::kNumericLiteral);
  EXPECT_EQ(tokens[1].value, "-1.5");
  EXPECT_EQ(tokens[2].type, Type::kAdditiveOperator);
  EXPECT_EQ(tokens[4].type, Type::kAdditiveOperator);
  EXPECT_EQ(tokens[5].value, "2");
}

TEST(JinjaLexer, DictLiteralBracesDoNotCloseTheExpression) {
  const auto tokens = lex("{{ {'a': {'b': 1}} }}");
  EXPECT_EQ(tokens.back().type, Type::kCloseExpression);
  EXPECT_EQ(tokens[tokens.size() - 2].type, Type::kCloseCurlyBracket);
}

TEST(JinjaLexer, ErrorsNameLineAndColumn) {
  try {
    lex("line one\n  {{ x $ }}");
    FAIL() << "expected a syntax error";
  } catch (const llm::jinja::TemplateError& error) {
    EXPECT_EQ(error.kind(), llm::jinja::TemplateError::Kind::kSyntax);
    EXPECT_EQ(error.location().line, 2u);
    EXPECT_EQ(error.location().column, 8u);
    EXPECT_EQ(std::string(error.what()), "test:2:8: syntax error: unexpected character '$'");
  }
  EXPECT_THROW(lex("{# never closed"), llm::jinja::TemplateError);
  EXPECT_THROW(lex("{{ 'never closed }}"), llm::jinja::TemplateError);
  EXPECT_THROW(lex(R"({{ '\q' }})"), llm::jinja::TemplateError);
}

}  // namespace
}  // namespace vigil::testing::chat

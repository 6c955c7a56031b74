// Every failure is a TemplateError of the right kind, with a message that says what is wrong and
// the template's name, line and column.
#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "llm/jinja_template.h"

namespace vigil::testing::chat {
namespace {

using llm::jinja::Template;
using llm::jinja::TemplateError;
using Kind = TemplateError::Kind;

TemplateError error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const TemplateError& error) {
    return error;
  }
  ADD_FAILURE() << "no TemplateError was thrown";
  return TemplateError(Kind::kRuntime, "none");
}

TemplateError parse_error(const std::string& source) {
  return error_of([&] { Template(source, "tpl.jinja"); });
}

TemplateError render_error(const std::string& source, const char* variables = "{}") {
  return error_of(
      [&] { Template(source, "tpl.jinja").render(nlohmann::ordered_json::parse(variables)); });
}

TEST(JinjaErrors, SyntaxErrorsNameLineAndColumn) {
  const TemplateError unclosed = parse_error("{% for m in messages %}\n  {{ m.content }}\n");
  EXPECT_EQ(unclosed.kind(), Kind::kSyntax);
  EXPECT_EQ(unclosed.message(), "unexpected end of template: missing '{% endfor %}'");

  const TemplateError missing_close = parse_error("Hello\n{{ name }\n");
  EXPECT_EQ(missing_close.kind(), Kind::kSyntax);
  EXPECT_EQ(missing_close.location().line, 2u);
  EXPECT_EQ(missing_close.location().column, 9u);
  EXPECT_EQ(std::string(missing_close.what()),
            "tpl.jinja:2:9: syntax error: expected '}}', found '}'");

  const TemplateError stray = parse_error("a\n\n   {% endif %}");
  EXPECT_EQ(stray.message(), "unexpected '{% endif %}' without an opening statement");
  EXPECT_EQ(stray.location().line, 3u);
  EXPECT_EQ(stray.location().column, 4u);

  EXPECT_EQ(parse_error("{% if %}{% endif %}").kind(), Kind::kSyntax);
  EXPECT_EQ(parse_error("{{ a b }}").message(), "expected '}}', found 'b'");
  EXPECT_EQ(parse_error("{% break %}").message(), "'{% break %}' outside a loop");
  EXPECT_EQ(parse_error("{% set 1 = 2 %}").message(), "cannot assign to this expression");
  EXPECT_EQ(parse_error("{% frobnicate %}").message(), "unknown statement 'frobnicate'");
  EXPECT_EQ(parse_error("{{ f(a=1, 2) }}").message(),
            "a positional argument follows a keyword argument");
  EXPECT_EQ(parse_error("{% macro m(a, a) %}{% endmacro %}").message(), "duplicate parameter 'a'");
}

TEST(JinjaErrors, UnsupportedConstructsSaySo) {
  const TemplateError include = parse_error("x\n{% include 'other.jinja' %}");
  EXPECT_EQ(include.kind(), Kind::kUnsupported);
  EXPECT_EQ(include.message(), "the '{% include %}' statement is not supported");
  EXPECT_EQ(include.location().line, 2u);
  EXPECT_EQ(parse_error("{% call m() %}x{% endcall %}").kind(), Kind::kUnsupported);

  const TemplateError filter = render_error("{{ 'x' | wordwrap(3) }}");
  EXPECT_EQ(filter.kind(), Kind::kUnsupported);
  EXPECT_EQ(filter.message(), "unknown filter 'wordwrap'");
  EXPECT_EQ(filter.location().column, 4u);
  EXPECT_EQ(render_error("{{ 1 is prime }}").message(), "unknown test 'prime'");
}

TEST(JinjaErrors, RaiseExceptionCarriesTheTemplatesMessage) {
  const TemplateError raised = render_error(
      "{% for m in messages %}\n{% if m.role not in ['user', 'assistant'] %}"
      "{{ raise_exception('Unsupported role: ' + m.role) }}{% endif %}{% endfor %}",
      R"({"messages": [{"role": "user"}, {"role": "narrator"}]})");
  EXPECT_EQ(raised.kind(), Kind::kRaised);
  EXPECT_EQ(raised.message(), "Unsupported role: narrator");
  EXPECT_EQ(raised.location().line, 2u);
  EXPECT_EQ(std::string(raised.what()),
            "tpl.jinja:2:48: raised by template: Unsupported role: narrator");
}

TEST(JinjaErrors, RuntimeErrorsNameTheTypes) {
  EXPECT_EQ(render_error("{{ 'a' - 1 }}").message(),
            "unsupported operand types for '-': string and int");
  EXPECT_EQ(render_error("{{ x + 1 }}").message(),
            "unsupported operand types for '+': undefined and int");
  EXPECT_EQ(render_error("{{ 1 // 0 }}").message(), "division by zero");
  EXPECT_EQ(render_error("{% for x in 5 %}{% endfor %}").message(), "cannot loop over an int");
  EXPECT_EQ(render_error("{{ nothing() }}").message(),
            "'nothing' (an undefined value) is not callable");
  EXPECT_EQ(render_error("{% set d = {'a': 1} %}{% set d.a = 2 %}").message(),
            "cannot set an attribute of a dict: only namespace() objects can be assigned to");
  EXPECT_EQ(render_error("{% set a, b = [1] %}").message(), "cannot unpack 1 items into 2 names");
  EXPECT_EQ(render_error("{{ 5 | upper }}").message(),
            "filter 'upper' cannot be applied to an int");
  EXPECT_EQ(render_error("{% macro m(a) %}{% endmacro %}{{ m(1, 2) }}").message(),
            "macro 'm' takes at most 1 argument(s)");
  EXPECT_EQ(render_error("{{ [1, 'a'] | sort }}").message(), "cannot compare a string with an int");
  const TemplateError nested =
      render_error("{{ messages[0].content.split('') }}", R"({"messages": [{"content": "x"}]})");
  EXPECT_EQ(nested.kind(), Kind::kRuntime);
  EXPECT_EQ(nested.message(), "split: empty separator");
}

TEST(JinjaErrors, LimitsStopRunawayTemplates) {
  llm::jinja::RenderLimits limits;
  limits.max_output_bytes = 1000;
  const auto limited = [&](const std::string& source) {
    return error_of(
        [&] { Template(source, "tpl.jinja").render(nlohmann::ordered_json::object(), limits); });
  };
  EXPECT_EQ(limited("{% for i in range(1000) %}0123456789{% endfor %}").kind(), Kind::kLimit);
  EXPECT_EQ(render_error("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}").kind(),
            Kind::kLimit);
  EXPECT_EQ(render_error("{{ range(100000000) | length }}").kind(), Kind::kLimit);
  EXPECT_EQ(parse_error("{{ " + std::string(300, '(') + "1" + std::string(300, ')') + " }}").kind(),
            Kind::kLimit);
}

TEST(JinjaErrors, VariablesMustBeAnObject) {
  const TemplateError error =
      error_of([] { Template("x", "tpl.jinja").render(nlohmann::ordered_json::array()); });
  EXPECT_EQ(error.kind(), Kind::kInvalidInput);
}

}  // namespace
}  // namespace vigil::testing::chat

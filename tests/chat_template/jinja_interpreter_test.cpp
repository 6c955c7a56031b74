// The interpreter and builtins on each construct, including where vigil deliberately follows
// Python Jinja2 rather than @huggingface/jinja (see llm/jinja_builtins.h).
#include <gtest/gtest.h>

#include <string>

#include "llm/jinja_template.h"

namespace vigil::testing::chat {
namespace {

std::string render(const std::string& source, const char* variables = "{}") {
  return llm::jinja::Template(source, "test").render(nlohmann::ordered_json::parse(variables));
}

TEST(JinjaInterpreter, PrintsValuesAsTheReferenceDoes) {
  EXPECT_EQ(render("{{ 1 }}|{{ 2.0 }}|{{ 2.5 }}|{{ -0.0 }}|{{ true }}|{{ none }}|{{ nothing }}"),
            "1|2.0|2.5|-0.0|true||");
  EXPECT_EQ(render("{{ [1, 'a', none, {'k': false}] }}"), R"([1, "a", null, {"k": false}])");
  EXPECT_EQ(render("{{ 0.1 + 0.2 }}|{{ 1 / 3 }}"), "0.30000000000000004|0.3333333333333333");
}

TEST(JinjaInterpreter, LoopsExposeLoopState) {
  EXPECT_EQ(
      render("{% for x in xs %}{{ loop.index0 }}{{ x }}{{ '|' if not loop.last }}{% endfor %}",
             R"({"xs": ["a", "b"]})"),
      "0a|1b");
  EXPECT_EQ(render("{% for x in xs %}{{ loop.revindex }}{{ loop.length }}{% endfor %}",
                   R"({"xs": [1, 2, 3]})"),
            "332313");
  EXPECT_EQ(render("{% for x in [] %}x{% else %}none{% endfor %}"), "none");
  EXPECT_EQ(render("{% for x in missing %}x{% else %}none{% endfor %}"), "none");
  EXPECT_EQ(render("{% for c in 'ab' %}[{{ c }}]{% endfor %}"), "[a][b]");
  EXPECT_EQ(render("{% for k, v in {'a': 1, 'b': 2}.items() %}{{ k }}{{ v }}{% endfor %}"), "a1b2");
  EXPECT_EQ(render("{% for x in [1, 2, 3, 4] if x is even %}{{ x }}{{ loop.index }}{% endfor %}"),
            "2142");
}

TEST(JinjaInterpreter, BreakAndContinueKeepWhatTheIterationPrinted) {
  // Python Jinja2 keeps "a" printed before the break; the reference drops it.
  EXPECT_EQ(
      render("{% for x in [1, 2, 3] %}a{{ x }}{% if x == 2 %}{% break %}{% endif %}{% endfor %}"),
      "a1a2");
  EXPECT_EQ(render("{% for x in [1, 2] %}{{ x }}{% continue %}never{% endfor %}"), "12");
  EXPECT_EQ(render("{% for x in [1] %}{% continue %}{% else %}empty{% endfor %}"), "");
}

TEST(JinjaInterpreter, ScopesFollowJinja) {
  EXPECT_EQ(
      render("{% set x = 1 %}{% for i in [1, 2] %}{% set x = x + i %}{{ x }}{% endfor %}{{ x }}"),
      "241");
  EXPECT_EQ(render("{% set ns = namespace(total=0) %}{% for i in [1, 2, 3] %}{% set ns.total = "
                   "ns.total + i %}"
                   "{% endfor %}{{ ns.total }}"),
            "6");
  EXPECT_EQ(render("{% if true %}{% set y = 'set in if' %}{% endif %}{{ y }}"), "set in if");
}

TEST(JinjaInterpreter, MacrosBindArgumentsAndDefaults) {
  const std::string macro =
      "{% macro tag(name, value='?', sep=': ') %}<{{ name }}{{ sep }}{{ value }}>{% endmacro %}";
  EXPECT_EQ(render(macro + "{{ tag('a') }}{{ tag('b', 2) }}{{ tag('c', sep='=', value=3) }}"),
            "<a: ?><b: 2><c=3>");
  EXPECT_EQ(
      render(
          "{% macro m() %}{{ varargs | length }}{{ kwargs.k }}{% endmacro %}{{ m(1, 2, k='v') }}"),
      "2v");
  EXPECT_EQ(render("{% macro fact(n) %}{{ 1 if n <= 1 else n * (fact(n - 1) | int) }}{% endmacro "
                   "%}{{ fact(5) }}"),
            "120");
}

TEST(JinjaInterpreter, StringMethodsFollowPython) {
  // strip with an argument strips only those characters (Qwen3's template relies on it).
  EXPECT_EQ(
      render("[{{ '\\n  x \\n'.strip('\\n') }}][{{ '  x  '.strip() }}][{{ 'xxaxx'.lstrip('x') }}]"),
      "[  x ][x][axx]");
  EXPECT_EQ(render("{{ 'a,b,,c'.split(',') }}{{ ' a  b '.split() }}{{ 'a b c'.split(none, 1) }}"),
            R"(["a", "b", "", "c"]["a", "b"]["a", "b c"])");
  EXPECT_EQ(render("{{ 'abc'.startswith('ab') }}{{ 'abc'.endswith(('x', 'bc')) }}{{ "
                   "'aaa'.replace('a', 'b', 2) }}"),
            "truetruebba");
  EXPECT_EQ(render("{{ 'héllo'.upper() }}{{ 'ÀB'.lower() }}{{ 'hello world'.title() }}{{ "
                   "'x'.capitalize() }}"),
            "HÉLLOàbHello WorldX");
  // Length and indexing count code points.
  EXPECT_EQ(render("{{ '🎥é' | length }}{{ '🎥é'[0] }}{{ '🎥é'[-1] }}{{ '🎥éx'[1:] }}"), "2🎥ééx");
}

TEST(JinjaInterpreter, EqualityAndMembershipCompareValues) {
  EXPECT_EQ(render("{{ [1, [2]] == [1, [2]] }}{{ {'a': 1} == {'a': 1} }}{{ 1 == 1.0 }}{{ 1 == '1' "
                   "}}{{ none == nothing }}"),
            "truetruetruefalsefalse");
  EXPECT_EQ(render("{{ [1] in [[1], [2]] }}{{ 'b' in {'b': 0} }}{{ 'ell' in 'hello' }}{{ 3 not in "
                   "[1, 2] }}"),
            "truetruetruetrue");
}

TEST(JinjaInterpreter, ArithmeticFollowsPython) {
  EXPECT_EQ(
      render(
          "{{ -7 // 2 }} {{ -7 % 3 }} {{ 7 % -3 }} {{ 2 ** 3 ** 2 }} {{ 2 ** -1 }} {{ 7.5 // 2 }}"),
      "-4 2 -2 64 0.5 3.0");
  EXPECT_EQ(render("{{ 'ab' ~ 1 ~ 2.5 }}|{{ 'n' + 1 }}|{{ [1] + [2] }}"), "ab12.5|n1|[1, 2]");
}

TEST(JinjaInterpreter, FiltersOnEachType) {
  EXPECT_EQ(render("{{ xs | map(attribute='n') | join(',') }}|{{ xs | map(attribute='zz', "
                   "default=0) | list }}",
                   R"({"xs": [{"n": 1}, {"n": 2}]})"),
            "1,2|[0, 0]");
  EXPECT_EQ(
      render("{{ ['a', 'b'] | map('upper') | join }}{{ [1, 2, 3, 4] | select('odd') | list }}"),
      "AB[1, 3]");
  EXPECT_EQ(render("{{ {'b': 1, 'A': 2} | dictsort }}{{ {'b': 1, 'a': 2} | dictsort(by='value', "
                   "reverse=true) }}"),
            R"([["A", 2], ["b", 1]][["a", 2], ["b", 1]])");
  EXPECT_EQ(render("{{ (-3) | abs }}{{ '7' | int }}{{ 'x' | int(5) }}{{ '2.5' | float }}{{ -2.7 | "
                   "int }}{{ 0 | bool }}"),
            "375"
            "2.5-2false");
  EXPECT_EQ(
      render("{{ missing | length }}{{ 'abc' | list }}{{ 'abc' | reverse }}{{ [1, 2] | last }}"),
      "0[\"a\", \"b\", \"c\"]cba2");
  EXPECT_EQ(
      render("{{ 'a\\nb' | indent(first=true) }}|{{ 'a\\n\\nb' | indent('> ', blank=true) }}"),
      "    a\n    b|a\n> \n> b");
  EXPECT_EQ(render("{{ '  x ' | trim }}{{ 'xxyxx' | trim('x') }}{{ 'a-b' | replace('-', '+') }}{{ "
                   "none | string }}"),
            "xya+bNone");
}

TEST(JinjaInterpreter, TojsonKeepsKeyOrderAndOptions) {
  const char* variables = R"({"v": {"z": 1, "a": [true, null, 2.5, "é\n"], "m": {}}})";
  EXPECT_EQ(render("{{ v | tojson }}", variables),
            R"({"z": 1, "a": [true, null, 2.5, "é\n"], "m": {}})");
  EXPECT_EQ(render("{{ v | tojson(sort_keys=true, separators=(',', ':')) }}", variables),
            R"({"a":[true,null,2.5,"é\n"],"m":{},"z":1})");
  EXPECT_EQ(render("{{ v.a | tojson(indent=2) }}", variables),
            "[\n  true,\n  null,\n  2.5,\n  \"é\\n\"\n]");
  EXPECT_EQ(render("{{ 'é🎥' | tojson(ensure_ascii=true) }}"), R"("\u00e9\ud83c\udfa5")");
}

TEST(JinjaInterpreter, TestsAndMembers) {
  EXPECT_EQ(render("{{ x is defined }}{{ y is defined }}{{ x is string }}{{ n is none }}{{ 4 is "
                   "divisibleby(2) }}"
                   "{{ 3 is in([1, 3]) }}{{ 'a' is eq('a') }}",
                   R"({"x": "s", "n": null})"),
            "truefalsetruetruetruetruetrue");
  EXPECT_EQ(render("{{ d.a }}{{ d['b'] }}{{ d.get('c', 'dflt') }}{{ d.missing.deeper }}{{ xs[-1] "
                   "}}{{ xs[9] }}",
                   R"({"d": {"a": 1, "b": 2}, "xs": [1, 2]})"),
            "12dflt2");
}

TEST(JinjaInterpreter, SlicesLikePython) {
  const char* xs = R"({"xs": [0, 1, 2, 3, 4]})";
  EXPECT_EQ(
      render("{{ xs[1:3] }}{{ xs[::-1] }}{{ xs[-2:] }}{{ xs[:-4] }}{{ xs[4:1:-2] }}{{ xs[10:] }}",
             xs),
      "[1, 2][4, 3, 2, 1, 0][3, 4][0][4, 2][]");
}

TEST(JinjaInterpreter, WhitespaceControlLikeTransformers) {
  EXPECT_EQ(render("{% for x in xs %}\n  {{ x }}\n{% endfor %}\n", R"({"xs": [1, 2]})"),
            "  1\n  2\n");
  EXPECT_EQ(render("a\n  {%- if true %} b {% endif -%}\n  c"), "a b c");
}

TEST(JinjaInterpreter, RendersAreIndependent) {
  const llm::jinja::Template t("{% set ns = namespace(n=0) %}{% set ns.n = ns.n + x %}{{ ns.n }}",
                               "test");
  EXPECT_EQ(t.render({{"x", 1}}), "1");
  EXPECT_EQ(t.render({{"x", 2}}), "2");
}

}  // namespace
}  // namespace vigil::testing::chat

// Golden test: vigil's rendering of the real chat templates (tests/fixtures/chat_templates,
// plus vigil's built-ins) on every conversation of conversations.cpp, and of a set of small
// templates exercising each construct, is byte for byte @huggingface/jinja's (run in node by
// render_reference.mjs on the very same template text and variables).
#include <gtest/gtest.h>

#include <iostream>
#include <map>
#include <sstream>

#include "llm/chat_template.h"
#include "llm/jinja_template.h"
#include "tests/chat_template/conversations.h"
#include "tests/chat_template/reference_renderer.h"

namespace vigil::testing::chat {
namespace {

using json = nlohmann::ordered_json;

struct Case {
  std::string group;  // the template
  std::string name;   // the conversation or construct
  std::string template_source;
  json variables;
  // vigil's result
  bool ok = false;
  std::string text;
  llm::TemplateError::Kind error_kind = llm::TemplateError::Kind::kRuntime;
  std::string error;
};

struct Subject {
  std::string name;
  llm::ChatTemplate chat_template;
  std::vector<std::vector<Conversation>> conversation_sets;
};

std::vector<Subject> subjects() {
  const std::string fixtures = fixtures_dir();
  const auto text = text_conversations();
  const auto tools = tool_conversations();
  const auto vision = vision_conversations();
  const auto reasoning = reasoning_conversations();
  std::vector<Subject> list;
  list.push_back({"Qwen2-Instruct", llm::ChatTemplate::load(fixtures + "/qwen2"), {text}});
  list.push_back(
      {"Qwen2.5-Instruct", llm::ChatTemplate::load(fixtures + "/qwen2_5"), {text, tools}});
  list.push_back({"Qwen3", llm::ChatTemplate::load(fixtures + "/qwen3"), {text, tools, reasoning}});
  list.push_back(
      {"Qwen2-VL / Qwen2.5-VL", llm::ChatTemplate::load(fixtures + "/qwen2_vl"), {text, vision}});
  list.push_back(
      {"LLaVA-OneVision", llm::ChatTemplate::load(fixtures + "/llava_onevision"), {text, vision}});
  list.push_back(
      {"builtin chatml", llm::ChatTemplate::builtin(llm::BuiltinChatTemplate::kChatml), {text}});
  list.push_back({"builtin qwen2_vl",
                  llm::ChatTemplate::builtin(llm::BuiltinChatTemplate::kQwen2Vl),
                  {text, vision}});
  list.push_back({"builtin llava_onevision",
                  llm::ChatTemplate::builtin(llm::BuiltinChatTemplate::kLlavaOnevision),
                  {text, vision}});
  return list;
}

// Small templates, one or a few constructs each, where vigil and the reference agree by design
// (jinja_builtins.h lists where they do not).
std::vector<std::pair<std::string, std::pair<std::string, std::string>>> constructs() {
  const std::string data =
      R"json({"xs": [1, 2, 3], "s": "héllo wörld", "d": {"b": 2, "a": 1, "c": [1, "x"]},
    "t": true, "f": false, "n": null, "e": [], "r": "tool",
    "messages": [{"role": "system", "content": "S"}, {"role": "user", "content": "U1"},
                 {"role": "assistant", "content": "A"}, {"role": "user", "content": "U2"}],
    "items": [{"n": 3, "ok": true, "name": "c"}, {"n": 1, "ok": false, "name": "a"}, {"n": 2, "ok": true, "name": "B"}]})json";
  return {
      {"concatenation", {"{{ 'a' + 'b' }}|{{ 'n=' ~ 5 }}|{{ 'x' ~ 1.5 }}|{{ \"a\" \"b\" }}", data}},
      {"loop_variables",
       {"{% for x in xs %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 "
        "}}{{ loop.first }}"
        "{{ loop.last }}{{ loop.length }}{{ loop.previtem }}{{ loop.nextitem }};{% endfor %}",
        data}},
      {"loop_items",
       {"{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}|{% for k in d %}{{ k }}{% endfor "
        "%}",
        data}},
      {"loop_else", {"{% for x in e %}{{ x }}{% else %}empty{% endfor %}", data}},
      {"loop_filter", {"{% for x in xs if x > 1 %}{{ x }}{{ loop.index }}{% endfor %}", data}},
      {"loop_break_continue",
       {"{% for x in xs %}{% if x == 2 %}{% continue %}{% endif %}{{ x }}{% endfor %}|"
        "{% for x in xs %}{% if x == 3 %}{% break %}{% endif %}{{ x }}{% endfor %}",
        data}},
      {"nested_loops",
       {"{% for a in [1, 2] %}{% set outer = loop.index %}{% for b in ['x', 'y'] %}{{ outer }}{{ b "
        "}}{{ loop.index }} "
        "{% endfor %}{% endfor %}",
        data}},
      {"scoping",
       {"{% set x = 1 %}{% for i in [1] %}{% set x = 2 %}{{ x }}{% endfor %}{{ x }}", data}},
      {"namespace",
       {"{% set ns = namespace(n=0, seen=false) %}{% for x in xs %}{% set ns.n = ns.n + x %}{% set "
        "ns.seen = true %}"
        "{% endfor %}{{ ns.n }} {{ ns.seen }}",
        data}},
      {"slices",
       {"{{ xs[1:] }}{{ xs[:-1] }}{{ xs[::-1] }}{{ xs[::2] }}{{ xs[-2:] }}{{ s[1:3] }}{{ s[::-1] "
        "}}{{ messages[::-1] | "
        "map(attribute='role') | join(',') }}",
        data}},
      {"indexing",
       {"{{ xs[-1] }}{{ xs[0] }}{{ s[-2] }}{{ messages[1]['content'] }}{{ messages[1].role }}{{ "
        "d.zz.yy }}",
        data}},
      {"string_filters",
       {"{{ '  pad  ' | trim }}|{{ 'abc' | upper }}|{{ 'ABC' | lower }}|{{ 'hello big world' | "
        "title }}|"
        "{{ 'hello' | capitalize }}|{{ s | length }}|{{ xs | length }}|{{ d | length }}",
        data}},
      {"list_filters",
       {"{{ xs | first }}{{ xs | last }}{{ xs | reverse | list }}{{ xs | join(', ') }}{{ [3, 1, 2] "
        "| sort }}"
        "{{ ['b', 'A', 'c'] | sort }}{{ [3, 1, 2] | sort(reverse=true) }}{{ [1, 2, 1, 3] | unique "
        "| list }}",
        data}},
      {"attribute_filters",
       {"{{ items | selectattr('ok') | map(attribute='n') | join }}|{{ items | rejectattr('ok') | "
        "map(attribute='name') "
        "| join }}|{{ items | sort(attribute='n') | map(attribute='name') | join }}|{{ messages | "
        "selectattr('role', "
        "'equalto', 'user') | list | length }}|{{ items | sort(attribute='name') | "
        "map(attribute='n') | join }}",
        data}},
      {"dict_filters",
       {"{{ d | items | list }}{{ d | dictsort }}{{ d.get('a') }}{{ d.get('zz', 'dflt') }}{{ "
        "d.keys() | join }}"
        "{{ d.values() | list }}",
        data}},
      {"tojson",
       {"{{ d | tojson }}|{{ s | tojson }}|{{ {'k': [1, 2.5, none, true]} | tojson(indent=2) }}|{{ "
        "'é🎥\"\\n' | "
        "tojson(ensure_ascii=true) }}|{{ d | tojson(sort_keys=true) }}|{{ xs | "
        "tojson(separators=(',', ':')) }}",
        data}},
      {"default",
       {"{{ missing | default('x') }}|{{ n | default('y') }}|{{ '' | default('z', true) }}|{{ s | "
        "default('w') }}",
        data}},
      {"numbers_to_strings",
       {"{{ '42' | int + 1 }}|{{ '3.5' | float }}|{{ 2.7 | int }}|{{ 3 | float }}|{{ 1.5 | string "
        "}}",
        data}},
      {"tests",
       {"{{ s is string }}{{ s is defined }}{{ zz is undefined }}{{ zz is defined }}{{ n is none "
        "}}{{ 3 is odd }}"
        "{{ 4 is even }}{{ d is mapping }}{{ xs is iterable }}{{ 1 is number }}{{ 1.5 is integer "
        "}}{{ range is "
        "callable }}{{ t is true }}{{ f is false }}{{ t is boolean }}{{ 'abc' is lower }}{{ 'ABC' "
        "is upper }}"
        "{{ n is not none }}",
        data}},
      {"membership",
       {"{{ 'ell' in 'hello' }}{{ 2 in xs }}{{ 'a' in d }}{{ 'z' not in d }}{{ 'x' in zz }}",
        data}},
      {"string_methods",
       {"{{ s.startswith('hé') }}{{ s.endswith(('x', 'ld')) }}{{ 'a,b,,c'.split(',') }}{{ 'a b  "
        "c'.split() }}"
        "{{ 'a-b-c'.split('-', 1) }}{{ 'aaa'.replace('a', 'b', 2) }}{{ '  x  '.strip() }}{{ "
        "'Hi'.upper() }}"
        "{{ 'x y'.title() }}{{ '</think>\\n\\nanswer'.split('</think>')[-1] }}",
        data}},
      {"ternaries",
       {"{{ 'y' if t else 'n' }}{{ 'only' if f }}{{ 'a' if n else 'b' if t else 'c' }}", data}},
      {"arithmetic",
       {"{{ 7 // 2 }} {{ 7 % 3 }} {{ 2 ** 10 }} {{ 7 / 2 }} {{ 1 + 2.5 }} {{ -3 + 1 }} {{ 3 * 4 }} "
        "{{ 4 / 2 }} "
        "{{ 0.1 + 0.2 }} {{ 1 - 0.5 }} {{ -xs[0] }}",
        data}},
      {"comparisons",
       {"{{ 1 < 2 }}{{ 2 >= 2 }}{{ 'a' == 'a' }}{{ 1 != 2 }}{{ 1 == 1.0 }}{{ xs | length > 2 }}",
        data}},
      {"logic",
       {"{{ xs and 'yes' }}|{{ e or 'empty' }}|{{ not t }}|{{ t and not f }}|{{ n or 'none' }}",
        data}},
      {"printing",
       {"[{{ none }}][{{ zz }}][{{ t }}][{{ f }}][{{ {'a': 1, 'b': [1, 'x']} }}][{{ [1, none] "
        "}}][{{ 2.0 }}]",
        data}},
      {"string_escapes",
       {"{{ 'a\\tb\\n' }}{{ \"\\u00e9\\x41\" }}{{ '\\'q\\'' }}{{ \"\\\"\" }}", data}},
      {"whitespace_control",
       {"a  {%- if true -%}  b  {%- endif -%}  c|{{- ' x ' -}}|  {#- comment -#}  |{# plain #}",
        data}},
      {"trim_and_lstrip_blocks",
       {"line1\n    {% if true %}\nyes\n\t{% endif %}\nline2\n  {# note #}\nline3\n{% for x in xs "
        "%}\n{{ x }}\n{% endfor %}\n",
        data}},
      {"generation_tags",
       {"A {% generation %} B {% endgeneration %} C|D {%- generation -%} E {%- endgeneration -%} F",
        data}},
      {"macros",
       {"{% macro greet(name, punct='!') %}Hi {{ name }}{{ punct }}{% endmacro %}{{ greet('Ann') "
        "}} "
        "{{ greet('Bob', punct='?') }} {{ greet(name='Cy') }}",
        data}},
      {"macro_varargs",
       {"{% macro m(a) %}{{ a }}{{ varargs }}{{ kwargs }}{% endmacro %}{{ m(1, 2, 3, k='v') }}",
        data}},
      {"set_block_and_tuples",
       {"{% set x %}inner {{ 1 }}{% endset %}[{{ x }}]{% set a, b = [1, 2] %}{{ a }}{{ b }}",
        data}},
      {"filter_block", {"{% filter upper %}hello {{ s }}{% endfilter %}", data}},
      {"if_chains",
       {"{% if f %}A{% elif n %}B{% elif t %}C{% else %}D{% endif %}{% if e %}E{% else %}F{% endif "
        "%}",
        data}},
      {"range_and_spread",
       {"{{ range(3) | join('-') }}{{ range(1, 10, 3) }}{{ range(*[1, 4]) | list }}{{ "
        "namespace(**{'a': 1}).a }}",
        data}},
      {"indent", {"{{ 'a\\nb\\n\\nc' | indent(2) }}|{{ 'a\\nb' | indent(2, true) }}", data}},
      // Not printing a tuple: the reference cannot ("Cannot convert to JSON: TupleValue").
      {"list_concat", {"{{ [1, 2] + [3] }}{{ (1, 2)[1] }}{{ (1, 2) | length }}", data}},
      {"raise_exception",
       {"{% if r != 'user' %}{{ raise_exception('Unexpected role: ' + r) }}{% endif %}", data}},
  };
}

std::string kind_name(llm::TemplateError::Kind kind) {
  return llm::jinja::to_string(kind);
}

TEST(ChatTemplateReference, RealTemplatesMatchHuggingFaceJinja) {
  ASSERT_EQ(missing_reference(), "");
  std::vector<Case> cases;
  std::map<std::string, size_t> cases_per_group;
  for (Subject& subject : subjects()) {
    for (const auto& set : subject.conversation_sets) {
      for (const Conversation& conversation : set) {
        Case c;
        c.group = subject.name;
        c.name = conversation.name;
        c.template_source =
            subject.chat_template.get(subject.chat_template.names().front()).source();
        c.variables = subject.chat_template.variables(conversation.inputs);
        try {
          c.text = subject.chat_template.render(conversation.inputs);
          c.ok = true;
        } catch (const llm::TemplateError& error) {
          c.error_kind = error.kind();
          c.error = error.message();
        }
        ++cases_per_group[c.group];
        cases.push_back(std::move(c));
      }
    }
  }
  for (const auto& [name, construct] : constructs()) {
    Case c;
    c.group = "constructs";
    c.name = name;
    c.template_source = construct.first;
    c.variables = json::parse(construct.second);
    try {
      c.text = llm::jinja::Template(c.template_source, name).render(c.variables);
      c.ok = true;
    } catch (const llm::TemplateError& error) {
      c.error_kind = error.kind();
      c.error = error.message();
    }
    ++cases_per_group[c.group];
    cases.push_back(std::move(c));
  }

  std::vector<ReferenceCase> requests;
  for (const Case& c : cases) requests.push_back({c.template_source, c.variables});
  const std::vector<ReferenceResult> reference = render_with_reference(requests);
  ASSERT_EQ(reference.size(), cases.size());

  size_t mismatches = 0;
  size_t raised = 0;
  std::ostringstream report;
  for (size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    const ReferenceResult& r = reference[i];
    bool same = false;
    if (c.ok && r.ok) {
      same = c.text == r.text;
    } else if (!c.ok && !r.ok) {
      // Both refuse: the template's own raise_exception message must be the same.
      same = c.error_kind == llm::TemplateError::Kind::kRaised && c.error == r.error;
      if (same) ++raised;
    }
    if (same) continue;
    ++mismatches;
    report << "\n[" << c.group << " / " << c.name << "]\n  @huggingface/jinja: "
           << (r.ok ? "\"" + escape_for_report(r.text) + "\"" : "error: " + r.error)
           << "\n  vigil:              "
           << (c.ok ? "\"" + escape_for_report(c.text) + "\""
                    : kind_name(c.error_kind) + ": " + c.error)
           << "\n";
  }
  std::cout << "golden cases: " << cases.size() << " (" << raised
            << " raised the same error), mismatches: " << mismatches << "\n";
  for (const auto& [group, count] : cases_per_group)
    std::cout << "  " << group << ": " << count << "\n";
  EXPECT_EQ(mismatches, 0u) << report.str();
}

}  // namespace
}  // namespace vigil::testing::chat

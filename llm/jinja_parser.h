// The chat-template parser: tokens become a syntax tree, with the grammar and operator
// precedence of @huggingface/jinja (itself Jinja2's, for what chat templates use): statements
// set, if/elif/else, for/else (with loop filters), break, continue, macro, filter blocks;
// expressions with literals, lists, tuples, dicts, member access, slices, calls with keyword
// and spread arguments, filters, tests, ternaries, not/and/or, in/not in, comparisons,
// arithmetic, ~ and **.
#pragma once

#include <vector>

#include "llm/jinja_ast.h"
#include "llm/jinja_lexer.h"
#include "llm/jinja_source.h"

namespace vigil::llm::jinja {

// Throws TemplateError: kSyntax at the offending token (unexpected or missing tokens, a tag
// never closed, break outside a loop, a bad assignment target), kUnsupported for Jinja2
// statements this engine lacks (include, extends, block, import, call, raw, ...), kLimit for
// nesting deeper than 200.
Program parse(const std::vector<Token>& tokens, const SourceText& source);

}  // namespace vigil::llm::jinja

#include "llm/jinja_parser.h"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <initializer_list>
#include <string>
#include <utility>

namespace vigil::llm::jinja {
namespace {

constexpr int kMaxNesting = 200;

using Type = Token::Type;

bool contains(std::initializer_list<const char*> names, const std::string& name) {
  return std::any_of(names.begin(), names.end(), [&name](const char* n) { return name == n; });
}

template <typename T>
T& as(NodePtr& node) {
  return static_cast<T&>(*node);
}

class Parser {
 public:
  Parser(const std::vector<Token>& tokens, const SourceText& source)
      : tokens_(tokens), source_(source) {}

  Program run() {
    Program program;
    while (current_ < tokens_.size()) program.body.push_back(parse_any(""));
    return program;
  }

 private:
  // ---- token access --------------------------------------------------------------------
  bool at_end() const { return current_ >= tokens_.size(); }
  const Token* peek(size_t ahead = 0) const {
    return current_ + ahead < tokens_.size() ? &tokens_[current_ + ahead] : nullptr;
  }
  bool is(Type type) const { return peek() && peek()->type == type; }
  bool is_identifier(const char* name, size_t ahead = 0) const {
    const Token* token = peek(ahead);
    return token && token->type == Type::kIdentifier && token->value == name;
  }
  bool is_statement(std::initializer_list<const char*> names) const {
    const Token* open = peek();
    const Token* name = peek(1);
    return open && open->type == Type::kOpenStatement && name && name->type == Type::kIdentifier &&
           contains(names, name->value);
  }
  size_t here() const { return at_end() ? source_.text().size() : tokens_[current_].offset; }

  std::string describe_current() const {
    if (at_end()) return "the end of the template";
    const Token& token = tokens_[current_];
    switch (token.type) {
      case Type::kText:
        return "text";
      case Type::kComment:
        return "a comment";
      case Type::kStringLiteral:
        return "string '" + token.value + "'";
      case Type::kIdentifier:
        return "'" + token.value + "'";
      default:
        return "'" + token.value + "'";
    }
  }

  [[noreturn]] void fail(const std::string& message) const {
    source_.fail(TemplateError::Kind::kSyntax, message, here());
  }
  [[noreturn]] void fail_at(TemplateError::Kind kind, const std::string& message, size_t at) const {
    source_.fail(kind, message, at);
  }

  const Token& expect(Type type, const std::string& what) {
    if (!is(type)) fail("expected " + what + ", found " + describe_current());
    return tokens_[current_++];
  }
  void expect_identifier(const char* name) {
    if (!is_identifier(name))
      fail(std::string("expected '") + name + "', found " + describe_current());
    ++current_;
  }
  void expect_end_tag(const char* name) {
    expect(Type::kOpenStatement, std::string("'{% ") + name + " %}'");
    expect_identifier(name);
    expect(Type::kCloseStatement, "'%}'");
  }

  // Counts nesting so that hostile templates cannot overflow the stack.
  struct NestingGuard {
    NestingGuard(Parser& parser) : parser_(parser) {
      if (++parser_.nesting_ > kMaxNesting) {
        parser_.fail_at(TemplateError::Kind::kLimit,
                        "the template nests more than " + std::to_string(kMaxNesting) + " levels",
                        parser_.here());
      }
    }
    ~NestingGuard() { --parser_.nesting_; }
    Parser& parser_;
  };

  // ---- statements ----------------------------------------------------------------------
  NodePtr parse_any(const char* closing) {
    if (at_end()) {
      fail(std::string("unexpected end of template") +
           (closing[0] != '\0' ? std::string(": missing '{% ") + closing + " %}'" : ""));
    }
    const Token& token = tokens_[current_];
    switch (token.type) {
      case Type::kComment:
        ++current_;
        return std::make_unique<CommentNode>(token.offset);
      case Type::kText:
        ++current_;
        return std::make_unique<TextNode>(token.offset, token.value);
      case Type::kOpenStatement:
        return parse_statement();
      case Type::kOpenExpression: {
        ++current_;
        NodePtr expression = parse_expression();
        expect(Type::kCloseExpression, "'}}'");
        return expression;
      }
      default:
        fail("unexpected " + describe_current() + " outside a tag");
    }
  }

  Block parse_block(std::initializer_list<const char*> ends, const char* closing) {
    Block block;
    while (!is_statement(ends)) block.push_back(parse_any(closing));
    return block;
  }

  NodePtr parse_statement() {
    NestingGuard guard(*this);
    const size_t start = here();
    ++current_;  // {%
    if (!is(Type::kIdentifier))
      fail("expected a statement name after '{%', found " + describe_current());
    const std::string name = tokens_[current_].value;
    if (name == "set") {
      ++current_;
      return parse_set(start);
    }
    if (name == "if") {
      ++current_;
      NodePtr node = parse_if(start);
      expect_end_tag("endif");
      return node;
    }
    if (name == "for") {
      ++current_;
      NodePtr node = parse_for(start);
      expect_end_tag("endfor");
      return node;
    }
    if (name == "macro") {
      ++current_;
      NodePtr node = parse_macro(start);
      expect_end_tag("endmacro");
      return node;
    }
    if (name == "filter") {
      ++current_;
      return parse_filter_block(start);
    }
    if (name == "break" || name == "continue") {
      if (loop_depth_ == 0)
        fail_at(TemplateError::Kind::kSyntax, "'{% " + name + " %}' outside a loop", start);
      ++current_;
      expect(Type::kCloseStatement, "'%}'");
      return std::make_unique<Node>(name == "break" ? NodeKind::kBreak : NodeKind::kContinue,
                                    start);
    }
    if (contains({"call", "include", "import", "from", "extends", "block", "raw", "with",
                  "autoescape", "do", "trans"},
                 name)) {
      fail_at(TemplateError::Kind::kUnsupported,
              "the '{% " + name + " %}' statement is not supported", start);
    }
    if (contains({"elif", "else", "endif", "endfor", "endmacro", "endset", "endfilter"}, name)) {
      fail_at(TemplateError::Kind::kSyntax,
              "unexpected '{% " + name + " %}' without an opening statement", start);
    }
    fail_at(TemplateError::Kind::kSyntax, "unknown statement '" + name + "'", start);
  }

  NodePtr parse_set(size_t start) {
    auto node = std::make_unique<SetNode>(start);
    node->target = parse_expression_sequence(false);
    check_assignable(*node->target);
    if (is(Type::kEquals)) {
      ++current_;
      node->value = parse_expression_sequence(false);
    } else {
      expect(Type::kCloseStatement, "'=' or '%}'");
      node->body = parse_block({"endset"}, "endset");
      expect(Type::kOpenStatement, "'{%'");
      expect_identifier("endset");
    }
    expect(Type::kCloseStatement, "'%}'");
    return node;
  }

  void check_assignable(const Node& target) const {
    if (target.kind == NodeKind::kIdentifier) return;
    if (target.kind == NodeKind::kMember && !static_cast<const MemberNode&>(target).computed)
      return;
    if (target.kind == NodeKind::kListLiteral &&
        static_cast<const ListLiteralNode&>(target).tuple) {
      for (const NodePtr& item : static_cast<const ListLiteralNode&>(target).items) {
        if (item->kind != NodeKind::kIdentifier) {
          fail_at(TemplateError::Kind::kSyntax, "can only unpack into names", item->offset);
        }
      }
      return;
    }
    fail_at(TemplateError::Kind::kSyntax, "cannot assign to this expression", target.offset);
  }

  NodePtr parse_if(size_t start) {
    auto node = std::make_unique<IfNode>(start);
    node->test = parse_expression();
    expect(Type::kCloseStatement, "'%}'");
    node->body = parse_block({"elif", "else", "endif"}, "endif");
    if (is_statement({"elif"})) {
      const size_t elif_start = here();
      current_ += 2;
      node->alternate.push_back(parse_if(elif_start));
    } else if (is_statement({"else"})) {
      current_ += 2;
      expect(Type::kCloseStatement, "'%}'");
      node->alternate = parse_block({"endif"}, "endif");
    }
    return node;
  }

  NodePtr parse_for(size_t start) {
    auto node = std::make_unique<ForNode>(start);
    node->target = parse_expression_sequence(true);
    const bool valid_target =
        node->target->kind == NodeKind::kIdentifier ||
        (node->target->kind == NodeKind::kListLiteral && as<ListLiteralNode>(node->target).tuple);
    if (!valid_target)
      fail_at(TemplateError::Kind::kSyntax, "expected a name or names to loop over",
              node->target->offset);
    check_assignable(*node->target);
    if (!is_identifier("in"))
      fail("expected 'in' after the loop variable, found " + describe_current());
    ++current_;
    node->iterable = parse_expression();
    expect(Type::kCloseStatement, "'%}'");
    ++loop_depth_;
    node->body = parse_block({"endfor", "else"}, "endfor");
    --loop_depth_;
    if (is_statement({"else"})) {
      current_ += 2;
      expect(Type::kCloseStatement, "'%}'");
      node->else_body = parse_block({"endfor"}, "endfor");
    }
    return node;
  }

  NodePtr parse_macro(size_t start) {
    auto node = std::make_unique<MacroNode>(start);
    if (!is(Type::kIdentifier)) fail("expected the macro's name, found " + describe_current());
    node->name = tokens_[current_++].value;
    for (NodePtr& argument : parse_arguments(/*parameters=*/true)) {
      if (argument->kind == NodeKind::kIdentifier) {
        node->parameters.push_back({as<IdentifierNode>(argument).name, nullptr});
      } else {
        auto& keyword = as<KeywordArgumentNode>(argument);
        node->parameters.push_back({keyword.name, std::move(keyword.value)});
      }
    }
    expect(Type::kCloseStatement, "'%}'");
    const int outer_loop_depth = loop_depth_;
    loop_depth_ = 0;
    node->body = parse_block({"endmacro"}, "endmacro");
    loop_depth_ = outer_loop_depth;
    walk(node->body, [&node](const Node& n) {
      if (n.kind != NodeKind::kIdentifier) return;
      const std::string& name = static_cast<const IdentifierNode&>(n).name;
      if (name == "varargs") node->uses_varargs = true;
      if (name == "kwargs") node->uses_kwargs = true;
    });
    return node;
  }

  NodePtr parse_filter_block(size_t start) {
    auto node = std::make_unique<FilterBlockNode>(start);
    if (!is(Type::kIdentifier)) fail("expected a filter name, found " + describe_current());
    node->name = tokens_[current_++].value;
    if (is(Type::kOpenParen)) node->arguments = parse_arguments(false);
    expect(Type::kCloseStatement, "'%}'");
    node->body = parse_block({"endfilter"}, "endfilter");
    expect_end_tag("endfilter");
    return node;
  }

  // ---- expressions ---------------------------------------------------------------------
  NodePtr parse_expression_sequence(bool primary) {
    const size_t start = here();
    NodePtr first = primary ? parse_primary() : parse_expression();
    if (!is(Type::kComma)) return first;
    auto tuple = std::make_unique<ListLiteralNode>(start, true);
    tuple->items.push_back(std::move(first));
    while (is(Type::kComma)) {
      ++current_;
      tuple->items.push_back(primary ? parse_primary() : parse_expression());
    }
    return tuple;
  }

  NodePtr parse_expression() {
    NestingGuard guard(*this);
    const size_t start = here();
    NodePtr value = parse_or();
    if (!is_identifier("if")) return value;
    ++current_;
    NodePtr condition = parse_or();
    if (is_identifier("else")) {
      ++current_;
      auto node = std::make_unique<TernaryNode>(start);
      node->condition = std::move(condition);
      node->if_true = std::move(value);
      node->if_false = parse_expression();
      return node;
    }
    auto node = std::make_unique<SelectNode>(start);
    node->value = std::move(value);
    node->condition = std::move(condition);
    return node;
  }

  NodePtr binary(size_t start, std::string op, NodePtr left, NodePtr right) {
    auto node = std::make_unique<BinaryNode>(start, std::move(op));
    node->left = std::move(left);
    node->right = std::move(right);
    return node;
  }

  NodePtr parse_or() {
    const size_t start = here();
    NodePtr left = parse_and();
    while (is_identifier("or")) {
      ++current_;
      left = binary(start, "or", std::move(left), parse_and());
    }
    return left;
  }

  NodePtr parse_and() {
    const size_t start = here();
    NodePtr left = parse_not();
    while (is_identifier("and")) {
      ++current_;
      left = binary(start, "and", std::move(left), parse_not());
    }
    return left;
  }

  NodePtr parse_not() {
    if (!is_identifier("not")) return parse_comparison();
    NestingGuard guard(*this);
    auto node = std::make_unique<UnaryNode>(here(), "not");
    ++current_;
    node->operand = parse_not();
    return node;
  }

  NodePtr parse_comparison() {
    const size_t start = here();
    NodePtr left = parse_additive();
    while (true) {
      std::string op;
      if (is_identifier("not") && is_identifier("in", 1)) {
        op = "not in";
        current_ += 2;
      } else if (is_identifier("in")) {
        op = "in";
        ++current_;
      } else if (is(Type::kComparisonOperator)) {
        op = tokens_[current_++].value;
      } else {
        return left;
      }
      left = binary(start, op, std::move(left), parse_additive());
    }
  }

  NodePtr parse_additive() {
    const size_t start = here();
    NodePtr left = parse_multiplicative();
    while (is(Type::kAdditiveOperator)) {
      const std::string op = tokens_[current_++].value;
      left = binary(start, op, std::move(left), parse_multiplicative());
    }
    return left;
  }

  NodePtr parse_multiplicative() {
    const size_t start = here();
    NodePtr left = parse_power();
    while (is(Type::kMultiplicativeOperator)) {
      const std::string op = tokens_[current_++].value;
      left = binary(start, op, std::move(left), parse_power());
    }
    return left;
  }

  NodePtr parse_power() {
    const size_t start = here();
    NodePtr left = parse_test();
    while (is(Type::kExponentOperator)) {
      ++current_;
      left = binary(start, "**", std::move(left), parse_test());
    }
    return left;
  }

  NodePtr parse_test() {
    const size_t start = here();
    NodePtr operand = parse_filter();
    while (is_identifier("is")) {
      ++current_;
      const bool negate = is_identifier("not");
      if (negate) ++current_;
      if (!is(Type::kIdentifier))
        fail("expected a test name after 'is', found " + describe_current());
      auto node = std::make_unique<TestNode>(start, tokens_[current_++].value);
      node->operand = std::move(operand);
      node->negate = negate;
      if (is(Type::kOpenParen)) node->arguments = parse_arguments(false);
      operand = std::move(node);
    }
    return operand;
  }

  NodePtr parse_filter() {
    const size_t start = here();
    NodePtr operand = parse_unary_sign();
    while (is(Type::kPipe)) {
      ++current_;
      if (!is(Type::kIdentifier))
        fail("expected a filter name after '|', found " + describe_current());
      auto node = std::make_unique<FilterNode>(start, tokens_[current_++].value);
      node->operand = std::move(operand);
      if (is(Type::kOpenParen)) node->arguments = parse_arguments(false);
      operand = std::move(node);
    }
    return operand;
  }

  NodePtr parse_unary_sign() {
    const Token* token = peek();
    if (token && (token->type == Type::kUnaryOperator || token->type == Type::kAdditiveOperator) &&
        (token->value == "-" || token->value == "+")) {
      NestingGuard guard(*this);
      auto node = std::make_unique<UnaryNode>(token->offset, token->value);
      ++current_;
      node->operand = parse_unary_sign();
      return node;
    }
    NodePtr member = parse_member(parse_primary());
    return is(Type::kOpenParen) ? parse_call(std::move(member)) : std::move(member);
  }

  NodePtr parse_call(NodePtr callee) {
    auto call = std::make_unique<CallNode>(callee->offset);
    call->callee = std::move(callee);
    call->arguments = parse_arguments(false);
    NodePtr expression = parse_member(std::move(call));
    return is(Type::kOpenParen) ? parse_call(std::move(expression)) : std::move(expression);
  }

  // (a, b=1, *rest, **options); parameters = a macro's declaration.
  std::vector<NodePtr> parse_arguments(bool parameters) {
    expect(Type::kOpenParen, "'('");
    std::vector<NodePtr> arguments;
    bool saw_keyword = false;
    bool saw_spread = false;
    std::vector<std::string> names;
    while (!is(Type::kCloseParen)) {
      if (at_end()) fail("unexpected end of template: missing ')'");
      const size_t start = here();
      const bool keyword_spread = is(Type::kExponentOperator);
      const bool spread = is(Type::kMultiplicativeOperator) && tokens_[current_].value == "*";
      if (parameters && (keyword_spread || spread))
        fail("argument unpacking is not allowed in a macro's parameters");
      if (keyword_spread) {
        ++current_;
        auto node = std::make_unique<SpreadNode>(start, true);
        node->value = parse_expression();
        arguments.push_back(std::move(node));
        if (is(Type::kComma)) ++current_;
        if (!is(Type::kCloseParen)) fail("'**' must be applied to the last argument");
        break;
      }
      NodePtr argument;
      if (spread) {
        if (saw_spread) fail("only one '*' argument unpacking is allowed");
        saw_spread = true;
        ++current_;
        auto node = std::make_unique<SpreadNode>(start, false);
        node->value = parse_expression();
        argument = std::move(node);
      } else {
        argument = parse_expression();
        if (is(Type::kEquals)) {
          ++current_;
          if (argument->kind != NodeKind::kIdentifier) {
            fail_at(TemplateError::Kind::kSyntax,
                    parameters ? "expected a parameter name before '='"
                               : "expected a keyword name before '='",
                    argument->offset);
          }
          auto keyword =
              std::make_unique<KeywordArgumentNode>(start, as<IdentifierNode>(argument).name);
          keyword->value = parse_expression();
          argument = std::move(keyword);
        }
        if (parameters) {
          if (argument->kind != NodeKind::kIdentifier &&
              argument->kind != NodeKind::kKeywordArgument) {
            fail_at(TemplateError::Kind::kSyntax, "expected a parameter name", argument->offset);
          }
          const std::string& name = argument->kind == NodeKind::kIdentifier
                                        ? as<IdentifierNode>(argument).name
                                        : as<KeywordArgumentNode>(argument).name;
          if (std::find(names.begin(), names.end(), name) != names.end()) {
            fail_at(TemplateError::Kind::kSyntax, "duplicate parameter '" + name + "'",
                    argument->offset);
          }
          names.push_back(name);
        }
        if (argument->kind == NodeKind::kKeywordArgument) {
          saw_keyword = true;
        } else if (saw_keyword) {
          fail_at(TemplateError::Kind::kSyntax,
                  parameters ? "a parameter without a default follows one with a default"
                             : "a positional argument follows a keyword argument",
                  argument->offset);
        } else if (saw_spread) {
          fail_at(TemplateError::Kind::kSyntax, "a positional argument follows '*' unpacking",
                  argument->offset);
        }
      }
      arguments.push_back(std::move(argument));
      if (is(Type::kComma)) {
        ++current_;
      } else if (!is(Type::kCloseParen)) {
        fail("expected ',' or ')' in the argument list, found " + describe_current());
      }
    }
    expect(Type::kCloseParen, "')'");
    return arguments;
  }

  NodePtr parse_member(NodePtr object) {
    while (is(Type::kDot) || is(Type::kOpenSquareBracket)) {
      const bool computed = is(Type::kOpenSquareBracket);
      ++current_;
      auto member = std::make_unique<MemberNode>(object->offset);
      member->computed = computed;
      member->object = std::move(object);
      if (computed) {
        member->property = parse_subscript();
        expect(Type::kCloseSquareBracket, "']'");
      } else {
        member->property = parse_primary();
        if (member->property->kind != NodeKind::kIdentifier &&
            member->property->kind != NodeKind::kIntegerLiteral) {
          fail_at(TemplateError::Kind::kSyntax, "expected a name or an integer after '.'",
                  member->property->offset);
        }
      }
      object = std::move(member);
    }
    return object;
  }

  // Inside [ ]: an index or a slice start:stop:step with any part left out.
  NodePtr parse_subscript() {
    const size_t start = here();
    std::vector<NodePtr> parts;
    bool slice = false;
    while (!is(Type::kCloseSquareBracket)) {
      if (at_end()) fail("unexpected end of template: missing ']'");
      if (is(Type::kColon)) {
        parts.push_back(nullptr);
        ++current_;
        slice = true;
      } else {
        parts.push_back(parse_expression());
        if (is(Type::kColon)) {
          ++current_;
          slice = true;
        } else if (!is(Type::kCloseSquareBracket)) {
          fail("expected ':' or ']', found " + describe_current());
        }
      }
    }
    if (parts.empty()) fail("expected an index or a slice inside '[]'");
    if (!slice) return std::move(parts[0]);
    if (parts.size() > 3) fail("a slice has at most three parts (start:stop:step)");
    auto node = std::make_unique<SliceNode>(start);
    node->start = std::move(parts[0]);
    if (parts.size() > 1) node->stop = std::move(parts[1]);
    if (parts.size() > 2) node->step = std::move(parts[2]);
    return node;
  }

  NodePtr parse_number(const Token& token) {
    std::string text = token.value;
    if (!text.empty() && text[0] == '+') text.erase(0, 1);
    if (text.find('.') == std::string::npos) {
      int64_t value = 0;
      const auto result = std::from_chars(text.data(), text.data() + text.size(), value);
      if (result.ec == std::errc() && result.ptr == text.data() + text.size()) {
        return std::make_unique<IntegerLiteralNode>(token.offset, value);
      }
    }
    return std::make_unique<FloatLiteralNode>(token.offset, std::strtod(text.c_str(), nullptr));
  }

  NodePtr parse_primary() {
    NestingGuard guard(*this);
    if (at_end()) fail("unexpected end of template: an expression is missing");
    const Token& token = tokens_[current_++];
    switch (token.type) {
      case Type::kNumericLiteral:
        return parse_number(token);
      case Type::kStringLiteral: {
        std::string value = token.value;
        while (is(Type::kStringLiteral)) value += tokens_[current_++].value;
        return std::make_unique<StringLiteralNode>(token.offset, std::move(value));
      }
      case Type::kIdentifier:
        return std::make_unique<IdentifierNode>(token.offset, token.value);
      case Type::kOpenParen: {
        NodePtr expression = parse_expression_sequence(false);
        expect(Type::kCloseParen, "')'");
        return expression;
      }
      case Type::kOpenSquareBracket: {
        auto list = std::make_unique<ListLiteralNode>(token.offset, false);
        while (!is(Type::kCloseSquareBracket)) {
          if (at_end()) fail("unexpected end of template: missing ']'");
          list->items.push_back(parse_expression());
          if (is(Type::kComma)) {
            ++current_;
          } else if (!is(Type::kCloseSquareBracket)) {
            fail("expected ',' or ']' in the list, found " + describe_current());
          }
        }
        ++current_;
        return list;
      }
      case Type::kOpenCurlyBracket: {
        auto dict = std::make_unique<DictLiteralNode>(token.offset);
        while (!is(Type::kCloseCurlyBracket)) {
          if (at_end()) fail("unexpected end of template: missing '}'");
          NodePtr key = parse_expression();
          expect(Type::kColon, "':' between a key and its value");
          NodePtr value = parse_expression();
          dict->entries.emplace_back(std::move(key), std::move(value));
          if (is(Type::kComma)) {
            ++current_;
          } else if (!is(Type::kCloseCurlyBracket)) {
            fail("expected ',' or '}' in the dict, found " + describe_current());
          }
        }
        ++current_;
        return dict;
      }
      default:
        --current_;
        fail("unexpected " + describe_current() + " where an expression should be");
    }
  }

  const std::vector<Token>& tokens_;
  const SourceText& source_;
  size_t current_ = 0;
  int nesting_ = 0;
  int loop_depth_ = 0;
};

}  // namespace

Program parse(const std::vector<Token>& tokens, const SourceText& source) {
  return Parser(tokens, source).run();
}

}  // namespace vigil::llm::jinja

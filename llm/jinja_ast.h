// The syntax tree of a chat template, as the parser builds it and the interpreter walks it.
// Statements and expressions share one node type: a block is a list of nodes, and an
// expression node in a block prints its value. Every node records the byte offset of its first
// token in the template as written, for error locations.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace vigil::llm::jinja {

enum class NodeKind {
  // statements
  kText,         // TextNode: template text, printed as is
  kComment,      // CommentNode
  kIf,           // IfNode
  kFor,          // ForNode
  kBreak,        // Node
  kContinue,     // Node
  kSet,          // SetNode
  kMacro,        // MacroNode
  kFilterBlock,  // FilterBlockNode: {% filter name(args) %}...{% endfilter %}
  // expressions
  kIntegerLiteral,   // IntegerLiteralNode
  kFloatLiteral,     // FloatLiteralNode
  kStringLiteral,    // StringLiteralNode
  kListLiteral,      // ListLiteralNode: [a, b] or a tuple (a, b)
  kDictLiteral,      // DictLiteralNode
  kIdentifier,       // IdentifierNode
  kMember,           // MemberNode: a.b, a[b], a[1:2]
  kSlice,            // SliceNode: only as a MemberNode's property
  kCall,             // CallNode: f(args)
  kUnary,            // UnaryNode: not x, -x, +x
  kBinary,           // BinaryNode: arithmetic, comparison, and/or, in, ~
  kFilter,           // FilterNode: x | name(args)
  kTest,             // TestNode: x is [not] name(args)
  kSelect,           // SelectNode: x if condition (no else: undefined when false)
  kTernary,          // TernaryNode: x if condition else y
  kKeywordArgument,  // KeywordArgumentNode: name=value in a call or a parameter list
  kSpread,           // SpreadNode: *list in a call
  kKeywordSpread,    // SpreadNode: **dict in a call
};

struct Node {
  Node(NodeKind node_kind, size_t source_offset) : kind(node_kind), offset(source_offset) {}
  virtual ~Node() = default;
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  const NodeKind kind;
  const size_t offset;
};

using NodePtr = std::unique_ptr<Node>;
using Block = std::vector<NodePtr>;

struct TextNode : Node {
  TextNode(size_t at, std::string value) : Node(NodeKind::kText, at), text(std::move(value)) {}
  std::string text;
};

struct CommentNode : Node {
  explicit CommentNode(size_t at) : Node(NodeKind::kComment, at) {}
};

struct IfNode : Node {
  explicit IfNode(size_t at) : Node(NodeKind::kIf, at) {}
  NodePtr test;
  Block body;
  Block alternate;  // the else branch; an elif is a nested IfNode here
};

struct ForNode : Node {
  explicit ForNode(size_t at) : Node(NodeKind::kFor, at) {}
  NodePtr target;    // IdentifierNode, or a tuple ListLiteralNode of them
  NodePtr iterable;  // a SelectNode when the loop filters: for x in xs if cond
  Block body;
  Block else_body;  // rendered when nothing was iterated
};

struct SetNode : Node {
  explicit SetNode(size_t at) : Node(NodeKind::kSet, at) {}
  NodePtr target;  // IdentifierNode, tuple of them, or MemberNode of a namespace
  NodePtr value;   // null for a block set: {% set x %}...{% endset %}
  Block body;
};

struct Parameter {
  std::string name;
  NodePtr default_value;  // may be null
};

struct MacroNode : Node {
  explicit MacroNode(size_t at) : Node(NodeKind::kMacro, at) {}
  std::string name;
  std::vector<Parameter> parameters;
  Block body;
  bool uses_varargs = false;  // the body reads `varargs`: extra positional arguments allowed
  bool uses_kwargs = false;   // the body reads `kwargs`: extra keyword arguments allowed
};

struct FilterBlockNode : Node {
  explicit FilterBlockNode(size_t at) : Node(NodeKind::kFilterBlock, at) {}
  std::string name;
  std::vector<NodePtr> arguments;
  Block body;
};

struct IntegerLiteralNode : Node {
  IntegerLiteralNode(size_t at, int64_t number)
      : Node(NodeKind::kIntegerLiteral, at), value(number) {}
  int64_t value;
};

struct FloatLiteralNode : Node {
  FloatLiteralNode(size_t at, double number) : Node(NodeKind::kFloatLiteral, at), value(number) {}
  double value;
};

struct StringLiteralNode : Node {
  StringLiteralNode(size_t at, std::string text)
      : Node(NodeKind::kStringLiteral, at), value(std::move(text)) {}
  std::string value;
};

struct ListLiteralNode : Node {
  ListLiteralNode(size_t at, bool is_tuple) : Node(NodeKind::kListLiteral, at), tuple(is_tuple) {}
  std::vector<NodePtr> items;
  bool tuple;
};

struct DictLiteralNode : Node {
  explicit DictLiteralNode(size_t at) : Node(NodeKind::kDictLiteral, at) {}
  std::vector<std::pair<NodePtr, NodePtr>> entries;
};

struct IdentifierNode : Node {
  IdentifierNode(size_t at, std::string identifier)
      : Node(NodeKind::kIdentifier, at), name(std::move(identifier)) {}
  std::string name;
};

struct MemberNode : Node {
  explicit MemberNode(size_t at) : Node(NodeKind::kMember, at) {}
  NodePtr object;
  NodePtr property;  // computed: any expression or a SliceNode; dotted: IdentifierNode or integer
  bool computed = false;
};

struct SliceNode : Node {
  explicit SliceNode(size_t at) : Node(NodeKind::kSlice, at) {}
  NodePtr start;  // each may be null
  NodePtr stop;
  NodePtr step;
};

struct CallNode : Node {
  explicit CallNode(size_t at) : Node(NodeKind::kCall, at) {}
  NodePtr callee;
  std::vector<NodePtr> arguments;  // expressions, KeywordArgumentNode, SpreadNode
};

struct UnaryNode : Node {
  UnaryNode(size_t at, std::string op) : Node(NodeKind::kUnary, at), operator_name(std::move(op)) {}
  std::string operator_name;  // "not", "-", "+"
  NodePtr operand;
};

struct BinaryNode : Node {
  BinaryNode(size_t at, std::string op)
      : Node(NodeKind::kBinary, at), operator_name(std::move(op)) {}
  std::string operator_name;  // "and" "or" "in" "not in" "==" "!=" "<" ... "+" "-" "~" "*" ...
  NodePtr left;
  NodePtr right;
};

struct FilterNode : Node {
  FilterNode(size_t at, std::string filter)
      : Node(NodeKind::kFilter, at), name(std::move(filter)) {}
  NodePtr operand;
  std::string name;
  std::vector<NodePtr> arguments;
};

struct TestNode : Node {
  TestNode(size_t at, std::string test) : Node(NodeKind::kTest, at), name(std::move(test)) {}
  NodePtr operand;
  std::string name;
  bool negate = false;
  std::vector<NodePtr> arguments;
};

struct SelectNode : Node {
  explicit SelectNode(size_t at) : Node(NodeKind::kSelect, at) {}
  NodePtr value;
  NodePtr condition;
};

struct TernaryNode : Node {
  explicit TernaryNode(size_t at) : Node(NodeKind::kTernary, at) {}
  NodePtr condition;
  NodePtr if_true;
  NodePtr if_false;
};

struct KeywordArgumentNode : Node {
  KeywordArgumentNode(size_t at, std::string key)
      : Node(NodeKind::kKeywordArgument, at), name(std::move(key)) {}
  std::string name;
  NodePtr value;
};

struct SpreadNode : Node {
  SpreadNode(size_t at, bool keywords)
      : Node(keywords ? NodeKind::kKeywordSpread : NodeKind::kSpread, at) {}
  NodePtr value;
};

struct Program {
  Block body;
};

}  // namespace vigil::llm::jinja

namespace vigil::llm::jinja {

// Calls visit on node and, depth first, on every node below it (blocks, operands, arguments).
void walk(const Node& node, const std::function<void(const Node&)>& visit);
void walk(const Block& block, const std::function<void(const Node&)>& visit);

}  // namespace vigil::llm::jinja

#include "llm/jinja_ast.h"

namespace vigil::llm::jinja {
namespace {

void walk_child(const NodePtr& child, const std::function<void(const Node&)>& visit) {
  if (child) walk(*child, visit);
}

void walk_all(const std::vector<NodePtr>& children, const std::function<void(const Node&)>& visit) {
  for (const NodePtr& child : children) walk_child(child, visit);
}

}  // namespace

void walk(const Block& block, const std::function<void(const Node&)>& visit) {
  walk_all(block, visit);
}

void walk(const Node& node, const std::function<void(const Node&)>& visit) {
  visit(node);
  switch (node.kind) {
    case NodeKind::kText:
    case NodeKind::kComment:
    case NodeKind::kBreak:
    case NodeKind::kContinue:
    case NodeKind::kIntegerLiteral:
    case NodeKind::kFloatLiteral:
    case NodeKind::kStringLiteral:
    case NodeKind::kIdentifier:
      return;
    case NodeKind::kIf: {
      const auto& n = static_cast<const IfNode&>(node);
      walk_child(n.test, visit);
      walk_all(n.body, visit);
      walk_all(n.alternate, visit);
      return;
    }
    case NodeKind::kFor: {
      const auto& n = static_cast<const ForNode&>(node);
      walk_child(n.target, visit);
      walk_child(n.iterable, visit);
      walk_all(n.body, visit);
      walk_all(n.else_body, visit);
      return;
    }
    case NodeKind::kSet: {
      const auto& n = static_cast<const SetNode&>(node);
      walk_child(n.target, visit);
      walk_child(n.value, visit);
      walk_all(n.body, visit);
      return;
    }
    case NodeKind::kMacro: {
      const auto& n = static_cast<const MacroNode&>(node);
      for (const Parameter& parameter : n.parameters) walk_child(parameter.default_value, visit);
      walk_all(n.body, visit);
      return;
    }
    case NodeKind::kFilterBlock: {
      const auto& n = static_cast<const FilterBlockNode&>(node);
      walk_all(n.arguments, visit);
      walk_all(n.body, visit);
      return;
    }
    case NodeKind::kListLiteral:
      walk_all(static_cast<const ListLiteralNode&>(node).items, visit);
      return;
    case NodeKind::kDictLiteral:
      for (const auto& [key, value] : static_cast<const DictLiteralNode&>(node).entries) {
        walk_child(key, visit);
        walk_child(value, visit);
      }
      return;
    case NodeKind::kMember: {
      const auto& n = static_cast<const MemberNode&>(node);
      walk_child(n.object, visit);
      walk_child(n.property, visit);
      return;
    }
    case NodeKind::kSlice: {
      const auto& n = static_cast<const SliceNode&>(node);
      walk_child(n.start, visit);
      walk_child(n.stop, visit);
      walk_child(n.step, visit);
      return;
    }
    case NodeKind::kCall: {
      const auto& n = static_cast<const CallNode&>(node);
      walk_child(n.callee, visit);
      walk_all(n.arguments, visit);
      return;
    }
    case NodeKind::kUnary:
      walk_child(static_cast<const UnaryNode&>(node).operand, visit);
      return;
    case NodeKind::kBinary: {
      const auto& n = static_cast<const BinaryNode&>(node);
      walk_child(n.left, visit);
      walk_child(n.right, visit);
      return;
    }
    case NodeKind::kFilter: {
      const auto& n = static_cast<const FilterNode&>(node);
      walk_child(n.operand, visit);
      walk_all(n.arguments, visit);
      return;
    }
    case NodeKind::kTest: {
      const auto& n = static_cast<const TestNode&>(node);
      walk_child(n.operand, visit);
      walk_all(n.arguments, visit);
      return;
    }
    case NodeKind::kSelect: {
      const auto& n = static_cast<const SelectNode&>(node);
      walk_child(n.value, visit);
      walk_child(n.condition, visit);
      return;
    }
    case NodeKind::kTernary: {
      const auto& n = static_cast<const TernaryNode&>(node);
      walk_child(n.condition, visit);
      walk_child(n.if_true, visit);
      walk_child(n.if_false, visit);
      return;
    }
    case NodeKind::kKeywordArgument:
      walk_child(static_cast<const KeywordArgumentNode&>(node).value, visit);
      return;
    case NodeKind::kSpread:
    case NodeKind::kKeywordSpread:
      walk_child(static_cast<const SpreadNode&>(node).value, visit);
      return;
  }
}

}  // namespace vigil::llm::jinja

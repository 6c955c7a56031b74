#include "llm/added_tokens.h"

#include <algorithm>
#include <cassert>
#include <cstring>

namespace vigil::llm {

AddedTokenMatcher::AddedTokenMatcher(const std::vector<const AddedToken*>& tokens) {
  for (const AddedToken* token : tokens) {
    assert(!token->content.empty());
    int32_t node = 0;
    for (const char c : token->content) {
      const auto byte = static_cast<uint8_t>(c);
      int32_t next = child(node, byte);
      if (next < 0) {
        next = static_cast<int32_t>(nodes_.size());
        nodes_.emplace_back();
        auto& children = nodes_[node].children;
        children.insert(std::lower_bound(children.begin(), children.end(), std::make_pair(byte, 0)),
                        {byte, next});
      }
      node = next;
    }
    nodes_[node].id = token->id;
    starts_[static_cast<uint8_t>(token->content[0])] = true;
  }
  if (std::count(starts_.begin(), starts_.end(), true) == 1) {
    only_start_ =
        static_cast<int>(std::find(starts_.begin(), starts_.end(), true) - starts_.begin());
  }
}

int32_t AddedTokenMatcher::child(int32_t node, uint8_t byte) const {
  for (const auto& [edge, next] : nodes_[node].children) {
    if (edge == byte) return next;
    if (edge > byte) break;
  }
  return -1;
}

AddedTokenMatcher::Match AddedTokenMatcher::find(std::string_view text, size_t from) const {
  if (empty()) return {};
  for (size_t begin = from; begin < text.size(); ++begin) {
    if (only_start_ >= 0) {
      const void* found = std::memchr(text.data() + begin, only_start_, text.size() - begin);
      if (!found) return {};
      begin = static_cast<size_t>(static_cast<const char*>(found) - text.data());
    } else if (!starts_[static_cast<uint8_t>(text[begin])]) {
      continue;
    }
    Match match;
    int32_t node = 0;
    for (size_t pos = begin; pos < text.size(); ++pos) {
      node = child(node, static_cast<uint8_t>(text[pos]));
      if (node < 0) break;
      if (nodes_[node].id >= 0) {
        match = Match{begin, pos + 1 - begin, nodes_[node].id};
      }
    }
    if (match.length > 0) return match;
  }
  return {};
}

}  // namespace vigil::llm

// The conversations the golden test renders with every real chat template: plain text
// (system + user, multi-turn, assistant prefill, unicode and template-like text), tools and
// tool calls, images and videos, and reasoning (<think>) turns.
#pragma once

#include <string>
#include <vector>

#include "llm/chat_template.h"

namespace vigil::testing::chat {

struct Conversation {
  std::string name;
  llm::ChatTemplateInputs inputs;
};

std::vector<Conversation> text_conversations();
std::vector<Conversation> tool_conversations();       // for templates with a tools branch
std::vector<Conversation> vision_conversations();     // image and video content parts
std::vector<Conversation> reasoning_conversations();  // Qwen3's reasoning_content and <think>

}  // namespace vigil::testing::chat

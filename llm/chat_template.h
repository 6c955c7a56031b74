// A model's chat template: turns a conversation (OpenAI-shaped messages, optional tools) into
// the prompt text the model was trained on. The checkpoint's own Jinja template where it ships
// one, else a documented built-in (chat_template_builtins.h).
//
// Where a checkpoint's template comes from, first found wins (as transformers' processors):
//   chat_template.jinja      the template text
//   chat_template.json       {"chat_template": "..."}
//   processor_config.json    {"chat_template": "..."}
//   tokenizer_config.json    {"chat_template": "..." | [{"name": ..., "template": ...}, ...]}
// tokenizer_config.json also gives the special tokens the template sees (bos_token, eos_token,
// pad_token, unk_token, ...), as transformers passes them.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "llm/chat_template_builtins.h"
#include "llm/jinja_error.h"
#include "llm/jinja_template.h"

namespace vigil::llm {

using jinja::TemplateError;

struct ChatTemplateInputs {
  // [{"role": "system"|"user"|"assistant"|"tool", "content": string | [part, ...] | null, ...}]
  // with parts {"type": "text", "text": ...}, {"type": "image"|"image_url"|"video"|"video_url",
  // ...}; other message fields (tool_calls, reasoning_content, name, ...) pass through.
  nlohmann::ordered_json messages = nlohmann::ordered_json::array();
  // Ends the prompt with the opening of an assistant turn.
  bool add_generation_prompt = false;
  // null, or the tool definitions ([{"type": "function", "function": {...}}, ...]).
  nlohmann::ordered_json tools;
  // null, or documents for retrieval-augmented templates.
  nlohmann::ordered_json documents;
  // More template variables, e.g. {"enable_thinking": false} or {"add_vision_id": true}.
  nlohmann::ordered_json variables = nlohmann::ordered_json::object();
  // Which of a checkpoint's named templates to use; empty: "tool_use" when tools are given and
  // the checkpoint has it, else "default" (or the only one).
  std::string template_name;
};

// Immutable after load; render is const and thread-safe.
class ChatTemplate {
 public:
  // The checkpoint folder's own template. Throws TemplateError: kLoad when the folder has none
  // or a file is unreadable or malformed (naming the file); kSyntax / kUnsupported when the
  // template cannot be parsed (line and column within the template text).
  static ChatTemplate load(const std::string& checkpoint_dir);
  // The same, but fallback's built-in when the folder has no template at all.
  static ChatTemplate load_or_builtin(const std::string& checkpoint_dir,
                                      BuiltinChatTemplate fallback);
  static ChatTemplate builtin(BuiltinChatTemplate which);
  // A template given as text (e.g. an API request's custom template).
  static ChatTemplate from_source(std::string source, std::string origin = "chat template");

  // The prompt text. Throws TemplateError: kInvalidInput for malformed inputs (naming the
  // message and field), kRaised when the template rejects the conversation (its own message),
  // kRuntime / kLimit when rendering fails.
  std::string render(const ChatTemplateInputs& inputs,
                     const jinja::RenderLimits& limits = {}) const;

  // The variables the template is rendered with: messages (normalised, see below), tools,
  // documents, add_generation_prompt, the special tokens, then inputs.variables.
  // Normalisation: content part types image_url and video_url become image and video (the
  // Hugging Face processors' names; other part fields are kept), and where the template loops
  // over message content (expects_content_parts), string content becomes one text part.
  nlohmann::ordered_json variables(const ChatTemplateInputs& inputs) const;

  // Whether the selected template iterates over message['content'] (like the LLaVA and
  // Qwen2-VL templates), so that string content is given to it as [{"type": "text", ...}].
  bool expects_content_parts(const std::string& template_name = "") const;

  // "<dir>/tokenizer_config.json", "builtin:chatml", ...
  const std::string& origin() const { return origin_; }
  // The template names: "default" for a single template.
  std::vector<std::string> names() const;
  const jinja::Template& get(const std::string& template_name) const;
  // {"eos_token": "<|im_end|>", ...} from tokenizer_config.json; empty for built-ins.
  const nlohmann::ordered_json& special_tokens() const { return special_tokens_; }

 private:
  struct Named {
    std::string name;
    jinja::Template compiled;
    bool content_parts;
  };
  ChatTemplate(std::vector<std::pair<std::string, std::string>> sources, std::string origin,
               nlohmann::ordered_json special_tokens);
  const Named& select(const ChatTemplateInputs& inputs) const;
  nlohmann::ordered_json variables_for(const Named& chosen, const ChatTemplateInputs& inputs) const;

  std::vector<Named> templates_;
  std::string origin_;
  nlohmann::ordered_json special_tokens_;
};

}  // namespace vigil::llm

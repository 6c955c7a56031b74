// The chat templates vigil uses when a checkpoint ships none, one per supported model family.
// Each is Jinja source rendered by the same engine as a checkpoint's own template.
//
//   chatml           Qwen2 / Qwen2.5 / Qwen3 text models: "<|im_start|>{role}\n{text}<|im_end|>\n"
//                    per message, no default system message; text parts of list content are
//                    concatenated; images, videos and tools are rejected (raise_exception).
//                    Generation prompt: "<|im_start|>assistant\n".
//   qwen2_vl         Qwen2-VL and Qwen2.5-VL: the template their Hugging Face checkpoints ship
//                    (chat_template.json, identical for both): a default system message
//                    "You are a helpful assistant." when the first message is not a system
//                    message; an image part writes <|vision_start|><|image_pad|><|vision_end|>,
//                    a video part <|vision_start|><|video_pad|><|vision_end|> ("Picture N: " /
//                    "Video N: " before them when add_vision_id is true).
//   llava_onevision  LLaVA-OneVision (Qwen2 LM), as reference/models.md A7: per message
//                    "<|im_start|>{role}\n", then "<image>\n" for each image part, "<video>\n"
//                    for each video part, then the text parts, then "<|im_end|>\n"; no default
//                    system message. The same output as the llava-hf checkpoints' template,
//                    also for plain-string content.
#pragma once

#include <optional>
#include <string>

namespace vigil::llm {

enum class BuiltinChatTemplate { kChatml, kQwen2Vl, kLlavaOnevision };

// The Jinja source of a built-in template.
const std::string& builtin_chat_template_source(BuiltinChatTemplate which);

// "chatml", "qwen2_vl", "llava_onevision".
const char* to_string(BuiltinChatTemplate which);

// The built-in for a config.json model_type: qwen2, qwen2_moe, qwen3 -> chatml; qwen2_vl,
// qwen2_5_vl -> qwen2_vl; llava_onevision -> llava_onevision. nullopt for other types.
std::optional<BuiltinChatTemplate> builtin_chat_template_for(const std::string& model_type);

}  // namespace vigil::llm

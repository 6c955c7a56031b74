#include "llm/chat_template_builtins.h"

namespace vigil::llm {
namespace {

const char* const kChatml = R"jinja({%- if tools -%}
    {{- raise_exception('the built-in chatml chat template does not render tools') -}}
{%- endif -%}
{%- for message in messages -%}
    {{- '<|im_start|>' + message['role'] + '\n' -}}
    {%- if message['content'] is string -%}
        {{- message['content'] -}}
    {%- elif message['content'] is defined and message['content'] is not none -%}
        {%- for part in message['content'] -%}
            {%- if part['type'] == 'text' -%}
                {{- part['text'] -}}
            {%- else -%}
                {{- raise_exception('the built-in chatml chat template renders text only, not ' ~ part['type']) -}}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {{- '<|im_end|>\n' -}}
{%- endfor -%}
{%- if add_generation_prompt -%}
    {{- '<|im_start|>assistant\n' -}}
{%- endif -%}
)jinja";

// Qwen/Qwen2-VL-7B-Instruct and Qwen/Qwen2.5-VL-7B-Instruct chat_template.json, verbatim
// (tests/fixtures/chat_templates/README.md names the sources).
const char* const kQwen2Vl =
    "{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}{% for "
    "message in "
    "messages %}{% if loop.first and message['role'] != 'system' %}<|im_start|>system\nYou are a "
    "helpful "
    "assistant.<|im_end|>\n{% endif %}<|im_start|>{{ message['role'] }}\n{% if message['content'] "
    "is string "
    "%}{{ message['content'] }}<|im_end|>\n{% else %}{% for content in message['content'] %}{% if "
    "content['type'] == 'image' or 'image' in content or 'image_url' in content %}{% set "
    "image_count.value "
    "= image_count.value + 1 %}{% if add_vision_id %}Picture {{ image_count.value }}: {% endif "
    "%}<|vision_start|><|image_pad|><|vision_end|>{% elif content['type'] == 'video' or 'video' in "
    "content "
    "%}{% set video_count.value = video_count.value + 1 %}{% if add_vision_id %}Video {{ "
    "video_count.value "
    "}}: {% endif %}<|vision_start|><|video_pad|><|vision_end|>{% elif 'text' in content %}{{ "
    "content['text'] }}{% endif %}{% endfor %}<|im_end|>\n{% endif %}{% endfor %}{% if "
    "add_generation_prompt %}<|im_start|>assistant\n{% endif %}";

const char* const kLlavaOnevision = R"jinja({%- for message in messages -%}
    {{- '<|im_start|>' + message['role'] + '\n' -}}
    {%- if message['content'] is string -%}
        {{- message['content'] -}}
    {%- elif message['content'] is defined and message['content'] is not none -%}
        {%- for part in message['content'] if part['type'] == 'image' -%}
            {{- '<image>\n' -}}
        {%- endfor -%}
        {%- for part in message['content'] if part['type'] == 'video' -%}
            {{- '<video>\n' -}}
        {%- endfor -%}
        {%- for part in message['content'] if part['type'] == 'text' -%}
            {{- part['text'] -}}
        {%- endfor -%}
    {%- endif -%}
    {{- '<|im_end|>\n' -}}
{%- endfor -%}
{%- if add_generation_prompt -%}
    {{- '<|im_start|>assistant\n' -}}
{%- endif -%}
)jinja";

}  // namespace

const std::string& builtin_chat_template_source(BuiltinChatTemplate which) {
  static const std::string chatml = kChatml;
  static const std::string qwen2_vl = kQwen2Vl;
  static const std::string llava_onevision = kLlavaOnevision;
  switch (which) {
    case BuiltinChatTemplate::kChatml:
      return chatml;
    case BuiltinChatTemplate::kQwen2Vl:
      return qwen2_vl;
    case BuiltinChatTemplate::kLlavaOnevision:
      return llava_onevision;
  }
  return chatml;
}

const char* to_string(BuiltinChatTemplate which) {
  switch (which) {
    case BuiltinChatTemplate::kChatml:
      return "chatml";
    case BuiltinChatTemplate::kQwen2Vl:
      return "qwen2_vl";
    case BuiltinChatTemplate::kLlavaOnevision:
      return "llava_onevision";
  }
  return "chatml";
}

std::optional<BuiltinChatTemplate> builtin_chat_template_for(const std::string& model_type) {
  if (model_type == "qwen2" || model_type == "qwen2_moe" || model_type == "qwen3") {
    return BuiltinChatTemplate::kChatml;
  }
  if (model_type == "qwen2_vl" || model_type == "qwen2_5_vl") return BuiltinChatTemplate::kQwen2Vl;
  if (model_type == "llava_onevision") return BuiltinChatTemplate::kLlavaOnevision;
  return std::nullopt;
}

}  // namespace vigil::llm

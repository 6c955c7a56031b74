#include "tests/chat_template/conversations.h"

namespace vigil::testing::chat {
namespace {

using json = nlohmann::ordered_json;

Conversation make(std::string name, const char* messages, bool add_generation_prompt,
                  const char* tools = nullptr, const char* variables = nullptr) {
  Conversation conversation;
  conversation.name = std::move(name);
  conversation.inputs.messages = json::parse(messages);
  conversation.inputs.add_generation_prompt = add_generation_prompt;
  if (tools) conversation.inputs.tools = json::parse(tools);
  if (variables) conversation.inputs.variables = json::parse(variables);
  return conversation;
}

// Keys deliberately out of alphabetical order: tojson must keep the order given.
const char* const kTools = R"json([
  {"type": "function", "function": {
    "name": "get_weather",
    "description": "Get the current weather in a city (°C by default)",
    "parameters": {"type": "object",
      "properties": {"location": {"type": "string", "description": "City, e.g. Zürich"},
                     "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                     "days": {"type": "integer", "minimum": 1, "maximum": 14},
                     "threshold": {"type": "number", "default": 0.5}},
      "required": ["location"]}}},
  {"type": "function", "function": {
    "name": "search_video",
    "description": "Find the moments of a stream that match a query",
    "parameters": {"type": "object",
      "properties": {"stream_id": {"type": "string"}, "query": {"type": "string"},
                     "since_seconds": {"type": "number"}},
      "required": ["stream_id", "query"]}}}
])json";

}  // namespace

std::vector<Conversation> text_conversations() {
  return {
      make("user_only", R"json([{"role": "user", "content": "Hello!"}])json", true),
      make("system_and_user",
           R"json([{"role": "system", "content": "You are a careful video analyst."},
                   {"role": "user", "content": "What is in the clip?"}])json",
           true),
      make("multi_turn",
           R"json([{"role": "system", "content": "Be brief."},
                   {"role": "user", "content": "Hi"},
                   {"role": "assistant", "content": "Hello! How can I help?"},
                   {"role": "user", "content": "Count to three."},
                   {"role": "assistant", "content": "1, 2, 3."},
                   {"role": "user", "content": "Now backwards."}])json",
           true),
      make(
          "no_generation_prompt",
          R"json([{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello."}])json",
          false),
      make("assistant_prefill",
           R"json([{"role": "user", "content": "Describe the scene."},
                   {"role": "assistant", "content": "The scene shows"}])json",
           false),
      make("unicode",
           R"json([{"role": "system", "content": "Réponds en français. 日本語も話せます。"},
                   {"role": "user", "content": "Qu'y a-t-il à 00:12 ? 🎥🚗💨 — «café» naïve e\u0301 עברית"},
                   {"role": "assistant", "content": "Une voiture passe 🚗 (ΔT ≈ 0.5 s)."},
                   {"role": "user", "content": "Merci ! ✓"}])json",
           true),
      make(
          "template_like_text",
          R"json([{"role": "user", "content": "Is {{ x }} or {% if %} or {# c #} special? Quotes ' \" and \\ and\ttabs\r\nlines"}])json",
          true),
      make("whitespace_content",
           R"json([{"role": "system", "content": "  padded system  \n"},
                   {"role": "user", "content": "\n\nleading newlines and trailing spaces   "}])json",
           true),
      make("empty_content", R"json([{"role": "user", "content": ""}])json", true),
      make("system_later",
           R"json([{"role": "user", "content": "First."},
                   {"role": "system", "content": "A late system note."},
                   {"role": "user", "content": "Second."}])json",
           true),
  };
}

std::vector<Conversation> tool_conversations() {
  return {
      make("tools_offered", R"json([{"role": "user", "content": "Weather in Zürich?"}])json", true,
           kTools),
      make("tools_with_system",
           R"json([{"role": "system", "content": "You watch traffic cameras."},
                   {"role": "user", "content": "When did the red truck pass?"}])json",
           true, kTools),
      make("tool_call_round_trip",
           R"json([{"role": "user", "content": "Weather in Zürich and Paris, in celsius?"},
                   {"role": "assistant", "content": "",
                    "tool_calls": [
                      {"id": "call_1", "type": "function",
                       "function": {"name": "get_weather", "arguments": {"location": "Zürich", "unit": "celsius", "days": 2}}},
                      {"id": "call_2", "type": "function",
                       "function": {"name": "get_weather", "arguments": {"location": "Paris", "threshold": 0.25}}}]},
                   {"role": "tool", "tool_call_id": "call_1", "content": "{\"temperature\": 21, \"sky\": \"clear\"}"},
                   {"role": "tool", "tool_call_id": "call_2", "content": "18 °C, cloudy"},
                   {"role": "assistant", "content": "Zürich: 21 °C and clear; Paris: 18 °C and cloudy."},
                   {"role": "user", "content": "Thanks!"}])json",
           true, kTools),
      make("tool_call_with_text",
           R"json([{"role": "system", "content": "Use tools when needed."},
                   {"role": "user", "content": "Find the truck in stream cam-7."},
                   {"role": "assistant", "content": "Let me search the stream.",
                    "tool_calls": [{"type": "function", "function": {"name": "search_video",
                                    "arguments": {"stream_id": "cam-7", "query": "red truck", "since_seconds": 3600}}}]},
                   {"role": "tool", "content": "[{\"t\": 1712.5, \"score\": 0.93}]"}])json",
           true, kTools),
      make("tool_call_without_tools",
           R"json([{"role": "user", "content": "Weather?"},
                   {"role": "assistant", "content": "",
                    "tool_calls": [{"type": "function", "function": {"name": "get_weather", "arguments": {"location": "Oslo"}}}]},
                   {"role": "tool", "content": "-3 °C"}])json",
           true),
  };
}

std::vector<Conversation> vision_conversations() {
  return {
      make("video_url_and_text",
           R"json([{"role": "user", "content": [
                     {"type": "video_url", "video_url": {"url": "stream://cam-7", "fps": 1.5}},
                     {"type": "text", "text": "Why is this video funny?"}]}])json",
           true),
      make("image_and_video",
           R"json([{"role": "system", "content": "You describe media."},
                   {"role": "user", "content": [
                     {"type": "image", "image": "file://frame.png"},
                     {"type": "text", "text": "Compare this frame"},
                     {"type": "video", "video": "file://clip.mp4"},
                     {"type": "text", "text": " with the clip."}]}])json",
           true),
      make("several_images",
           R"json([{"role": "user", "content": [
                     {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
                     {"type": "image_url", "image_url": {"url": "https://example.com/b.jpg"}},
                     {"type": "text", "text": "Which one is brighter?"}]},
                   {"role": "assistant", "content": [{"type": "text", "text": "The second one."}]},
                   {"role": "user", "content": [{"type": "video"}, {"type": "text", "text": "And in this video? 🎬"}]}])json",
           true),
      make("vision_ids",
           R"json([{"role": "user", "content": [
                     {"type": "image"}, {"type": "video"}, {"type": "image"},
                     {"type": "text", "text": "Relate the pictures to the video."}]}])json",
           true, nullptr, R"json({"add_vision_id": true})json"),
      make("string_and_parts",
           R"json([{"role": "system", "content": "Plain string system."},
                   {"role": "user", "content": "A plain question first."},
                   {"role": "assistant", "content": "A plain answer."},
                   {"role": "user", "content": [{"type": "video_url", "video_url": {"url": "file://a.mp4"}},
                                                {"type": "text", "text": "Now this."}]}])json",
           false),
  };
}

std::vector<Conversation> reasoning_conversations() {
  return {
      make("reasoning_content_field",
           R"json([{"role": "user", "content": "Is 17 prime?"},
                   {"role": "assistant", "content": "Yes.", "reasoning_content": "17 has no divisors but 1 and itself."},
                   {"role": "user", "content": "And 21?"}])json",
           true),
      make("think_in_content",
           R"json([{"role": "user", "content": "2+2?"},
                   {"role": "assistant", "content": "<think>\nTwo plus two.\n</think>\n\nFour."}])json",
           false),
      make("think_history_dropped",
           R"json([{"role": "user", "content": "First question"},
                   {"role": "assistant", "content": "<think>\nold reasoning\n</think>\n\nold answer"},
                   {"role": "user", "content": "Second question"}])json",
           true),
      make("thinking_disabled", R"json([{"role": "user", "content": "Quick answer please."}])json",
           true, nullptr, R"json({"enable_thinking": false})json"),
      make("tool_response_as_user",
           R"json([{"role": "user", "content": "<tool_response>\nresult\n</tool_response>"},
                   {"role": "user", "content": "Summarize."}])json",
           true),
  };
}

}  // namespace vigil::testing::chat

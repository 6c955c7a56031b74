// ChatTemplate: where a checkpoint's template is found, named templates, special tokens, the
// built-ins (reference/models.md A7 and B7 prompts), content normalisation, input errors.
#include "llm/chat_template.h"

#include <gtest/gtest.h>

#include <fstream>
#include <thread>

#include "tests/chat_template/conversations.h"
#include "tests/chat_template/reference_renderer.h"
#include "tests/support/test_support.h"

namespace vigil::testing::chat {
namespace {

using json = nlohmann::ordered_json;
using llm::BuiltinChatTemplate;
using llm::ChatTemplate;
using llm::ChatTemplateInputs;
using Kind = llm::TemplateError::Kind;

void write(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

ChatTemplateInputs inputs(const char* messages, bool add_generation_prompt = true) {
  ChatTemplateInputs in;
  in.messages = json::parse(messages);
  in.add_generation_prompt = add_generation_prompt;
  return in;
}

llm::TemplateError error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const llm::TemplateError& error) {
    return error;
  }
  ADD_FAILURE() << "no TemplateError was thrown";
  return llm::TemplateError(Kind::kRuntime, "none");
}

TEST(ChatTemplate, LoadsTheRealTemplates) {
  const ChatTemplate qwen2 = ChatTemplate::load(fixtures_dir() + "/qwen2");
  EXPECT_EQ(qwen2.origin(), fixtures_dir() + "/qwen2/tokenizer_config.json");
  EXPECT_EQ(
      qwen2.render(inputs(R"([{"role": "user", "content": "Hi"}])")),
      "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
      "<|im_start|>assistant\n");
  EXPECT_EQ(qwen2.special_tokens().dump(),
            R"({"eos_token":"<|im_end|>","pad_token":"<|endoftext|>"})");

  // reference/models.md B7's Qwen2-VL example.
  const ChatTemplate qwen2_vl = ChatTemplate::load(fixtures_dir() + "/qwen2_vl");
  EXPECT_TRUE(qwen2_vl.expects_content_parts());
  EXPECT_EQ(
      qwen2_vl.render(inputs(
          R"([{"role": "user", "content": [{"type": "video"}, {"type": "text", "text": "Describe."}]}])")),
      "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n"
      "<|vision_start|><|video_pad|><|vision_end|>Describe.<|im_end|>\n<|im_start|>assistant\n");

  const ChatTemplate qwen3 = ChatTemplate::load(fixtures_dir() + "/qwen3");
  ChatTemplateInputs no_thinking = inputs(R"([{"role": "user", "content": "Hi"}])");
  no_thinking.variables = {{"enable_thinking", false}};
  EXPECT_EQ(qwen3.render(no_thinking),
            "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n");
}

TEST(ChatTemplate, LlavaOnevisionPromptsMatchModelsMdA7) {
  const char* messages =
      R"([{"role": "user", "content": [{"type": "video_url", "video_url": {"url": "stream://cam"}},
                                                           {"type": "text", "text": "Why is this video funny?"}]}])";
  const std::string expected =
      "<|im_start|>user\n<video>\nWhy is this video funny?<|im_end|>\n<|im_start|>assistant\n";
  EXPECT_EQ(ChatTemplate::builtin(BuiltinChatTemplate::kLlavaOnevision).render(inputs(messages)),
            expected);
  EXPECT_EQ(ChatTemplate::load(fixtures_dir() + "/llava_onevision").render(inputs(messages)),
            expected);
  // Plain-string content works with the checkpoint's template too (given as one text part).
  EXPECT_EQ(ChatTemplate::load(fixtures_dir() + "/llava_onevision")
                .render(inputs(R"([{"role": "user", "content": "Hi"}])")),
            "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
}

TEST(ChatTemplate, BuiltinsMatchTheCheckpointTemplatesTheyStandFor) {
  const ChatTemplate llava_checkpoint = ChatTemplate::load(fixtures_dir() + "/llava_onevision");
  const ChatTemplate llava_builtin = ChatTemplate::builtin(BuiltinChatTemplate::kLlavaOnevision);
  const ChatTemplate vl_checkpoint = ChatTemplate::load(fixtures_dir() + "/qwen2_vl");
  const ChatTemplate vl_builtin = ChatTemplate::builtin(BuiltinChatTemplate::kQwen2Vl);
  for (const auto& set : {text_conversations(), vision_conversations()}) {
    for (const Conversation& c : set) {
      EXPECT_EQ(llava_builtin.render(c.inputs), llava_checkpoint.render(c.inputs)) << c.name;
      EXPECT_EQ(vl_builtin.render(c.inputs), vl_checkpoint.render(c.inputs)) << c.name;
    }
  }
}

TEST(ChatTemplate, ChatmlBuiltin) {
  const ChatTemplate chatml = ChatTemplate::builtin(BuiltinChatTemplate::kChatml);
  EXPECT_EQ(chatml.origin(), "builtin:chatml");
  EXPECT_EQ(
      chatml.render(inputs(
          R"([{"role": "system", "content": "S"}, {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}])")),
      "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nab<|im_end|>\n<|im_start|>assistant\n");
  const llm::TemplateError image = error_of([&] {
    chatml.render(inputs(
        R"([{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}])"));
  });
  EXPECT_EQ(image.kind(), Kind::kRaised);
  EXPECT_EQ(image.message(), "the built-in chatml chat template renders text only, not image");
  EXPECT_EQ(llm::builtin_chat_template_for("qwen2"), BuiltinChatTemplate::kChatml);
  EXPECT_EQ(llm::builtin_chat_template_for("qwen2_5_vl"), BuiltinChatTemplate::kQwen2Vl);
  EXPECT_EQ(llm::builtin_chat_template_for("llava_onevision"),
            BuiltinChatTemplate::kLlavaOnevision);
  EXPECT_EQ(llm::builtin_chat_template_for("llama"), std::nullopt);
}

TEST(ChatTemplate, SourcePriorityAndFallback) {
  TempDir dir;
  write(dir.file("tokenizer_config.json"),
        R"({"chat_template": "tokenizer", "eos_token": {"content": "</s>"}})");
  EXPECT_EQ(ChatTemplate::load(dir.path()).render({}), "tokenizer");
  write(dir.file("processor_config.json"), R"({"chat_template": "processor"})");
  EXPECT_EQ(ChatTemplate::load(dir.path()).render({}), "processor");
  write(dir.file("chat_template.json"), R"({"chat_template": "json"})");
  EXPECT_EQ(ChatTemplate::load(dir.path()).render({}), "json");
  write(dir.file("chat_template.jinja"), "jinja {{ eos_token }}\n");
  const ChatTemplate loaded = ChatTemplate::load(dir.path());
  EXPECT_EQ(loaded.origin(), dir.file("chat_template.jinja"));
  EXPECT_EQ(loaded.render({}), "jinja </s>");

  TempDir empty;
  const llm::TemplateError none = error_of([&] { ChatTemplate::load(empty.path()); });
  EXPECT_EQ(none.kind(), Kind::kLoad);
  EXPECT_NE(none.message().find("has no chat template"), std::string::npos);
  EXPECT_EQ(ChatTemplate::load_or_builtin(empty.path(), BuiltinChatTemplate::kChatml).origin(),
            "builtin:chatml");
  EXPECT_EQ(error_of([] { ChatTemplate::load("/nonexistent/checkpoint"); }).kind(), Kind::kLoad);
}

TEST(ChatTemplate, NamedTemplatesPickToolUseWhenToolsAreGiven) {
  TempDir dir;
  write(
      dir.file("tokenizer_config.json"),
      R"({"chat_template": [{"name": "default", "template": "plain"}, {"name": "tool_use", "template": "tools: {{ tools | length }}"}]})");
  const ChatTemplate named = ChatTemplate::load(dir.path());
  EXPECT_EQ(named.names(), (std::vector<std::string>{"default", "tool_use"}));
  ChatTemplateInputs in;
  EXPECT_EQ(named.render(in), "plain");
  in.tools = json::parse(R"([{"type": "function", "function": {"name": "f"}}])");
  EXPECT_EQ(named.render(in), "tools: 1");
  in.template_name = "default";
  EXPECT_EQ(named.render(in), "plain");
  in.template_name = "missing";
  EXPECT_EQ(error_of([&] { named.render(in); }).kind(), Kind::kInvalidInput);
}

TEST(ChatTemplate, LoadErrorsNameTheFile) {
  TempDir dir;
  write(dir.file("chat_template.json"), "{not json");
  const llm::TemplateError bad_json = error_of([&] { ChatTemplate::load(dir.path()); });
  EXPECT_EQ(bad_json.kind(), Kind::kLoad);
  EXPECT_EQ(bad_json.message().rfind(dir.file("chat_template.json") + ": is not valid JSON", 0),
            0u);

  TempDir wrong;
  write(wrong.file("tokenizer_config.json"), R"({"chat_template": 5})");
  EXPECT_EQ(error_of([&] { ChatTemplate::load(wrong.path()); }).kind(), Kind::kLoad);

  TempDir syntax;
  write(syntax.file("tokenizer_config.json"),
        R"({"chat_template": "{% for m in messages %}\n{{ m.content }"})");
  const llm::TemplateError error = error_of([&] { ChatTemplate::load(syntax.path()); });
  EXPECT_EQ(error.kind(), Kind::kSyntax);
  EXPECT_EQ(error.origin(), syntax.file("tokenizer_config.json"));
  EXPECT_EQ(error.location().line, 2u);
}

TEST(ChatTemplate, NormalisesContentParts) {
  const ChatTemplate llava = ChatTemplate::load(fixtures_dir() + "/llava_onevision");
  const json variables = llava.variables(inputs(
      R"([{"role": "user", "content": "Hi"}, {"role": "user", "content": [{"type": "video_url", "video_url": {"url": "u"}}, {"type": "image_url", "image_url": {"url": "i"}}]}, {"role": "assistant", "content": null}])"));
  EXPECT_EQ(
      variables["messages"].dump(),
      R"([{"role":"user","content":[{"type":"text","text":"Hi"}]},)"
      R"({"role":"user","content":[{"type":"video","video_url":{"url":"u"}},{"type":"image","image_url":{"url":"i"}}]},)"
      R"({"role":"assistant","content":null}])");
  EXPECT_EQ(variables["add_generation_prompt"], true);
  EXPECT_TRUE(variables["tools"].is_null());

  // Templates that read content as a string get it as a string.
  const ChatTemplate qwen25 = ChatTemplate::load(fixtures_dir() + "/qwen2_5");
  EXPECT_FALSE(qwen25.expects_content_parts());
  EXPECT_EQ(
      qwen25.variables(inputs(R"([{"role": "user", "content": "Hi"}])"))["messages"][0]["content"],
      "Hi");
}

TEST(ChatTemplate, InputErrorsNameTheField) {
  const ChatTemplate chatml = ChatTemplate::builtin(BuiltinChatTemplate::kChatml);
  ChatTemplateInputs in;
  in.messages = json::parse(R"([{"role": "user", "content": "a"}, {"content": "b"}])");
  const llm::TemplateError role = error_of([&] { chatml.render(in); });
  EXPECT_EQ(role.kind(), Kind::kInvalidInput);
  EXPECT_EQ(role.message(), "messages[1].role must be a string");
  in.messages = json::parse(R"([{"role": "user", "content": [{"text": "no type"}]}])");
  EXPECT_EQ(error_of([&] { chatml.render(in); }).message(),
            "messages[0].content[0].type must be a string");
  in.messages = json::object();
  EXPECT_EQ(error_of([&] { chatml.render(in); }).message(), "messages must be an array");
  in.messages = json::array();
  in.variables = {{"messages", 1}};
  EXPECT_EQ(error_of([&] { chatml.render(in); }).message(),
            "variables must not set 'messages': it has its own field");
  in.variables = json::object();
  in.tools = json::parse(R"([{"type": "function", "function": {"name": "f"}}])");
  EXPECT_EQ(error_of([&] { chatml.render(in); }).kind(), Kind::kRaised);
}

TEST(ChatTemplate, RendersConcurrently) {
  const ChatTemplate qwen3 = ChatTemplate::load(fixtures_dir() + "/qwen3");
  const std::vector<Conversation> conversations = tool_conversations();
  std::vector<std::string> expected;
  for (const Conversation& c : conversations) expected.push_back(qwen3.render(c.inputs));
  std::vector<std::thread> threads;
  std::vector<int> failures(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 20; ++round) {
        for (size_t i = 0; i < conversations.size(); ++i) {
          if (qwen3.render(conversations[i].inputs) != expected[i])
            ++failures[static_cast<size_t>(t)];
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures, std::vector<int>(4, 0));
}

}  // namespace
}  // namespace vigil::testing::chat

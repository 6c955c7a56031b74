#include "llm/chat_template.h"

#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

namespace vigil::llm {
namespace {

using json = nlohmann::ordered_json;
using Kind = TemplateError::Kind;

constexpr const char* kSpecialTokenKeys[] = {"bos_token", "eos_token", "unk_token", "sep_token",
                                             "pad_token", "cls_token", "mask_token"};

[[noreturn]] void load_error(const std::string& path, const std::string& problem) {
  throw TemplateError(Kind::kLoad, path + ": " + problem);
}

[[noreturn]] void input_error(const std::string& problem) {
  throw TemplateError(Kind::kInvalidInput, problem);
}

std::string read_text(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) load_error(path, "cannot be opened");
  std::ostringstream text;
  text << file.rdbuf();
  if (file.bad()) load_error(path, "cannot be read");
  return text.str();
}

json read_json(const std::string& path) {
  try {
    json parsed = json::parse(read_text(path));
    if (!parsed.is_object()) load_error(path, "is not a JSON object");
    return parsed;
  } catch (const json::parse_error& error) {
    load_error(path, std::string("is not valid JSON: ") + error.what());
  }
}

bool exists(const std::string& path) {
  std::error_code ignored;
  return std::filesystem::is_regular_file(path, ignored);
}

struct Found {
  std::vector<std::pair<std::string, std::string>> sources;  // name -> template text
  std::string origin;
};

std::optional<Found> template_in_json(const json& config, const std::string& path) {
  const auto field = config.find("chat_template");
  if (field == config.end() || field->is_null()) return std::nullopt;
  Found found{{}, path};
  if (field->is_string()) {
    found.sources.emplace_back("default", field->get<std::string>());
    return found;
  }
  if (!field->is_array())
    load_error(path, "chat_template must be a string or a list of {name, template}");
  for (const json& entry : *field) {
    if (!entry.is_object() || !entry.contains("name") || !entry["name"].is_string() ||
        !entry.contains("template") || !entry["template"].is_string()) {
      load_error(path, "each chat_template entry must be {\"name\": string, \"template\": string}");
    }
    found.sources.emplace_back(entry["name"].get<std::string>(),
                               entry["template"].get<std::string>());
  }
  if (found.sources.empty()) load_error(path, "chat_template is an empty list");
  return found;
}

std::optional<Found> find_template(const std::string& dir,
                                   const std::optional<json>& tokenizer_config) {
  const std::string jinja_path = dir + "/chat_template.jinja";
  if (exists(jinja_path)) return Found{{{"default", read_text(jinja_path)}}, jinja_path};
  for (const char* name : {"chat_template.json", "processor_config.json"}) {
    const std::string path = dir + "/" + name;
    if (!exists(path)) continue;
    if (auto found = template_in_json(read_json(path), path)) return found;
  }
  if (tokenizer_config) return template_in_json(*tokenizer_config, dir + "/tokenizer_config.json");
  return std::nullopt;
}

std::string token_text(const json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_object() && value.contains("content") && value["content"].is_string()) {
    return value["content"].get<std::string>();
  }
  return {};
}

json special_tokens_of(const std::optional<json>& tokenizer_config) {
  json tokens = json::object();
  if (!tokenizer_config) return tokens;
  for (const char* key : kSpecialTokenKeys) {
    const auto field = tokenizer_config->find(key);
    if (field == tokenizer_config->end()) continue;
    const std::string text = token_text(*field);
    if (!text.empty()) tokens[key] = text;
  }
  const auto additional = tokenizer_config->find("additional_special_tokens");
  if (additional != tokenizer_config->end() && additional->is_array()) {
    json list = json::array();
    for (const json& token : *additional) {
      const std::string text = token_text(token);
      if (!text.empty()) list.push_back(text);
    }
    tokens["additional_special_tokens"] = list;
  }
  return tokens;
}

std::optional<json> tokenizer_config_of(const std::string& dir) {
  const std::string path = dir + "/tokenizer_config.json";
  if (!exists(path)) return std::nullopt;
  return read_json(path);
}

void require_folder(const std::string& dir) {
  std::error_code ignored;
  if (!std::filesystem::is_directory(dir, ignored)) load_error(dir, "is not a checkpoint folder");
}

// Whether a loop iterates over X['content'] or X.content, through filters and loop conditions.
bool loops_over_content(const jinja::Program& program) {
  using namespace jinja;
  bool found = false;
  walk(program.body, [&found](const Node& node) {
    if (node.kind != NodeKind::kFor) return;
    const Node* iterable = static_cast<const ForNode&>(node).iterable.get();
    while (true) {
      if (iterable->kind == NodeKind::kSelect) {
        iterable = static_cast<const SelectNode&>(*iterable).value.get();
      } else if (iterable->kind == NodeKind::kFilter) {
        iterable = static_cast<const FilterNode&>(*iterable).operand.get();
      } else {
        break;
      }
    }
    if (iterable->kind != NodeKind::kMember) return;
    const Node& property = *static_cast<const MemberNode&>(*iterable).property;
    if ((property.kind == NodeKind::kStringLiteral &&
         static_cast<const StringLiteralNode&>(property).value == "content") ||
        (property.kind == NodeKind::kIdentifier &&
         static_cast<const IdentifierNode&>(property).name == "content")) {
      found = true;
    }
  });
  return found;
}

json normalize_message(const json& message, size_t index, bool content_parts) {
  const std::string where = "messages[" + std::to_string(index) + "]";
  if (!message.is_object()) input_error(where + " must be an object");
  const auto role = message.find("role");
  if (role == message.end() || !role->is_string()) input_error(where + ".role must be a string");
  json normalized = message;
  const auto content = message.find("content");
  if (content == message.end() || content->is_null()) return normalized;
  if (content->is_string()) {
    if (content_parts)
      normalized["content"] = json::array({{{"type", "text"}, {"text", *content}}});
    return normalized;
  }
  if (!content->is_array())
    input_error(where + ".content must be a string, a list of parts or null");
  json parts = json::array();
  for (size_t j = 0; j < content->size(); ++j) {
    const json& part = (*content)[j];
    const std::string part_where = where + ".content[" + std::to_string(j) + "]";
    if (!part.is_object()) input_error(part_where + " must be an object");
    const auto type = part.find("type");
    if (type == part.end() || !type->is_string())
      input_error(part_where + ".type must be a string");
    json copy = part;
    if (*type == "image_url") copy["type"] = "image";
    if (*type == "video_url") copy["type"] = "video";
    parts.push_back(std::move(copy));
  }
  normalized["content"] = std::move(parts);
  return normalized;
}

}  // namespace

ChatTemplate::ChatTemplate(std::vector<std::pair<std::string, std::string>> sources,
                           std::string origin, json special_tokens)
    : origin_(std::move(origin)), special_tokens_(std::move(special_tokens)) {
  for (auto& [name, source] : sources) {
    const std::string template_origin = sources.size() == 1 ? origin_ : origin_ + " (" + name + ")";
    jinja::Template compiled(std::move(source), template_origin);
    const bool content_parts = loops_over_content(compiled.program());
    templates_.push_back(Named{name, std::move(compiled), content_parts});
  }
}

ChatTemplate ChatTemplate::load(const std::string& checkpoint_dir) {
  require_folder(checkpoint_dir);
  const std::optional<json> tokenizer_config = tokenizer_config_of(checkpoint_dir);
  std::optional<Found> found = find_template(checkpoint_dir, tokenizer_config);
  if (!found) {
    load_error(checkpoint_dir,
               "has no chat template (looked for chat_template.jinja, chat_template.json, "
               "processor_config.json and tokenizer_config.json's chat_template)");
  }
  return ChatTemplate(std::move(found->sources), found->origin,
                      special_tokens_of(tokenizer_config));
}

ChatTemplate ChatTemplate::load_or_builtin(const std::string& checkpoint_dir,
                                           BuiltinChatTemplate fallback) {
  require_folder(checkpoint_dir);
  const std::optional<json> tokenizer_config = tokenizer_config_of(checkpoint_dir);
  std::optional<Found> found = find_template(checkpoint_dir, tokenizer_config);
  if (!found) {
    return ChatTemplate({{"default", builtin_chat_template_source(fallback)}},
                        std::string("builtin:") + to_string(fallback),
                        special_tokens_of(tokenizer_config));
  }
  return ChatTemplate(std::move(found->sources), found->origin,
                      special_tokens_of(tokenizer_config));
}

ChatTemplate ChatTemplate::builtin(BuiltinChatTemplate which) {
  return ChatTemplate({{"default", builtin_chat_template_source(which)}},
                      std::string("builtin:") + to_string(which), json::object());
}

ChatTemplate ChatTemplate::from_source(std::string source, std::string origin) {
  return ChatTemplate({{"default", std::move(source)}}, std::move(origin), json::object());
}

std::vector<std::string> ChatTemplate::names() const {
  std::vector<std::string> names;
  for (const Named& named : templates_) names.push_back(named.name);
  return names;
}

const jinja::Template& ChatTemplate::get(const std::string& template_name) const {
  for (const Named& named : templates_) {
    if (named.name == template_name) return named.compiled;
  }
  input_error(origin_ + " has no chat template named '" + template_name + "'");
}

const ChatTemplate::Named& ChatTemplate::select(const ChatTemplateInputs& inputs) const {
  const auto named = [this](const std::string& name) -> const Named* {
    for (const Named& t : templates_) {
      if (t.name == name) return &t;
    }
    return nullptr;
  };
  if (!inputs.template_name.empty()) {
    if (const Named* chosen = named(inputs.template_name)) return *chosen;
    input_error(origin_ + " has no chat template named '" + inputs.template_name + "'");
  }
  const bool has_tools = inputs.tools.is_array() && !inputs.tools.empty();
  if (has_tools) {
    if (const Named* chosen = named("tool_use")) return *chosen;
  }
  if (const Named* chosen = named("default")) return *chosen;
  if (templates_.size() == 1) return templates_.front();
  std::string list;
  for (const Named& t : templates_) list += (list.empty() ? "" : ", ") + t.name;
  input_error(origin_ + " has several chat templates (" + list +
              ") and none is named 'default': pick one");
}

bool ChatTemplate::expects_content_parts(const std::string& template_name) const {
  ChatTemplateInputs inputs;
  inputs.template_name = template_name;
  return select(inputs).content_parts;
}

json ChatTemplate::variables_for(const Named& chosen, const ChatTemplateInputs& inputs) const {
  if (!inputs.messages.is_array()) input_error("messages must be an array");
  if (!inputs.tools.is_null() && !inputs.tools.is_array())
    input_error("tools must be an array or null");
  if (!inputs.documents.is_null() && !inputs.documents.is_array())
    input_error("documents must be an array or null");
  if (!inputs.variables.is_object()) input_error("variables must be a JSON object");

  json messages = json::array();
  for (size_t i = 0; i < inputs.messages.size(); ++i) {
    messages.push_back(normalize_message(inputs.messages[i], i, chosen.content_parts));
  }
  json variables = json::object();
  variables["messages"] = std::move(messages);
  variables["tools"] = inputs.tools;
  variables["documents"] = inputs.documents;
  variables["add_generation_prompt"] = inputs.add_generation_prompt;
  for (const auto& [key, value] : special_tokens_.items()) variables[key] = value;
  for (const auto& [key, value] : inputs.variables.items()) {
    if (key == "messages" || key == "tools" || key == "documents" ||
        key == "add_generation_prompt") {
      input_error("variables must not set '" + key + "': it has its own field");
    }
    variables[key] = value;
  }
  return variables;
}

json ChatTemplate::variables(const ChatTemplateInputs& inputs) const {
  return variables_for(select(inputs), inputs);
}

std::string ChatTemplate::render(const ChatTemplateInputs& inputs,
                                 const jinja::RenderLimits& limits) const {
  const Named& chosen = select(inputs);
  return chosen.compiled.render(variables_for(chosen, inputs), limits);
}

}  // namespace vigil::llm

#include "llm/tokenizer_json.h"

#include <nlohmann/json.hpp>

#include "llm/pretokenizer.h"
#include "llm/tokenizer_error.h"

namespace vigil::llm {
namespace {

using Json = nlohmann::json;
using Reason = TokenizerLoadError::Reason;

class Reader {
 public:
  explicit Reader(const std::string& origin) : origin_(origin) {}

  [[noreturn]] void fail(Reason reason, const std::string& detail) const {
    throw TokenizerLoadError(reason, origin_, detail);
  }

  const Json& object_field(const Json& parent, const char* key, const std::string& name) const {
    const auto it = parent.find(key);
    if (it == parent.end() || it->is_null()) fail(Reason::kMissingField, "no '" + name + "'");
    if (!it->is_object()) fail(Reason::kInvalidValue, "'" + name + "' is not an object");
    return *it;
  }

  // The field as a string, "" when absent or null.
  std::string string_or_empty(const Json& parent, const char* key, const std::string& name) const {
    const auto it = parent.find(key);
    if (it == parent.end() || it->is_null()) return "";
    if (!it->is_string()) fail(Reason::kInvalidValue, "'" + name + "' is not a string");
    return it->get<std::string>();
  }

  bool bool_or(const Json& parent, const char* key, bool fallback, const std::string& name) const {
    const auto it = parent.find(key);
    if (it == parent.end() || it->is_null()) return fallback;
    if (!it->is_boolean()) fail(Reason::kInvalidValue, "'" + name + "' is not true or false");
    return it->get<bool>();
  }

  int32_t token_id(const Json& value, const std::string& name) const {
    if (!value.is_number_integer() || value.get<int64_t>() < 0 ||
        value.get<int64_t>() > INT32_MAX) {
      fail(Reason::kInvalidValue, "'" + name + "' is not a token id (a non-negative integer)");
    }
    return static_cast<int32_t>(value.get<int64_t>());
  }

 private:
  const std::string& origin_;
};

std::string type_of(const Json& stage) {
  if (!stage.is_object()) return stage.dump();
  const auto it = stage.find("type");
  return it != stage.end() && it->is_string() ? it->get<std::string>() : "(no type)";
}

// Parses tokenizer.json into a DOM, except for model.vocab and model.merges (the bulk of the
// file: ~150k entries each), which go straight into the definition; building them as JSON
// objects first took most of the load time.
class TokenizerJsonHandler : public nlohmann::json_sax<Json> {
 public:
  TokenizerJsonHandler(Json& root, TokenizerDefinition& definition)
      : root_(root), definition_(definition) {
    // Room for a 150k vocabulary without regrowing (pages are touched only as they fill).
    definition_.vocab.reserve(1 << 18);
    definition_.merges.reserve(1 << 18);
  }

  bool vocab_seen() const { return vocab_seen_; }
  bool merges_seen() const { return merges_seen_; }
  // Why parsing stopped: a JSON syntax error or a bad vocab or merges entry.
  Reason failure_reason() const { return failure_reason_; }
  const std::string& failure() const { return failure_; }

  bool null() override { return value(Json(nullptr)); }
  bool boolean(bool flag) override { return value(Json(flag)); }
  bool number_integer(Json::number_integer_t number) override {
    if (mode_ == Mode::kVocab) return vocab_entry(number);
    return value(Json(number));
  }
  bool number_unsigned(Json::number_unsigned_t number) override {
    if (mode_ == Mode::kVocab) {
      return vocab_entry(number > uint64_t{INT32_MAX} ? -1 : static_cast<int64_t>(number));
    }
    return value(Json(number));
  }
  bool number_float(Json::number_float_t number, const std::string& /*text*/) override {
    if (mode_ == Mode::kVocab) return vocab_entry(-1);
    return value(Json(number));
  }
  bool string(std::string& text) override {
    if (mode_ == Mode::kVocab) return vocab_entry(-1);
    if (mode_ == Mode::kMerges) return merge_string(text);
    return value(Json(std::move(text)));
  }
  bool binary(Json::binary_t& bytes) override { return value(Json::binary(std::move(bytes))); }

  bool key(std::string& name) override {
    key_ = std::move(name);
    return true;
  }

  bool start_object(size_t /*elements*/) override {
    if (mode_ == Mode::kVocab) return vocab_entry(-1);
    if (mode_ == Mode::kMerges) return bad_merge();
    if (at_model_field("vocab")) {
      mode_ = Mode::kVocab;
      vocab_seen_ = true;
      return true;
    }
    return open(Json::object());
  }
  bool end_object() override {
    if (mode_ == Mode::kVocab) {
      mode_ = Mode::kDom;
      (*stack_.back())["vocab"] = Json::object();  // present, read already
      return true;
    }
    return close();
  }

  bool start_array(size_t /*elements*/) override {
    if (mode_ == Mode::kVocab) return vocab_entry(-1);
    if (mode_ == Mode::kMerges) {
      if (in_pair_) return bad_merge();
      in_pair_ = true;
      pair_.clear();
      return true;
    }
    if (at_model_field("merges")) {
      mode_ = Mode::kMerges;
      merges_seen_ = true;
      return true;
    }
    return open(Json::array());
  }
  bool end_array() override {
    if (mode_ == Mode::kMerges) {
      if (!in_pair_) {
        mode_ = Mode::kDom;
        (*stack_.back())["merges"] = Json::array();  // present, read already
        return true;
      }
      in_pair_ = false;
      if (pair_.size() != 2) return bad_merge();
      definition_.merges.emplace_back(std::move(pair_[0]), std::move(pair_[1]));
      return true;
    }
    return close();
  }

  bool parse_error(size_t /*position*/, const std::string& /*last_token*/,
                   const nlohmann::detail::exception& error) override {
    failure_reason_ = Reason::kMalformedJson;
    failure_ = std::string("malformed JSON: ") + error.what();
    return false;
  }

 private:
  enum class Mode { kDom, kVocab, kMerges };

  // True when the value about to start is root.model.<name>.
  bool at_model_field(const char* name) const {
    return stack_.size() == 2 && stack_[1]->is_object() && keys_[1] == "model" && key_ == name;
  }

  bool open(Json&& container) {
    Json* opened = nullptr;
    if (stack_.empty()) {
      root_ = std::move(container);
      opened = &root_;
    } else if (stack_.back()->is_object()) {
      opened = &((*stack_.back())[key_] = std::move(container));
    } else {
      stack_.back()->push_back(std::move(container));
      opened = &stack_.back()->back();
    }
    stack_.push_back(opened);
    keys_.push_back(stack_.size() == 1 ? std::string() : key_);
    return true;
  }
  bool close() {
    stack_.pop_back();
    keys_.pop_back();
    return true;
  }
  bool value(Json&& scalar) {
    if (mode_ == Mode::kMerges) return bad_merge();
    if (stack_.empty()) {
      root_ = std::move(scalar);
    } else if (stack_.back()->is_object()) {
      (*stack_.back())[key_] = std::move(scalar);
    } else {
      stack_.back()->push_back(std::move(scalar));
    }
    return true;
  }

  bool vocab_entry(int64_t id) {
    if (id < 0 || id > INT32_MAX) {
      failure_reason_ = Reason::kInvalidValue;
      failure_ = "'model.vocab[\"" + key_ + "\"]' is not a token id (a non-negative integer)";
      return false;
    }
    definition_.vocab.emplace_back(std::move(key_), static_cast<int32_t>(id));
    return true;
  }
  bool merge_string(std::string& text) {
    if (in_pair_) {
      pair_.push_back(std::move(text));
      return true;
    }
    // The older form "left right"; byte-level tokens never hold a space (it is "Ġ").
    const size_t space = text.find(' ');
    if (space == std::string::npos || space == 0 || space + 1 == text.size() ||
        text.find(' ', space + 1) != std::string::npos) {
      return bad_merge();
    }
    definition_.merges.emplace_back(text.substr(0, space), text.substr(space + 1));
    return true;
  }
  bool bad_merge() {
    failure_reason_ = Reason::kInvalidValue;
    failure_ = "'model.merges[" + std::to_string(definition_.merges.size()) +
               "]' is neither \"left right\" nor [\"left\", \"right\"]";
    return false;
  }

  Json& root_;
  TokenizerDefinition& definition_;
  std::vector<Json*> stack_;
  std::vector<std::string> keys_;  // the key each open container has in its parent
  std::string key_;
  Mode mode_ = Mode::kDom;
  bool in_pair_ = false;
  std::vector<std::string> pair_;
  bool vocab_seen_ = false;
  bool merges_seen_ = false;
  Reason failure_reason_ = Reason::kMalformedJson;
  std::string failure_;
};

void check_model_options(const Reader& reader, const Json& model, TokenizerDefinition& definition) {
  const std::string type = reader.string_or_empty(model, "type", "model.type");
  if (!type.empty() && type != "BPE") {
    reader.fail(Reason::kUnsupported, "model type '" + type + "' is not BPE");
  }
  if (reader.bool_or(model, "byte_fallback", false, "model.byte_fallback")) {
    reader.fail(Reason::kUnsupported, "model.byte_fallback is not supported");
  }
  const auto dropout = model.find("dropout");
  if (dropout != model.end() && !dropout->is_null() &&
      !(dropout->is_number() && dropout->get<double>() == 0.0)) {
    reader.fail(Reason::kUnsupported, "model.dropout is not supported");
  }
  for (const char* key : {"unk_token", "continuing_subword_prefix", "end_of_word_suffix"}) {
    const std::string name = std::string("model.") + key;
    if (!reader.string_or_empty(model, key, name).empty()) {
      reader.fail(Reason::kUnsupported, name + " is not supported");
    }
  }
  definition.ignore_merges = reader.bool_or(model, "ignore_merges", false, "model.ignore_merges");
}

void check_pipeline(const Reader& reader, const Json& root, TokenizerDefinition& definition) {
  const Json null_stage;
  const auto stage = [&](const char* key) -> const Json& {
    const auto it = root.find(key);
    return it == root.end() ? null_stage : *it;
  };

  const Json& normalizer = stage("normalizer");
  if (!normalizer.is_null()) {
    if (type_of(normalizer) != "NFC") {
      reader.fail(Reason::kUnsupported, "normalizer '" + type_of(normalizer) + "' is not NFC");
    }
    definition.normalize_nfc = true;
  }

  // Sequence[Split(Regex(P), Isolated), ByteLevel(add_prefix_space = false, use_regex = false)]
  const Json& pre_tokenizer = stage("pre_tokenizer");
  const auto is_qwen2_split = [&](const Json& split) {
    return type_of(split) == "Split" && split.contains("pattern") && split["pattern"].is_object() &&
           split["pattern"].value("Regex", "") == kQwen2SplitPattern &&
           split.value("behavior", "") == "Isolated" && !split.value("invert", false);
  };
  const auto is_plain_byte_level = [&](const Json& byte_level) {
    return type_of(byte_level) == "ByteLevel" && !byte_level.value("add_prefix_space", true) &&
           !byte_level.value("use_regex", true);
  };
  const bool qwen2_pre_tokenizer =
      type_of(pre_tokenizer) == "Sequence" && pre_tokenizer.contains("pretokenizers") &&
      pre_tokenizer["pretokenizers"].is_array() && pre_tokenizer["pretokenizers"].size() == 2 &&
      is_qwen2_split(pre_tokenizer["pretokenizers"][0]) &&
      is_plain_byte_level(pre_tokenizer["pretokenizers"][1]);
  if (!qwen2_pre_tokenizer) {
    reader.fail(Reason::kUnsupported,
                "pre_tokenizer is not Qwen2's (Sequence of Split with its regex, Isolated, and "
                "ByteLevel without prefix space or regex)");
  }

  const Json& post_processor = stage("post_processor");
  if (!post_processor.is_null() && type_of(post_processor) != "ByteLevel") {
    reader.fail(Reason::kUnsupported,
                "post_processor '" + type_of(post_processor) + "' is not ByteLevel");
  }
  const Json& decoder = stage("decoder");
  if (type_of(decoder) != "ByteLevel") {
    reader.fail(Reason::kUnsupported, "decoder '" + type_of(decoder) + "' is not ByteLevel");
  }
}

void read_added_tokens(const Reader& reader, const Json& root, TokenizerDefinition& definition) {
  const auto it = root.find("added_tokens");
  if (it == root.end() || it->is_null()) return;
  if (!it->is_array()) reader.fail(Reason::kInvalidValue, "'added_tokens' is not an array");
  for (size_t index = 0; index < it->size(); ++index) {
    const Json& entry = (*it)[index];
    const std::string name = "added_tokens[" + std::to_string(index) + "]";
    if (!entry.is_object()) reader.fail(Reason::kInvalidValue, "'" + name + "' is not an object");
    AddedToken token;
    if (!entry.contains("id")) reader.fail(Reason::kMissingField, "no '" + name + ".id'");
    token.id = reader.token_id(entry["id"], name + ".id");
    token.content = reader.string_or_empty(entry, "content", name + ".content");
    if (token.content.empty()) {
      reader.fail(Reason::kInvalidValue, "'" + name + ".content' is missing or empty");
    }
    token.special = reader.bool_or(entry, "special", false, name + ".special");
    // transformers.js and Hugging Face tokenizers: normalized defaults to !special.
    token.normalized = reader.bool_or(entry, "normalized", !token.special, name + ".normalized");
    token.lstrip = reader.bool_or(entry, "lstrip", false, name + ".lstrip");
    token.rstrip = reader.bool_or(entry, "rstrip", false, name + ".rstrip");
    definition.added_tokens.push_back(std::move(token));
  }
}

}  // namespace

TokenizerDefinition parse_tokenizer_json(std::string_view json_text, const std::string& origin) {
  const Reader reader(origin);
  Json root;
  TokenizerDefinition definition;
  TokenizerJsonHandler handler(root, definition);
  if (!Json::sax_parse(json_text.begin(), json_text.end(), &handler)) {
    reader.fail(handler.failure_reason(), handler.failure());
  }
  if (!root.is_object()) reader.fail(Reason::kInvalidValue, "the top level is not an object");
  try {
    const Json& model = reader.object_field(root, "model", "model");
    check_model_options(reader, model, definition);
    if (!handler.vocab_seen()) reader.object_field(model, "vocab", "model.vocab");  // throws
    if (!handler.merges_seen()) {
      const auto it = model.find("merges");
      if (it == model.end() || it->is_null()) {
        reader.fail(Reason::kMissingField, "no 'model.merges'");
      }
      reader.fail(Reason::kInvalidValue, "'model.merges' is not an array");
    }
    check_pipeline(reader, root, definition);
    read_added_tokens(reader, root, definition);
  } catch (const Json::exception& error) {
    // A field of an unexpected type met by nlohmann::json's value() or operator[].
    reader.fail(Reason::kInvalidValue, std::string("unexpected JSON: ") + error.what());
  }
  return definition;
}

}  // namespace vigil::llm

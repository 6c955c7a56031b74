#include "llm/tokenizer.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "llm/byte_level.h"
#include "llm/nfc.h"
#include "llm/pretokenizer.h"
#include "llm/tokenizer_json.h"
#include "llm/unicode_class.h"
#include "llm/utf8.h"

namespace vigil::llm {
namespace {

using Reason = TokenizerLoadError::Reason;

struct FileCloser {
  void operator()(std::FILE* file) const { std::fclose(file); }
};
using File = std::unique_ptr<std::FILE, FileCloser>;

std::string read_whole_file(const std::string& path) {
  File file(std::fopen(path.c_str(), "rb"));
  if (!file) throw TokenizerLoadError(Reason::kUnreadable, path, std::strerror(errno));
  struct stat info {};
  if (fstat(fileno(file.get()), &info) != 0) {
    throw TokenizerLoadError(Reason::kUnreadable, path, std::strerror(errno));
  }
  if (!S_ISREG(info.st_mode)) {
    throw TokenizerLoadError(Reason::kUnreadable, path, "not a regular file");
  }
  std::string text(static_cast<size_t>(info.st_size), '\0');
  if (!text.empty() && std::fread(text.data(), 1, text.size(), file.get()) != text.size()) {
    throw TokenizerLoadError(Reason::kUnreadable, path, "read failed or the file changed size");
  }
  return text;
}

// JavaScript's String.prototype.trimStart/trimEnd whitespace (WhiteSpace and LineTerminator:
// note U+FEFF is in and U+0085 is out), which transformers.js applies for lstrip and rstrip.
bool is_js_trim_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
         c == 0x3000 || c == 0xFEFF;
}

std::string_view trim_start(std::string_view text) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t length = 0;
    if (!is_js_trim_space(utf8::decode_valid(text, pos, length))) break;
    pos += length;
  }
  return text.substr(pos);
}

std::string_view trim_end(std::string_view text) {
  size_t end = text.size();
  while (end > 0) {
    size_t start = end - 1;
    while (start > 0 && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) --start;
    size_t length = 0;
    if (!is_js_trim_space(utf8::decode_valid(text, start, length))) break;
    end = start;
  }
  return text.substr(0, end);
}

// The raw bytes of every model.vocab token (empty for ids that have none).
std::vector<std::string> byte_strings_of_vocab(const std::vector<std::string>& token_texts,
                                               const std::vector<uint8_t>& in_vocab,
                                               const std::string& origin) {
  std::vector<std::string> bytes(token_texts.size());
  for (size_t id = 0; id < token_texts.size(); ++id) {
    if (!in_vocab[id]) continue;
    std::optional<std::string> raw = token_text_to_bytes(token_texts[id]);
    if (!raw) {
      throw TokenizerLoadError(
          Reason::kInvalidValue, origin,
          "model.vocab token '" + token_texts[id] + "' is not written in the byte-level alphabet");
    }
    bytes[id] = std::move(*raw);
  }
  return bytes;
}

}  // namespace

Tokenizer Tokenizer::load(const std::string& path) {
  return from_json_text(read_whole_file(path), path);
}

Tokenizer Tokenizer::from_json_text(std::string_view json_text, const std::string& origin) {
  TokenizerDefinition definition = parse_tokenizer_json(json_text, origin);

  int32_t largest_id = -1;
  for (const auto& entry : definition.vocab) largest_id = std::max(largest_id, entry.second);
  for (const AddedToken& token : definition.added_tokens)
    largest_id = std::max(largest_id, token.id);
  // Tables are indexed by id: a stray huge id must not become a huge allocation.
  constexpr int32_t kIdLimit = 1 << 24;
  if (largest_id >= kIdLimit) {
    throw TokenizerLoadError(Reason::kInvalidValue, origin,
                             "token id " + std::to_string(largest_id) + " is past the limit of " +
                                 std::to_string(kIdLimit) + " tokens");
  }
  const size_t size = static_cast<size_t>(largest_id) + 1;

  std::vector<std::string> token_texts(size);
  std::vector<uint8_t> in_vocab(size, 0);
  StringIdMap vocab_ids(definition.vocab.size());
  for (auto& [text, id] : definition.vocab) {
    if (in_vocab[id]) {
      throw TokenizerLoadError(Reason::kInvalidValue, origin,
                               "model.vocab gives id " + std::to_string(id) + " to both '" +
                                   token_texts[id] + "' and '" + text + "'");
    }
    in_vocab[id] = 1;
    vocab_ids.insert(text, id);
    token_texts[id] = std::move(text);
  }
  std::vector<std::string> token_bytes = byte_strings_of_vocab(token_texts, in_vocab, origin);

  std::vector<BpeMerge> merges;
  merges.reserve(definition.merges.size());
  std::string joined;
  for (size_t rank = 0; rank < definition.merges.size(); ++rank) {
    const auto& [left, right] = definition.merges[rank];
    joined.assign(left).append(right);
    const BpeMerge merge{vocab_ids.find(left), vocab_ids.find(right), vocab_ids.find(joined)};
    for (const auto& [id, part] : {std::pair<int32_t, const std::string*>{merge.left, &left},
                                   {merge.right, &right},
                                   {merge.merged, &joined}}) {
      if (id < 0) {
        throw TokenizerLoadError(Reason::kInvalidValue, origin,
                                 "model.merges[" + std::to_string(rank) + "] (\"" + left + " " +
                                     right + "\"): '" + *part + "' is not in model.vocab");
      }
    }
    merges.push_back(merge);
  }
  BpeModel bpe(token_bytes, merges, definition.ignore_merges);

  // Added tokens take over their ids (some tokenizers also list them in model.vocab).
  std::vector<Kind> kinds(size, Kind::kNone);
  for (size_t id = 0; id < size; ++id) {
    if (in_vocab[id]) kinds[id] = Kind::kByteLevel;
  }
  for (const AddedToken& token : definition.added_tokens) {
    kinds[token.id] = token.special ? Kind::kAddedSpecial : Kind::kAdded;
    token_texts[token.id] = token.content;
    token_bytes[token.id] = token.content;
  }
  Tokenizer tokenizer(origin, std::move(token_texts), std::move(token_bytes), std::move(kinds),
                      std::move(definition.added_tokens), std::move(vocab_ids), std::move(bpe));

  std::vector<AddedToken> normalized_contents;  // contents as NFC text holds them
  for (const AddedToken& token : tokenizer.added_tokens_) {
    if (!(token.normalized && definition.normalize_nfc)) continue;
    AddedToken normalized = token;
    normalized.content.clear();
    append_nfc(token.content, normalized.content);
    normalized_contents.push_back(std::move(normalized));
  }
  std::vector<const AddedToken*> raw_all, raw_non_special, normalized_all, normalized_non_special;
  for (const AddedToken& token : tokenizer.added_tokens_) {
    if (token.normalized && definition.normalize_nfc) continue;
    raw_all.push_back(&token);
    if (!token.special) raw_non_special.push_back(&token);
  }
  for (const AddedToken& token : normalized_contents) {
    normalized_all.push_back(&token);
    if (!token.special) normalized_non_special.push_back(&token);
  }
  tokenizer.raw_all_ = AddedTokenMatcher(raw_all);
  tokenizer.raw_non_special_ = AddedTokenMatcher(raw_non_special);
  tokenizer.normalized_all_ = AddedTokenMatcher(normalized_all);
  tokenizer.normalized_non_special_ = AddedTokenMatcher(normalized_non_special);
  tokenizer.normalize_nfc_ = definition.normalize_nfc;
  unicode_flags(0);  // builds the Unicode table now rather than in the first encode
  return tokenizer;
}

Tokenizer::Tokenizer(std::string origin, std::vector<std::string> token_texts,
                     std::vector<std::string> token_bytes, std::vector<Kind> kinds,
                     std::vector<AddedToken> added_tokens, StringIdMap vocab_ids, BpeModel bpe)
    : origin_(std::move(origin)),
      token_texts_(std::move(token_texts)),
      token_bytes_(std::move(token_bytes)),
      kinds_(std::move(kinds)),
      vocab_ids_(std::move(vocab_ids)),
      added_tokens_(std::move(added_tokens)),
      added_ids_(added_tokens_.size()),
      bpe_(std::move(bpe)) {
  for (size_t index = 0; index < added_tokens_.size(); ++index) {
    added_ids_.insert(added_tokens_[index].content, added_tokens_[index].id);
    added_index_by_id_[added_tokens_[index].id] = index;
  }
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool allow_special) const {
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3 + 1);
  encode_into(text, ids, allow_special);
  return ids;
}

void Tokenizer::encode_into(std::string_view text, std::vector<int32_t>& ids,
                            bool allow_special) const {
  std::string sanitized;
  std::string_view input = text;
  if (!utf8::is_valid(text)) {
    utf8::append_sanitized(text, sanitized);
    input = sanitized;
  }
  std::string scratch;
  std::vector<std::string_view> pieces;
  const AddedTokenMatcher& matcher = allow_special ? raw_all_ : raw_non_special_;
  size_t pos = 0;
  bool strip_start = false;  // the previous added token swallows the whitespace after it
  while (true) {
    const AddedTokenMatcher::Match match = matcher.find(input, pos);
    const size_t end = match.length > 0 ? match.begin : input.size();
    std::string_view section = input.substr(pos, end - pos);
    if (strip_start) section = trim_start(section);
    if (match.length > 0 && added_token(match.id).lstrip) section = trim_end(section);
    encode_section(section, ids, allow_special, scratch, pieces);
    if (match.length == 0) break;
    ids.push_back(match.id);
    strip_start = added_token(match.id).rstrip;
    pos = match.begin + match.length;
  }
}

void Tokenizer::encode_section(std::string_view section, std::vector<int32_t>& ids,
                               bool allow_special, std::string& scratch,
                               std::vector<std::string_view>& pieces) const {
  if (section.empty()) return;
  std::string_view text = section;
  if (normalize_nfc_ && !is_nfc_inert(section)) {
    scratch.clear();
    append_nfc(section, scratch);
    text = scratch;
  }
  const AddedTokenMatcher& matcher = allow_special ? normalized_all_ : normalized_non_special_;
  if (matcher.empty()) {
    encode_normalized(text, ids, pieces);
    return;
  }
  size_t pos = 0;
  bool strip_start = false;
  while (true) {
    const AddedTokenMatcher::Match match = matcher.find(text, pos);
    const size_t end = match.length > 0 ? match.begin : text.size();
    std::string_view part = text.substr(pos, end - pos);
    if (strip_start) part = trim_start(part);
    if (match.length > 0 && added_token(match.id).lstrip) part = trim_end(part);
    encode_normalized(part, ids, pieces);
    if (match.length == 0) break;
    ids.push_back(match.id);
    strip_start = added_token(match.id).rstrip;
    pos = match.begin + match.length;
  }
}

void Tokenizer::encode_normalized(std::string_view text, std::vector<int32_t>& ids,
                                  std::vector<std::string_view>& pieces) const {
  pieces.clear();
  split_qwen2(text, pieces);
  for (const std::string_view piece : pieces) bpe_.encode(piece, ids);
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids, bool skip_special) const {
  std::string text;
  std::string run;  // bytes of consecutive byte-level tokens, decoded together
  for (const int32_t id : ids) {
    if (id < 0 || static_cast<size_t>(id) >= kinds_.size()) continue;
    switch (kinds_[id]) {
      case Kind::kNone:
        break;
      case Kind::kByteLevel:
        run += token_bytes_[id];
        break;
      case Kind::kAddedSpecial:
        if (skip_special) break;
        [[fallthrough]];
      case Kind::kAdded:
        utf8::append_sanitized(run, text);
        run.clear();
        text += token_bytes_[id];
        break;
    }
  }
  utf8::append_sanitized(run, text);
  return text;
}

std::optional<int32_t> Tokenizer::token_to_id(std::string_view token) const {
  // An added token takes over a text that model.vocab also has.
  int32_t id = added_ids_.find(token);
  if (id < 0) id = vocab_ids_.find(token);
  if (id < 0) return std::nullopt;
  return id;
}

std::optional<std::string> Tokenizer::id_to_token(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= kinds_.size() || kinds_[id] == Kind::kNone) {
    return std::nullopt;
  }
  return token_texts_[id];
}

std::string_view Tokenizer::token_bytes(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= kinds_.size()) return {};
  return token_bytes_[id];
}

bool Tokenizer::is_added(int32_t id) const {
  return id >= 0 && static_cast<size_t>(id) < kinds_.size() &&
         (kinds_[id] == Kind::kAdded || kinds_[id] == Kind::kAddedSpecial);
}

bool Tokenizer::is_special(int32_t id) const {
  return id >= 0 && static_cast<size_t>(id) < kinds_.size() && kinds_[id] == Kind::kAddedSpecial;
}

std::vector<int32_t> Tokenizer::special_ids() const {
  std::vector<int32_t> ids;
  for (const AddedToken& token : added_tokens_) {
    if (token.special) ids.push_back(token.id);
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

const AddedToken& Tokenizer::added_token(int32_t id) const {
  return added_tokens_[added_index_by_id_.at(id)];
}

}  // namespace vigil::llm

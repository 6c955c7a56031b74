// The Qwen2 tokenizer (Qwen2, Qwen2.5, Qwen2-VL, Qwen3 share it), read from a Hugging Face
// tokenizer.json: added tokens matched first, NFC, the Qwen2 split pattern, byte-level BPE.
// Encoding gives the ids transformers.js gives, decoding its text (tests/llm compares them on
// 12,000 strings). Unicode data is utf8proc's (15.0 on Debian 12): letters and digits assigned
// later are punctuation here. No BOS or EOS is added.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "llm/added_tokens.h"
#include "llm/bpe.h"
#include "llm/string_id_map.h"
#include "llm/tokenizer_error.h"

namespace vigil::llm {

// Counters of the expensive part of encoding: pieces that are not single tokens go through BPE
// merging unless the cache has them.
struct TokenizerCounters {
  uint64_t bpe_cache_hits = 0;    // pieces whose ids came from the cache
  uint64_t bpe_cache_misses = 0;  // pieces merged
};

// Immutable after load but for a bounded cache of merged pieces; every method is thread-safe.
// Move-only.
class Tokenizer {
 public:
  // Reads a tokenizer.json. Throws TokenizerLoadError naming the file and the problem: unreadable,
  // malformed JSON, a missing or invalid field (model.vocab, model.merges, added_tokens), or a
  // normalizer, pre-tokenizer, model option or decoder other than Qwen2's.
  static Tokenizer load(const std::string& path);
  // The same from the text of a tokenizer.json; origin names it in errors.
  static Tokenizer from_json_text(std::string_view json_text, const std::string& origin);

  // The token ids of text (UTF-8 bytes; ill-formed sequences read as U+FFFD, one per maximal
  // subpart, as a JavaScript TextDecoder reads them). allow_special = false treats special
  // added tokens (<|im_start|>, <|endoftext|>, ...) in text as plain text, for untrusted
  // input; non-special added tokens (<think>, <tool_call>, ...) are matched either way.
  std::vector<int32_t> encode(std::string_view text, bool allow_special = true) const;
  // The same, appending to ids (batch callers reuse one buffer).
  void encode_into(std::string_view text, std::vector<int32_t>& ids,
                   bool allow_special = true) const;

  // The text of ids, always valid UTF-8: the bytes of each run of byte-level tokens decoded
  // as a TextDecoder does (an incomplete character becomes U+FFFD), added tokens as their
  // content. skip_special drops special added tokens first. Ids without a token are skipped.
  std::string decode(const std::vector<int32_t>& ids, bool skip_special = false) const;

  // The id of a token as tokenizer.json writes it ("Ġhello", "<|im_end|>"); nullopt if none.
  std::optional<int32_t> token_to_id(std::string_view token) const;
  // The token of id as tokenizer.json writes it; nullopt if id has no token.
  std::optional<std::string> id_to_token(int32_t id) const;

  // What the text of id is made of: raw bytes of a byte-level token (possibly part of a UTF-8
  // character), the content of an added token, or empty for an id without a token.
  std::string_view token_bytes(int32_t id) const;
  bool is_added(int32_t id) const;
  bool is_special(int32_t id) const;

  const std::vector<AddedToken>& added_tokens() const { return added_tokens_; }
  // The ids of the special added tokens, ascending.
  std::vector<int32_t> special_ids() const;
  // One past the largest id (151669 for Qwen2.5 and Qwen3; model embeddings may be larger).
  size_t vocab_size() const { return kinds_.size(); }
  // The file or origin this was loaded from.
  const std::string& origin() const { return origin_; }
  // Totals since load, over all threads.
  TokenizerCounters counters() const { return {bpe_.cache_hits(), bpe_.cache_misses()}; }

 private:
  enum class Kind : uint8_t { kNone, kByteLevel, kAdded, kAddedSpecial };

  Tokenizer(std::string origin, std::vector<std::string> token_texts,
            std::vector<std::string> token_bytes, std::vector<Kind> kinds,
            std::vector<AddedToken> added_tokens, StringIdMap vocab_ids, BpeModel bpe);

  // NFC, normalized added tokens, the split pattern and BPE for text between raw added tokens.
  void encode_section(std::string_view section, std::vector<int32_t>& ids, bool allow_special,
                      std::string& scratch, std::vector<std::string_view>& pieces) const;
  void encode_normalized(std::string_view text, std::vector<int32_t>& ids,
                         std::vector<std::string_view>& pieces) const;
  const AddedToken& added_token(int32_t id) const;

  std::string origin_;
  std::vector<std::string> token_texts_;  // by id
  std::vector<std::string> token_bytes_;  // by id
  std::vector<Kind> kinds_;               // by id
  StringIdMap vocab_ids_;                 // model.vocab's tokens as tokenizer.json writes them
  std::vector<AddedToken> added_tokens_;
  StringIdMap added_ids_;  // added tokens by content
  std::unordered_map<int32_t, size_t> added_index_by_id_;
  BpeModel bpe_;
  // Added tokens matched in the raw text (normalized = false) and in the NFC text (normalized =
  // true), each with and without the special ones.
  AddedTokenMatcher raw_all_;
  AddedTokenMatcher raw_non_special_;
  AddedTokenMatcher normalized_all_;
  AddedTokenMatcher normalized_non_special_;
  bool normalize_nfc_ = false;
};

}  // namespace vigil::llm

// The Qwen2 pre-tokenizer: splits text into the pieces that BPE encodes one by one, exactly as
// the regex P of tokenizer.json does, matched left to right with the first alternative that
// fits winning (JavaScript and Oniguruma semantics):
//   (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|
//   \s*[\r\n]+|\s+(?!\S)|\s+
// A hand-written matcher rather than a regex engine: it is several times faster, and it pins
// down the two places where engines disagree. \s is the White_Space property (transformers.js
// rewrites \s so, and so does Oniguruma; PCRE2's \s misses U+0085), and (?i:) folds ASCII only
// (transformers.js's rewrite; PCRE2 would also let U+017F LONG S match 's').
#pragma once

#include <string_view>
#include <vector>

namespace vigil::llm {

// The regex P of Qwen2's tokenizer.json, for checking that a tokenizer.json uses it.
extern const std::string_view kQwen2SplitPattern;

// Appends to pieces the consecutive, non-empty pieces that cover text (they point into text).
// text must be valid UTF-8. Thread-safe.
void split_qwen2(std::string_view text, std::vector<std::string_view>& pieces);

}  // namespace vigil::llm

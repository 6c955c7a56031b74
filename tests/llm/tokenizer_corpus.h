// A deterministic corpus for checking the tokenizer against the reference: English prose,
// source code, CJK, Arabic, Hindi, emoji and ZWJ sequences, long digit runs, whitespace runs and
// newlines, added tokens inside text, decomposed (non-NFC) text, contractions, random assigned
// code points, mixtures, and invalid UTF-8 (raw bytes, which both sides read as a TextDecoder
// does: each maximal ill-formed subpart becomes U+FFFD).
//
// Letters and digits come from Unicode 15.0 and earlier only: the C++ side uses Debian 12's
// utf8proc (Unicode 15.0), while the reference uses the ICU of whatever Node runs it (Node 20.20
// has Unicode 17.0), and letters or numbers assigned after 15.0 would be classified differently.
// (A few Unicode 16.0 emoji are in: symbols either way, so both sides agree on them.)
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace vigil::testing {

struct CorpusEntry {
  std::string kind;  // "prose", "code", "cjk", ... (what generated it, for reports)
  std::string text;  // bytes: valid UTF-8 except in kind "invalid_utf8" (and some "mixed")
};

// At least minimum_count entries, the same for the same seed on every machine.
std::vector<CorpusEntry> make_tokenizer_corpus(uint64_t seed, size_t minimum_count);

// The kinds make_tokenizer_corpus generates, each with its share of the corpus.
std::vector<std::pair<std::string, double>> tokenizer_corpus_kinds();

// text with bytes outside printable ASCII escaped (\n, \t, \xNN), for failure messages.
std::string escape_bytes(const std::string& text, size_t max_bytes = 400);

}  // namespace vigil::testing

// Unicode Normalization Form C (the Qwen2 normalizer), through utf8proc, touching only the
// stretches of text that can change: ASCII, CJK and most other text pass through as is.
#pragma once

#include <string>
#include <string_view>

namespace vigil::llm {

// Appends NFC(text) to out. text must be valid UTF-8. Thread-safe.
void append_nfc(std::string_view text, std::string& out);

// True when NFC(text) == text, decided without normalizing (a conservative quick check: false
// means "may change"). text must be valid UTF-8.
bool is_nfc_inert(std::string_view text);

}  // namespace vigil::llm

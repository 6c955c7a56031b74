// The tokenizer's typed error: a tokenizer.json that cannot be read, parsed or used. The
// message names the file and what is wrong with it.
#pragma once

#include <stdexcept>
#include <string>

namespace vigil::llm {

class TokenizerLoadError : public std::runtime_error {
 public:
  enum class Reason {
    kUnreadable,     // the file cannot be opened or read
    kMalformedJson,  // not JSON
    kMissingField,   // a required field is absent
    kInvalidValue,   // a field has the wrong type or an impossible value
    kUnsupported,    // valid for Hugging Face tokenizers, but not the Qwen2 tokenizer this is
  };

  TokenizerLoadError(Reason reason, std::string path, const std::string& detail)
      : std::runtime_error("tokenizer '" + path + "': " + detail),
        reason_(reason),
        path_(std::move(path)) {}

  Reason reason() const { return reason_; }
  const std::string& path() const { return path_; }

 private:
  Reason reason_;
  std::string path_;
};

}  // namespace vigil::llm

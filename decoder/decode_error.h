// The decoder's typed error for bad input and failed I/O (STYLE.md, second error tier).
#pragma once

#include <stdexcept>
#include <string>

namespace vigil::decoder {

enum class DecodeErrorKind {
  kOpenFailed,        // the input could not be opened (missing file, unreachable URL, bad data)
  kNoVideoStream,     // opened, but holds no decodable video stream
  kUnsupportedCodec,  // a video stream whose codec this FFmpeg cannot decode
  kEmptyInput,        // zero bytes, or a video stream without a single frame
  kTimeout,           // a network or push read exceeded its deadline
  kInvalidRequest,    // the caller asked for something impossible (time past the end, fps <= 0)
  kCancelled,         // the caller cancelled
  kIo,                // a read failed mid-stream
  kInvalidData,       // bytes that are not what they claim to be (a corrupt JPEG picture)
};

const char* to_string(DecodeErrorKind kind);

// Thrown by the decoder; what() names the input and carries FFmpeg's own message.
class DecodeError : public std::runtime_error {
 public:
  DecodeError(DecodeErrorKind kind, const std::string& message)
      : std::runtime_error(message), kind_(kind) {}
  DecodeErrorKind kind() const { return kind_; }

 private:
  DecodeErrorKind kind_;
};

}  // namespace vigil::decoder

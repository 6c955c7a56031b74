#include "decoder/decode_error.h"

namespace vigil::decoder {

const char* to_string(DecodeErrorKind kind) {
  switch (kind) {
    case DecodeErrorKind::kOpenFailed:
      return "open_failed";
    case DecodeErrorKind::kNoVideoStream:
      return "no_video_stream";
    case DecodeErrorKind::kUnsupportedCodec:
      return "unsupported_codec";
    case DecodeErrorKind::kEmptyInput:
      return "empty_input";
    case DecodeErrorKind::kTimeout:
      return "timeout";
    case DecodeErrorKind::kInvalidRequest:
      return "invalid_request";
    case DecodeErrorKind::kCancelled:
      return "cancelled";
    case DecodeErrorKind::kIo:
      return "io_error";
    case DecodeErrorKind::kInvalidData:
      return "invalid_data";
  }
  return "unknown";
}

}  // namespace vigil::decoder

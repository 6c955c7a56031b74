#include "api/api_error.h"

namespace vigil::api {

const char* error_type_of_status(int status) {
  switch (status) {
    case 400:
      return "invalid_request_error";
    case 401:
      return "authentication_error";
    case 403:
      return "permission_error";
    case 404:
      return "not_found_error";
    case 405:
      return "invalid_request_error";
    case 409:
      return "conflict_error";
    case 413:
      return "invalid_request_error";
    case 415:
      return "invalid_request_error";
    case 429:
      return "rate_limit_error";
    case 501:
      return "not_implemented_error";
    case 503:
      return "service_unavailable_error";
    default:
      return status >= 500 ? "server_error" : "invalid_request_error";
  }
}

ApiError::ApiError(int status, std::string code, const std::string& message, std::string param,
                   std::string type)
    : std::runtime_error(message),
      status_(status),
      code_(std::move(code)),
      param_(std::move(param)),
      type_(type.empty() ? error_type_of_status(status) : std::move(type)) {}

nlohmann::json ApiError::body() const {
  return {{"error",
           {{"message", what()},
            {"type", type_},
            {"code", code_},
            {"param", param_.empty() ? nlohmann::json(nullptr) : nlohmann::json(param_)}}}};
}

ApiError api_error_of(const service::EngineError& error) {
  using Kind = service::EngineError::Kind;
  switch (error.kind()) {
    case Kind::kInvalidRequest:
      return ApiError(400, "invalid_request", error.what());
    case Kind::kNotFound:
      return ApiError(404, "not_found", error.what());
    case Kind::kConflict:
      return ApiError(409, "session_not_ready", error.what());
    case Kind::kUnsupported:
      return ApiError(501, "video_unsupported", error.what());
    case Kind::kOverloaded:
      return ApiError(503, "overloaded", error.what());
    case Kind::kInternal:
      break;
  }
  return ApiError(500, "internal_error", error.what());
}

}  // namespace vigil::api

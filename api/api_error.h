// An error the API answers with: an HTTP status and OpenAI's error body
// {"error": {"message", "type", "code", "param"}}. Thrown by request handlers (never on an
// I/O thread's async path), turned into a response once, where the request is dispatched.
#pragma once

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

#include "service/engine.h"

namespace vigil::api {

class ApiError : public std::runtime_error {
 public:
  // code: a stable machine name ("invalid_json", "not_found", ...); type: OpenAI's error
  // type, by default derived from status ("invalid_request_error", "authentication_error",
  // "not_found_error", "rate_limit_error", "server_error", ...).
  ApiError(int status, std::string code, const std::string& message, std::string param = "",
           std::string type = "");
  int status() const { return status_; }
  const std::string& code() const { return code_; }
  const std::string& type() const { return type_; }
  const std::string& param() const { return param_; }
  nlohmann::json body() const;  // {"error": {...}}

 private:
  int status_;
  std::string code_;
  std::string param_;
  std::string type_;
};

// The API's face of an engine refusal (400, 404, 409, 501, 503, 500).
ApiError api_error_of(const service::EngineError& error);

// OpenAI's error type for a status.
const char* error_type_of_status(int status);

}  // namespace vigil::api

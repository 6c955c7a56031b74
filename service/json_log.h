// Structured logs: one JSON object per line on stderr ({"ts","level","event",...fields}).
#pragma once

#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

namespace vigil::service {

enum class LogLevel { kDebug, kInfo, kWarn, kError };
LogLevel parse_log_level(const std::string& name);  // debug|info|warn|error, else info

// Thread-safe; lines are written whole. event is a dotted name ("http.request").
class JsonLog {
 public:
  explicit JsonLog(LogLevel level = LogLevel::kInfo) : level_(level) {}
  void write(LogLevel level, const std::string& event, nlohmann::json fields = {});
  void debug(const std::string& event, nlohmann::json fields = {}) {
    write(LogLevel::kDebug, event, std::move(fields));
  }
  void info(const std::string& event, nlohmann::json fields = {}) {
    write(LogLevel::kInfo, event, std::move(fields));
  }
  void warn(const std::string& event, nlohmann::json fields = {}) {
    write(LogLevel::kWarn, event, std::move(fields));
  }
  void error(const std::string& event, nlohmann::json fields = {}) {
    write(LogLevel::kError, event, std::move(fields));
  }

 private:
  const LogLevel level_;
  std::mutex mutex_;
};

}  // namespace vigil::service

#include "service/terminate_report.h"

#include <execinfo.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

namespace vigil::service {
namespace {

// The current exception's message, or what is known of it.
std::string describe_current_exception() {
  const std::exception_ptr current = std::current_exception();
  if (!current) return "none (a joinable std::thread destroyed, or std::terminate called)";
  try {
    std::rethrow_exception(current);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "an exception not derived from std::exception";
  }
}

// The message as a JSON string body: quotes, backslashes and control characters escaped.
std::string json_escaped(const std::string& text) {
  std::string out;
  for (const char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char code[8];
      std::snprintf(code, sizeof(code), "\\u%04x", static_cast<unsigned>(c));
      out += code;
    } else {
      out += c;
    }
  }
  return out;
}

[[noreturn]] void report_and_abort() {
  const std::string line = "{\"level\":\"fatal\",\"event\":\"process.terminate\",\"exception\":\"" +
                           json_escaped(describe_current_exception()) + "\"}\n";
  if (write(STDERR_FILENO, line.data(), line.size()) < 0) {
    // Nothing more can be said: stderr is gone.
  }
  void* frames[64];
  const int depth = backtrace(frames, 64);
  backtrace_symbols_fd(frames, depth, STDERR_FILENO);
  std::abort();
}

}  // namespace

void install_terminate_report() {
  std::set_terminate(report_and_abort);
}

}  // namespace vigil::service

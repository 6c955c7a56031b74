// A small, strict parser for "vigil COMMAND INPUT --flag value ..." command lines.
#pragma once

#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace vigil::service {

// Thrown for a malformed command line; main prints it with the usage and exits with 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class CommandLine {
 public:
  // args: everything after the command name. value_flags take one value; switch_flags none.
  // Throws UsageError for an unknown flag or a missing value.
  CommandLine(const std::vector<std::string>& args, const std::set<std::string>& value_flags,
              const std::set<std::string>& switch_flags);

  const std::vector<std::string>& positional() const { return positional_; }
  bool has(const std::string& flag) const;
  std::string value(const std::string& flag, const std::string& fallback = "") const;
  // Parsers that throw UsageError naming the flag when the text is not a valid value.
  double number(const std::string& flag, double fallback) const;
  int integer(const std::string& flag, int fallback) const;
  std::vector<double> numbers(const std::string& flag) const;  // "1,2.5,7"

 private:
  std::vector<std::string> positional_;
  std::map<std::string, std::string> values_;
  std::set<std::string> switches_;
};

}  // namespace vigil::service

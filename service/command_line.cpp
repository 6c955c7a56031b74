#include "service/command_line.h"

#include <cmath>
#include <sstream>

namespace vigil::service {
namespace {

double parse_number(const std::string& flag, const std::string& text) {
  size_t used = 0;
  double value = 0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size() || !std::isfinite(value)) {
    throw UsageError(flag + " expects a number, got '" + text + "'");
  }
  return value;
}

}  // namespace

CommandLine::CommandLine(const std::vector<std::string>& args,
                         const std::set<std::string>& value_flags,
                         const std::set<std::string>& switch_flags) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg.size() < 2 || arg.compare(0, 2, "--") != 0) {
      positional_.push_back(arg);
      continue;
    }
    std::string flag = arg;
    std::string inline_value;
    bool has_inline = false;
    const size_t equals = arg.find('=');
    if (equals != std::string::npos) {
      flag = arg.substr(0, equals);
      inline_value = arg.substr(equals + 1);
      has_inline = true;
    }
    if (switch_flags.count(flag) != 0 && !has_inline) {
      switches_.insert(flag);
    } else if (value_flags.count(flag) != 0) {
      if (!has_inline) {
        if (i + 1 >= args.size()) throw UsageError(flag + " needs a value");
        inline_value = args[++i];
      }
      values_[flag] = inline_value;
    } else {
      throw UsageError("unknown option " + flag);
    }
  }
}

bool CommandLine::has(const std::string& flag) const {
  return values_.count(flag) != 0 || switches_.count(flag) != 0;
}

std::string CommandLine::value(const std::string& flag, const std::string& fallback) const {
  const auto it = values_.find(flag);
  return it == values_.end() ? fallback : it->second;
}

double CommandLine::number(const std::string& flag, double fallback) const {
  const auto it = values_.find(flag);
  return it == values_.end() ? fallback : parse_number(flag, it->second);
}

int CommandLine::integer(const std::string& flag, int fallback) const {
  const auto it = values_.find(flag);
  if (it == values_.end()) return fallback;
  const double value = parse_number(flag, it->second);
  if (value != std::floor(value) || value < -1e9 || value > 1e9) {
    throw UsageError(flag + " expects a whole number, got '" + it->second + "'");
  }
  return static_cast<int>(value);
}

std::vector<double> CommandLine::numbers(const std::string& flag) const {
  std::vector<double> result;
  std::stringstream stream(value(flag));
  std::string item;
  while (std::getline(stream, item, ',')) result.push_back(parse_number(flag, item));
  if (result.empty()) throw UsageError(flag + " expects a comma-separated list of numbers");
  return result;
}

}  // namespace vigil::service

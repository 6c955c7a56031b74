// How every vigil command ends: its usage text and the one mapping from its exceptions to a
// message on stderr and the process exit code. Shared by the torch-free vigil executable and the
// model commands' library (libvigil_models.so), so both tiers print and exit alike.
#pragma once

#include <functional>
#include <string>

namespace vigil::service {

// The usage text printed by `vigil --help` and after every UsageError.
extern const char* const kUsage;

// Runs `command` (its name, for messages) and returns its exit code: body's return value, or
// 2 for UsageError and ConfigError, 1 for DecodeError, ModelLoadError and any other
// std::exception, each after one line on stderr. Lets non-std exceptions through.
int run_command(const std::string& command, const std::function<int()>& body);

}  // namespace vigil::service

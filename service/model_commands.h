// The commands that run a model (logits, generate, ask, serve) live in a shared library,
// libvigil_models.so next to the vigil executable, so that the decoder's commands (probe,
// decode) start without loading libtorch. The executable dlopen()s it only for these commands
// and calls its single entry point.
#pragma once

#include <string>

namespace vigil::service {

// Whether `command` is one of the library's commands.
inline bool is_model_command(const std::string& command) {
  return command == "logits" || command == "generate" || command == "ask" || command == "serve";
}

// The entry point's type and exported name.
using ModelCommandEntry = int (*)(const char* command, int argc, const char* const* argv);
inline constexpr const char* kModelCommandEntryName = "vigil_run_model_command";

}  // namespace vigil::service

// Runs model command `command` on its argc arguments (those after the command name) under
// run_command's exit-code contract and returns the exit code; errors are printed on stderr.
extern "C" int vigil_run_model_command(const char* command, int argc, const char* const* argv);

// libvigil_models.so: the entry point of the model commands (service/model_commands.h).
#include "service/model_commands.h"

#include <string>
#include <vector>

#include "service/command_line.h"
#include "service/command_runner.h"
#include "service/commands.h"

extern "C" int vigil_run_model_command(const char* command, int argc, const char* const* argv) {
  using namespace vigil::service;
  const std::string name = command;
  const std::vector<std::string> args(argv, argv + argc);
  return run_command(name, [&] {
    if (name == "logits") return run_logits_command(args);
    if (name == "generate") return run_generate_command(args);
    if (name == "ask") return run_ask_command(args);
    if (name == "serve") return run_serve_command(args);
    throw UsageError("unknown command '" + name + "'");
  });
}

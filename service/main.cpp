// vigil: watches video and answers questions about it. The executable itself holds the
// decoder's commands (probe, decode) and no libtorch; the model commands (logits, generate, ask,
// serve) are loaded from libvigil_models.so next to it when one of them is asked for.
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

extern "C" {
#include <libavutil/log.h>
}

#include "service/command_line.h"
#include "service/command_runner.h"
#include "service/commands.h"
#include "service/model_commands.h"
#include "service/shared_library.h"
#include "service/terminate_report.h"

namespace {

// The model commands' library next to this executable. Throws std::runtime_error naming it
// when it is missing or does not load.
vigil::service::SharedLibrary open_model_commands() {
  const std::filesystem::path path =
      std::filesystem::read_symlink("/proc/self/exe").parent_path() / VIGIL_MODELS_LIBRARY;
  try {
    return vigil::service::SharedLibrary(path.string());
  } catch (const std::runtime_error& error) {
    throw std::runtime_error("cannot load the model commands (" VIGIL_MODELS_LIBRARY
                             ", built with the vigil target): " +
                             std::string(error.what()));
  }
}

// Runs a model command in its library, which prints its own errors; returns the exit code.
int run_model_command(const std::string& command, const std::vector<std::string>& args) {
  const vigil::service::SharedLibrary models = open_model_commands();
  const auto entry =
      models.symbol<vigil::service::ModelCommandEntry>(vigil::service::kModelCommandEntryName);
  std::vector<const char*> argv;
  for (const std::string& arg : args) argv.push_back(arg.c_str());
  return entry(command.c_str(), static_cast<int>(argv.size()), argv.data());
}

}  // namespace

int main(int argc, char** argv) {
  vigil::service::install_terminate_report();
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::cout << vigil::service::kUsage;
    return args.empty() ? 2 : 0;
  }
  const std::string command = args[0];
  args.erase(args.begin());
  // FFmpeg's own warnings (e.g. concealed damage) are summarised in our damage report.
  av_log_set_level(AV_LOG_ERROR);
  return vigil::service::run_command(command, [&] {
    if (command == "probe") return vigil::service::run_probe_command(args);
    if (command == "decode") return vigil::service::run_decode_command(args);
    if (vigil::service::is_model_command(command)) return run_model_command(command, args);
    throw vigil::service::UsageError("unknown command '" + command + "'");
  });
}

// The vigil binary's subcommands. Each takes the arguments after its name and returns the
// process exit code (0 ok, 1 failed on its input, 2 bad usage: UsageError).
#pragma once

#include <string>
#include <vector>

namespace vigil::service {

int run_probe_command(const std::vector<std::string>& args);
int run_decode_command(const std::vector<std::string>& args);
int run_logits_command(const std::vector<std::string>& args);
int run_generate_command(const std::vector<std::string>& args);
int run_serve_command(const std::vector<std::string>& args);  // the HTTP/WebSocket API
int run_ask_command(const std::vector<std::string>& args);

}  // namespace vigil::service

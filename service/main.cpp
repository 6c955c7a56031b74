// vigil: watches video and answers questions about it. This binary's subcommands grow with
// the service; today: probe and decode (the decoder's command-line face).
#include <iostream>
#include <string>
#include <vector>

#include "decoder/decode_error.h"
#include "service/command_line.h"
#include "service/commands.h"

namespace {

constexpr const char* kUsage =
    "usage:\n"
    "  vigil probe INPUT                    stream facts and keyframe count as JSON\n"
    "  vigil decode INPUT (--fps R | --at T1,T2,... | --all) [--size WxH] [--threads N]\n"
    "               [--sequential] [--output DIR] [--fingerprint] [--timeout MS]\n"
    "                                       sampled RGB24 frames and DIR/index.json\n"
    "INPUT is a file path or a URL (http, https, rtsp, rtmp, hls, srt, tcp, udp).\n";

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::cout << kUsage;
    return args.empty() ? 2 : 0;
  }
  const std::string command = args[0];
  args.erase(args.begin());
  try {
    if (command == "probe") return vigil::service::run_probe_command(args);
    if (command == "decode") return vigil::service::run_decode_command(args);
    throw vigil::service::UsageError("unknown command '" + command + "'");
  } catch (const vigil::service::UsageError& error) {
    std::cerr << "vigil: " << error.what() << "\n" << kUsage;
    return 2;
  } catch (const vigil::decoder::DecodeError& error) {
    std::cerr << "vigil " << command << ": " << to_string(error.kind()) << ": " << error.what()
              << "\n";
    return 1;
  } catch (const std::exception& error) {
    std::cerr << "vigil " << command << ": " << error.what() << "\n";
    return 1;
  }
}

// vigil: watches video and answers questions about it. This binary's subcommands grow with
// the service; today: probe and decode (the decoder's command-line face).
#include <iostream>
#include <string>
#include <vector>

extern "C" {
#include <libavutil/log.h>
}

#include "decoder/decode_error.h"
#include "llm/model_error.h"
#include "service/command_line.h"
#include "service/commands.h"
#include "service/service_config.h"

namespace {

constexpr const char* kUsage =
    "usage:\n"
    "  vigil probe INPUT                    stream facts and keyframe count as JSON\n"
    "  vigil decode INPUT (--fps R | --at T1,T2,... | --all) [--size WxH] [--threads N]\n"
    "               [--sequential] [--output DIR] [--fingerprint] [--timeout MS]\n"
    "                                       sampled RGB24 frames and DIR/index.json\n"
    "  vigil logits --model DIR --inputs IN.safetensors --output OUT.safetensors\n"
    "               [--generate N] [--device cpu|cuda] [--dtype f32|bf16|f16]\n"
    "                                       logits (and a greedy continuation) of a checkpoint\n"
    "  vigil generate --model DIR --prompt TEXT [--max-tokens N] [--temperature T] [--top-k K]\n"
    "               [--top-p P] [--min-p P] [--repetition-penalty R] [--seed S] [--stop TEXT]\n"
    "               [--raw] [--system TEXT] [--show-prompt] [--device cpu|cuda] [--dtype "
    "f32|bf16|f16]\n"
    "                                       stream an answer from a checkpoint (tokens/s on "
    "stderr)\n"
    "  vigil ask --model DIR --video FILE --question TEXT [--fps R] [--max-frames N]\n"
    "               [--max-tokens N] [--show-prompt] [--device cpu|cuda] [--dtype f32|bf16|f16]\n"
    "                                       answer a question about a video (LLaVA-OneVision)\n"
    "  vigil serve --model DIR [--config FILE] [--host H] [--port P] [--api-keys K1,K2] ...\n"
    "                                       the HTTP/WebSocket API (docs/protocol.md; every\n"
    "                                       setting also as VIGIL_<NAME> or in FILE)\n"
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
  // FFmpeg's own warnings (e.g. concealed damage) are summarised in our damage report.
  av_log_set_level(AV_LOG_ERROR);
  try {
    if (command == "probe") return vigil::service::run_probe_command(args);
    if (command == "decode") return vigil::service::run_decode_command(args);
    if (command == "logits") return vigil::service::run_logits_command(args);
    if (command == "generate") return vigil::service::run_generate_command(args);
    if (command == "serve") return vigil::service::run_serve_command(args);
    if (command == "ask") return vigil::service::run_ask_command(args);
    throw vigil::service::UsageError("unknown command '" + command + "'");
  } catch (const vigil::service::ConfigError& error) {
    std::cerr << "vigil " << command << ": config_error: " << error.what() << "\n";
    return 2;
  } catch (const vigil::service::UsageError& error) {
    std::cerr << "vigil: " << error.what() << "\n" << kUsage;
    return 2;
  } catch (const vigil::decoder::DecodeError& error) {
    std::cerr << "vigil " << command << ": " << to_string(error.kind()) << ": " << error.what()
              << "\n";
    return 1;
  } catch (const vigil::llm::ModelLoadError& error) {
    std::cerr << "vigil " << command << ": model_error: " << error.what() << "\n";
    return 1;
  } catch (const std::exception& error) {
    std::cerr << "vigil " << command << ": " << error.what() << "\n";
    return 1;
  }
}

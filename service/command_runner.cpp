#include "service/command_runner.h"

#include <iostream>
#include <stdexcept>

#include "decoder/decode_error.h"
#include "llm/model_error.h"
#include "service/command_line.h"
#include "service/service_config.h"

namespace vigil::service {

const char* const kUsage =
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

int run_command(const std::string& command, const std::function<int()>& body) {
  try {
    return body();
  } catch (const ConfigError& error) {
    std::cerr << "vigil " << command << ": config_error: " << error.what() << "\n";
    return 2;
  } catch (const UsageError& error) {
    std::cerr << "vigil: " << error.what() << "\n" << kUsage;
    return 2;
  } catch (const decoder::DecodeError& error) {
    std::cerr << "vigil " << command << ": " << to_string(error.kind()) << ": " << error.what()
              << "\n";
    return 1;
  } catch (const llm::ModelLoadError& error) {
    std::cerr << "vigil " << command << ": model_error: " << error.what() << "\n";
    return 1;
  } catch (const std::exception& error) {
    std::cerr << "vigil " << command << ": " << error.what() << "\n";
    return 1;
  }
}

}  // namespace vigil::service

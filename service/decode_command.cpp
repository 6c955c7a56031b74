#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "decoder/frame_source.h"
#include "service/command_line.h"
#include "service/commands.h"
#include "service/json_report.h"
#include "service/progress_bar.h"

namespace vigil::service {
namespace {

decoder::OutputSize parse_size(const std::string& text) {
  int width = 0, height = 0;
  char separator = 0, extra = 0;
  if (std::sscanf(text.c_str(), "%d%c%d%c", &width, &separator, &height, &extra) != 3 ||
      (separator != 'x' && separator != 'X') || width <= 0 || height <= 0 || width > 16384 ||
      height > 16384) {
    throw UsageError("--size expects WIDTHxHEIGHT, e.g. 384x384, got '" + text + "'");
  }
  return {width, height};
}

// FNV-1a over all frames' bytes: a cheap fingerprint to compare runs.
struct Fingerprint {
  uint64_t hash = 1469598103934665603ull;
  void add(const std::vector<uint8_t>& bytes) {
    for (const uint8_t byte : bytes) hash = (hash ^ byte) * 1099511628211ull;
  }
};

}  // namespace

// vigil decode INPUT (--fps R | --at T1,T2,... | --all) [--size WxH] [--threads N]
//              [--sequential] [--output DIR] [--fingerprint]
// Writes DIR/frame_NNNNNN.rgb (packed RGB24) and DIR/index.json; prints a JSON summary.
int run_decode_command(const std::vector<std::string>& args) {
  const CommandLine line(args, {"--fps", "--at", "--size", "--threads", "--output", "--timeout"},
                         {"--all", "--sequential", "--fingerprint"});
  if (line.positional().size() != 1) throw UsageError("decode takes exactly one INPUT");
  const int modes = line.has("--fps") + line.has("--at") + line.has("--all");
  if (modes != 1) throw UsageError("decode needs exactly one of --fps R, --at T1,T2,... or --all");

  decoder::DecodeOptions options;
  if (line.has("--fps")) {
    const double rate = line.number("--fps", 1);
    if (!(rate > 0)) throw UsageError("--fps must be positive");
    options.sampling = decoder::SampleRequest::at_rate(rate);
  } else if (line.has("--at")) {
    options.sampling = decoder::SampleRequest::at_times(line.numbers("--at"));
  }
  if (line.has("--size")) options.output_size = parse_size(line.value("--size"));
  options.workers = line.integer("--threads", 0);
  if (options.workers < 0) throw UsageError("--threads must be 0 (one per core) or more");
  options.force_sequential = line.has("--sequential");
  options.source.connect_timeout = options.source.read_timeout =
      std::chrono::milliseconds(line.integer("--timeout", 5000));

  const std::string output_dir = line.value("--output");
  if (!output_dir.empty()) std::filesystem::create_directories(output_dir);

  const auto start = std::chrono::steady_clock::now();
  const decoder::MediaSource source = decoder::MediaSource::from_string(line.positional()[0]);
  std::unique_ptr<decoder::FrameSource> frames = decoder::open_frame_source(source, options);

  nlohmann::json index = nlohmann::json::array();
  Fingerprint fingerprint;
  int64_t count = 0;
  {
    ProgressBar progress("decode", frames->planned_samples());
    while (std::optional<decoder::Frame> frame = frames->next()) {
      if (!output_dir.empty()) {
        char name[64];
        std::snprintf(name, sizeof(name), "frame_%06lld.rgb", static_cast<long long>(count));
        const std::string path = output_dir + "/" + name;
        std::ofstream file(path, std::ios::binary);
        file.write(reinterpret_cast<const char*>(frame->rgb.data()),
                   static_cast<std::streamsize>(frame->rgb.size()));
        if (!file) {
          std::cerr << "vigil decode: cannot write " << path << ": " << std::strerror(errno)
                    << "\n";
          return 1;
        }
        index.push_back({{"file", name},
                         {"time", frame->time_seconds},
                         {"pts", frame->pts},
                         {"pts_seconds", frame->pts_seconds},
                         {"index", frame->frame_index},
                         {"width", frame->width},
                         {"height", frame->height}});
      }
      if (line.has("--fingerprint")) fingerprint.add(frame->rgb);
      ++count;
      progress.update(count);
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  nlohmann::json summary = {
      {"input", line.positional()[0]},
      {"stream", to_json(frames->info())},
      {"frames", count},
      {"seconds", seconds},
      {"frames_per_second", seconds > 0 ? static_cast<double>(count) / seconds : 0},
      {"counters", to_json(frames->counters())},
      {"damage", to_json(frames->damage())},
  };
  if (line.has("--fingerprint")) {
    char hex[17];
    std::snprintf(hex, sizeof(hex), "%016llx", static_cast<unsigned long long>(fingerprint.hash));
    summary["fingerprint"] = hex;
  }
  if (!output_dir.empty()) {
    nlohmann::json document = summary;
    document["frames"] = index;
    std::ofstream file(output_dir + "/index.json");
    file << document.dump(1) << "\n";
    if (!file) {
      std::cerr << "vigil decode: cannot write " << output_dir << "/index.json\n";
      return 1;
    }
  }
  std::cout << summary.dump(2) << std::endl;
  return 0;
}

}  // namespace vigil::service

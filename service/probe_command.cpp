#include <iostream>

#include "decoder/frame_source.h"
#include "service/command_line.h"
#include "service/commands.h"
#include "service/json_report.h"

namespace vigil::service {

// vigil probe INPUT [--timeout MS]: stream facts and exact keyframe count as JSON on stdout.
int run_probe_command(const std::vector<std::string>& args) {
  const CommandLine line(args, {"--timeout"}, {});
  if (line.positional().size() != 1) throw UsageError("probe takes exactly one INPUT");
  decoder::SourceOptions options;
  options.connect_timeout = options.read_timeout =
      std::chrono::milliseconds(line.integer("--timeout", 5000));
  const decoder::MediaSource source = decoder::MediaSource::from_string(line.positional()[0]);
  const decoder::StreamInfo info = decoder::probe(source, options);
  std::cout << to_json(info).dump(2) << std::endl;
  return 0;
}

}  // namespace vigil::service

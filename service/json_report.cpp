#include "service/json_report.h"

namespace vigil::service {

nlohmann::json to_json(const decoder::StreamInfo& info) {
  return {
      {"container", info.container},
      {"codec", info.codec},
      {"pixel_format", info.pixel_format},
      {"width", info.width},
      {"height", info.height},
      {"coded_width", info.coded_width},
      {"coded_height", info.coded_height},
      {"rotation_degrees", info.rotation_degrees},
      {"time_base", std::to_string(info.time_base_num) + "/" + std::to_string(info.time_base_den)},
      {"frame_rate", info.frame_rate},
      {"duration_seconds", info.duration_seconds},
      {"frame_count", info.frame_count},
      {"keyframe_count", info.keyframe_count},
      {"bit_rate", info.bit_rate},
      {"indexed", info.indexed},
  };
}

nlohmann::json to_json(const decoder::DecodeCountersSnapshot& counters) {
  return {
      {"packets_read", counters.packets_read},     {"frames_decoded", counters.frames_decoded},
      {"frames_skipped", counters.frames_skipped}, {"frames_converted", counters.frames_converted},
      {"frames_dropped", counters.frames_dropped}, {"seeks", counters.seeks},
      {"decode_errors", counters.decode_errors},   {"reconnects", counters.reconnects},
  };
}

nlohmann::json to_json(const decoder::DamageReport& damage) {
  return {
      {"damaged", damage.damaged()},
      {"decode_errors", damage.decode_errors},
      {"missing_samples", damage.missing_samples},
      {"first_error", damage.first_error},
  };
}

}  // namespace vigil::service

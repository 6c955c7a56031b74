// JSON forms of the decoder's results, shared by the CLI (and later the API).
#pragma once

#include <nlohmann/json.hpp>

#include "decoder/decode_counters.h"
#include "decoder/frame.h"
#include "decoder/stream_info.h"

namespace vigil::service {

nlohmann::json to_json(const decoder::StreamInfo& info);
nlohmann::json to_json(const decoder::DecodeCountersSnapshot& counters);
nlohmann::json to_json(const decoder::DamageReport& damage);

}  // namespace vigil::service

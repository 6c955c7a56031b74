// Chooses and builds the Engine for a configuration.
#pragma once

#include <memory>

#include "service/engine.h"
#include "service/json_log.h"
#include "service/metrics.h"
#include "service/service_config.h"
#include "service/work_scheduler.h"

namespace vigil::service {

// The engine for config.model_dir: a VideoEngine for a video-language checkpoint
// (config.json model_type llava_onevision), else the TextEngine (a Qwen2-family text model).
// Throws what loading the checkpoint throws.
std::unique_ptr<Engine> make_engine(const ServiceConfig& config, WorkScheduler& scheduler,
                                    ServiceMetrics& metrics, JsonLog& log);

}  // namespace vigil::service

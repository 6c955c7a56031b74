#include "service/engine_factory.h"

#include <fstream>
#include <nlohmann/json.hpp>

#include "service/text_engine.h"
#include "service/video_engine.h"

namespace vigil::service {

namespace {

// config.json's model_type ("" when unreadable: loading the checkpoint reports why).
std::string model_type_of(const std::string& model_dir) {
  std::ifstream file(model_dir + "/config.json");
  const nlohmann::json config = nlohmann::json::parse(file, nullptr, /*allow_exceptions=*/false);
  return config.is_object() ? config.value("model_type", "") : "";
}

}  // namespace

std::unique_ptr<Engine> make_engine(const ServiceConfig& config, WorkScheduler& scheduler,
                                    ServiceMetrics& metrics, JsonLog& log) {
  if (model_type_of(config.model_dir) == "llava_onevision") {
    VideoEngineOptions options;
    options.model_dir = config.model_dir;
    options.model_id = config.model_name;
    options.device = config.device;
    options.dtype = config.dtype;
    options.max_tokens_limit = config.max_tokens_limit;
    options.max_video_tokens = config.max_video_tokens;
    options.data_dir = config.data_dir;
    options.frames_per_step = config.frames_per_step;
    options.token_drop_threshold = config.token_drop_threshold;
    options.window_tokens = config.window_tokens;
    options.recent_tokens = config.recent_tokens;
    options.host_memory_bytes = config.host_memory_bytes;
    options.gpu_cache_bytes = config.gpu_cache_bytes;
    options.index_gpu_bytes = config.index_gpu_bytes;
    options.quantization_bits = config.quantization_bits;
    options.decode_batch = {config.decode_batch_rows, config.decode_batch_tokens};
    return std::make_unique<VideoEngine>(options, scheduler, metrics, log);
  }
  TextEngineOptions options;
  options.model_dir = config.model_dir;
  options.model_id = config.model_name;
  options.device = config.device;
  options.dtype = config.dtype;
  options.max_tokens_limit = config.max_tokens_limit;
  options.decode_batch = {config.decode_batch_rows, config.decode_batch_tokens};
  return std::make_unique<TextEngine>(options, scheduler, metrics, log);
}

}  // namespace vigil::service

#include "service/service_config.h"

#include <cctype>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>

#include "service/command_line.h"

extern char** environ;

namespace vigil::service {
namespace {

enum class Type { kString, kInt, kInt64, kDouble, kBool, kStringList };

// One setting: its JSON key, and from it the flag (--max-streams) and variable (VIGIL_MAX_STREAMS).
struct Field {
  const char* key;
  Type type;
  std::function<void(ServiceConfig&, const nlohmann::json&)> set;
};

std::string flag_of(const std::string& key) {
  std::string flag = "--" + key;
  for (char& c : flag) {
    if (c == '_') c = '-';
  }
  return flag;
}

std::string variable_of(const std::string& key) {
  std::string name = "VIGIL_" + key;
  for (char& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return name;
}

template <typename T>
std::function<void(ServiceConfig&, const nlohmann::json&)> setter(T ServiceConfig::*member) {
  return [member](ServiceConfig& config, const nlohmann::json& value) {
    config.*member = value.get<T>();
  };
}

const std::vector<Field>& fields() {
  static const std::vector<Field> table = {
      {"host", Type::kString, setter(&ServiceConfig::host)},
      {"port", Type::kInt, setter(&ServiceConfig::port)},
      {"io_threads", Type::kInt, setter(&ServiceConfig::io_threads)},
      {"api_keys", Type::kStringList, setter(&ServiceConfig::api_keys)},
      {"max_sessions", Type::kInt, setter(&ServiceConfig::max_sessions)},
      {"max_streams", Type::kInt, setter(&ServiceConfig::max_streams)},
      {"max_upload_bytes", Type::kInt64, setter(&ServiceConfig::max_upload_bytes)},
      {"max_body_bytes", Type::kInt64, setter(&ServiceConfig::max_body_bytes)},
      {"max_message_bytes", Type::kInt64, setter(&ServiceConfig::max_message_bytes)},
      {"question_queue", Type::kInt, setter(&ServiceConfig::question_queue)},
      {"ingest_queue", Type::kInt, setter(&ServiceConfig::ingest_queue)},
      {"write_queue", Type::kInt, setter(&ServiceConfig::write_queue)},
      {"max_video_tokens", Type::kInt, setter(&ServiceConfig::max_video_tokens)},
      {"max_tokens_limit", Type::kInt, setter(&ServiceConfig::max_tokens_limit)},
      {"read_timeout_seconds", Type::kInt, setter(&ServiceConfig::read_timeout_seconds)},
      {"shutdown_grace_seconds", Type::kInt, setter(&ServiceConfig::shutdown_grace_seconds)},
      {"allow_private_urls", Type::kBool, setter(&ServiceConfig::allow_private_urls)},
      {"video_url_timeout_seconds", Type::kInt, setter(&ServiceConfig::video_url_timeout_seconds)},
      {"workers", Type::kInt, setter(&ServiceConfig::workers)},
      {"sample_frames_per_second", Type::kDouble, setter(&ServiceConfig::sample_frames_per_second)},
      {"decode_threads", Type::kInt, setter(&ServiceConfig::decode_threads)},
      {"data_dir", Type::kString, setter(&ServiceConfig::data_dir)},
      {"model_dir", Type::kString, setter(&ServiceConfig::model_dir)},
      {"model_name", Type::kString, setter(&ServiceConfig::model_name)},
      {"device", Type::kString, setter(&ServiceConfig::device)},
      {"dtype", Type::kString, setter(&ServiceConfig::dtype)},
      {"log_level", Type::kString, setter(&ServiceConfig::log_level)},
      {"token_drop_threshold", Type::kDouble, setter(&ServiceConfig::token_drop_threshold)},
      {"window_tokens", Type::kInt64, setter(&ServiceConfig::window_tokens)},
      {"recent_tokens", Type::kInt64, setter(&ServiceConfig::recent_tokens)},
      {"gpu_cache_bytes", Type::kInt64, setter(&ServiceConfig::gpu_cache_bytes)},
      {"index_gpu_bytes", Type::kInt64, setter(&ServiceConfig::index_gpu_bytes)},
      {"host_memory_bytes", Type::kInt64, setter(&ServiceConfig::host_memory_bytes)},
      {"quantization_bits", Type::kInt, setter(&ServiceConfig::quantization_bits)},
      {"frames_per_step", Type::kInt, setter(&ServiceConfig::frames_per_step)},
      {"decode_batch_rows", Type::kInt, setter(&ServiceConfig::decode_batch_rows)},
      {"decode_batch_tokens", Type::kInt64, setter(&ServiceConfig::decode_batch_tokens)},
  };
  return table;
}

bool type_matches(Type type, const nlohmann::json& value) {
  switch (type) {
    case Type::kString:
      return value.is_string();
    case Type::kInt:
      return value.is_number_integer() && value.get<int64_t>() >= INT32_MIN &&
             value.get<int64_t>() <= INT32_MAX;
    case Type::kInt64:
      return value.is_number_integer();
    case Type::kDouble:
      return value.is_number();
    case Type::kBool:
      return value.is_boolean();
    case Type::kStringList:
      if (!value.is_array()) return false;
      for (const auto& item : value) {
        if (!item.is_string()) return false;
      }
      return true;
  }
  return false;
}

// Text from a flag or variable as the JSON value of the field's type.
nlohmann::json parse_text(Type type, const std::string& text, const std::string& where) {
  try {
    switch (type) {
      case Type::kString:
        return text;
      case Type::kStringList: {
        nlohmann::json list = nlohmann::json::array();
        size_t start = 0;
        while (start <= text.size()) {
          const size_t comma = std::min(text.find(',', start), text.size());
          if (comma > start) list.push_back(text.substr(start, comma - start));
          start = comma + 1;
        }
        return list;
      }
      case Type::kBool:
        if (text == "true" || text == "1" || text == "yes") return true;
        if (text == "false" || text == "0" || text == "no") return false;
        break;
      case Type::kInt:
      case Type::kInt64: {
        size_t used = 0;
        const long long value = std::stoll(text, &used);
        if (used == text.size()) return value;
        break;
      }
      case Type::kDouble: {
        size_t used = 0;
        const double value = std::stod(text, &used);
        if (used == text.size()) return value;
        break;
      }
    }
  } catch (const std::exception&) {
  }
  throw ConfigError(where + ": '" + text + "' is not a valid value");
}

void apply(ServiceConfig& config, const Field& field, const nlohmann::json& value,
           const std::string& where) {
  if (!type_matches(field.type, value)) {
    throw ConfigError(where + ": wrong type for " + field.key + " (got " + value.dump() + ")");
  }
  field.set(config, value);
}

void validate(const ServiceConfig& c) {
  auto require = [](bool ok, const std::string& what) {
    if (!ok) throw ConfigError("config: " + what);
  };
  require(c.port >= 0 && c.port <= 65535, "port must be 0..65535");
  require(c.io_threads >= 1 && c.io_threads <= 256, "io_threads must be 1..256");
  require(c.workers >= 1 && c.workers <= 256, "workers must be 1..256");
  require(c.max_sessions >= 1, "max_sessions must be >= 1");
  require(c.max_streams >= 0, "max_streams must be >= 0");
  require(c.max_upload_bytes >= 1024, "max_upload_bytes must be >= 1024");
  require(c.max_body_bytes >= 1024, "max_body_bytes must be >= 1024");
  require(c.max_message_bytes >= 1024, "max_message_bytes must be >= 1024");
  require(c.question_queue >= 1 && c.ingest_queue >= 1 && c.write_queue >= 4,
          "question_queue and ingest_queue must be >= 1, write_queue >= 4");
  require(c.max_video_tokens >= 0, "max_video_tokens must be >= 0");
  require(c.max_tokens_limit >= 1, "max_tokens_limit must be >= 1");
  require(c.read_timeout_seconds >= 1, "read_timeout_seconds must be >= 1");
  require(c.shutdown_grace_seconds >= 0, "shutdown_grace_seconds must be >= 0");
  require(c.video_url_timeout_seconds >= 1, "video_url_timeout_seconds must be >= 1");
  require(c.sample_frames_per_second > 0, "sample_frames_per_second must be > 0");
  require(!c.model_dir.empty(), "model_dir is required (--model DIR or VIGIL_MODEL_DIR)");
  require(!c.data_dir.empty(), "data_dir must not be empty");
  require(c.token_drop_threshold >= -1.0, "token_drop_threshold must be >= -1 (>= 1 keeps all)");
  require(c.window_tokens >= 1 && c.recent_tokens >= 0,
          "window_tokens must be >= 1 and recent_tokens >= 0");
  require(c.gpu_cache_bytes >= 0 && c.host_memory_bytes >= 0 && c.index_gpu_bytes >= 0,
          "gpu_cache_bytes, index_gpu_bytes and host_memory_bytes must be >= 0");
  require(c.quantization_bits == 0 || c.quantization_bits == 2 || c.quantization_bits == 4 ||
              c.quantization_bits == 8,
          "quantization_bits must be 0, 2, 4 or 8");
  require(c.frames_per_step >= 1, "frames_per_step must be >= 1");
  require(c.decode_batch_rows >= -1 && c.decode_batch_rows <= 256,
          "decode_batch_rows must be -1 (8 on CUDA, none on CPU), 0 (none) or 1..256");
  require(c.decode_batch_tokens >= 2, "decode_batch_tokens must be >= 2");
  require(c.log_level == "debug" || c.log_level == "info" || c.log_level == "warn" ||
              c.log_level == "error",
          "log_level must be debug, info, warn or error");
}

}  // namespace

ServiceConfig load_service_config(const std::vector<std::string>& args,
                                  const std::map<std::string, std::string>& environment) {
  std::set<std::string> value_flags = {"--config", "--model"};
  for (const Field& field : fields()) value_flags.insert(flag_of(field.key));
  const CommandLine line(args, value_flags, {});
  if (!line.positional().empty()) {
    throw UsageError("serve takes no positional argument: '" + line.positional()[0] + "'");
  }

  ServiceConfig config;
  std::string file = line.value("--config");
  if (file.empty() && environment.count("VIGIL_CONFIG")) file = environment.at("VIGIL_CONFIG");
  if (!file.empty()) {
    std::ifstream in(file);
    if (!in) throw ConfigError("cannot read config file " + file);
    const nlohmann::json json = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
    if (!json.is_object()) throw ConfigError(file + ": not a JSON object");
    for (const auto& [key, value] : json.items()) {
      const Field* match = nullptr;
      for (const Field& field : fields()) {
        if (key == field.key) match = &field;
      }
      if (match == nullptr) throw ConfigError(file + ": unknown setting '" + key + "'");
      apply(config, *match, value, file);
    }
  }
  for (const Field& field : fields()) {
    const std::string name = variable_of(field.key);
    const auto found = environment.find(name);
    if (found != environment.end()) {
      apply(config, field, parse_text(field.type, found->second, name), name);
    }
  }
  for (const Field& field : fields()) {
    const std::string flag = flag_of(field.key);
    if (line.has(flag)) apply(config, field, parse_text(field.type, line.value(flag), flag), flag);
  }
  if (line.has("--model")) config.model_dir = line.value("--model");
  if (config.model_name.empty() && !config.model_dir.empty()) {
    std::string dir = config.model_dir;
    while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
    config.model_name = dir.substr(dir.find_last_of('/') + 1);
  }
  validate(config);
  return config;
}

std::map<std::string, std::string> process_environment() {
  std::map<std::string, std::string> variables;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string text = *entry;
    const size_t equals = text.find('=');
    if (equals != std::string::npos && text.rfind("VIGIL_", 0) == 0) {
      variables[text.substr(0, equals)] = text.substr(equals + 1);
    }
  }
  return variables;
}

const char* service_config_usage() {
  return "  vigil serve --model DIR [--config FILE] [--host H] [--port P] [--api-keys K1,K2]\n"
         "              [--workers N] [--max-streams N] [--max-upload-bytes B]\n"
         "              [--allow-private-urls true] [--data-dir DIR] [--device cpu|cuda] ...\n"
         "                                       the HTTP/WebSocket API (every setting also\n"
         "                                       as VIGIL_<NAME> and as a key of FILE)\n";
}

}  // namespace vigil::service

// The server's typed configuration, parsed once at start from (later wins) built-in defaults,
// a JSON file (--config FILE), VIGIL_* environment variables and command-line flags.
#pragma once

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace vigil::service {

// A configuration value that is missing, of the wrong type or out of range (names it).
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct ServiceConfig {
  // Network.
  std::string host = "127.0.0.1";
  int port = 8080;                    // 0 = any free port (the bound one is logged)
  int io_threads = 2;                 // Asio threads; never run inference
  std::vector<std::string> api_keys;  // empty: no authentication
  // Limits (refused up front: 400, 413, 429 or 503).
  int max_sessions = 64;                         // files + streams + realtime sessions
  int max_streams = 16;                          // live streams + realtime sessions
  int64_t max_upload_bytes = int64_t{1} << 30;   // one POST /v1/files body
  int64_t max_body_bytes = int64_t{1} << 20;     // any other request body
  int64_t max_message_bytes = int64_t{4} << 20;  // one WebSocket message
  int question_queue = 64;                       // questions waiting for a worker
  int ingest_queue = 256;                        // ingestion steps waiting for a worker
  int write_queue = 256;                         // messages waiting to be written to one client
  int max_video_tokens = 32768;         // video tokens one request may bring into the context
  int max_tokens_limit = 4096;          // largest max_tokens a request may ask for
  int read_timeout_seconds = 30;        // any read of a request or message
  int shutdown_grace_seconds = 30;      // answers in flight may finish within this
  bool allow_private_urls = false;      // ingest URLs naming loopback/private addresses
  int video_url_timeout_seconds = 300;  // a chat request waits this long for its URL's ingestion
  // Work.
  int workers = 2;                        // inference and ingestion threads
  double sample_frames_per_second = 1.0;  // archive sampling rate for ingestion
  int decode_threads = 0;                 // archive decoder threads, 0 = one per core
  // Storage and model.
  std::string data_dir = "/tmp/vigil-data";  // uploads and per-session data
  std::string model_dir;                     // checkpoint folder (tokenizer.json, config.json)
  std::string model_name;                    // the id /v1/models reports; default: folder name
  std::string device = "cpu";                // cpu | cuda
  std::string dtype = "f32";                 // f32 | bf16 | f16
  std::string log_level = "info";            // debug | info | warn | error
  // Video memory (video-language checkpoints).
  double token_drop_threshold = 0.5;  // Differential Token Drop tau; >= 1 keeps every token
  int64_t window_tokens = 15000;      // tokens new frames attend to besides the sinks
  int64_t recent_tokens = 3136;       // newest video tokens always in an answer (16 frames)
  int64_t gpu_cache_bytes = int64_t{1} << 30;    // per session: retrieved blocks on the device
  int64_t index_gpu_bytes = int64_t{1} << 30;    // per session: retrieval keys on the device
  int64_t host_memory_bytes = int64_t{8} << 30;  // per session: host RAM tier
  int quantization_bits = 4;                     // host and disk tiers: 2, 4 or 8; 0 = exact
  int frames_per_step = 32;                      // archive frames encoded per ingestion step
  // Answers decoded together in one step (llm/decode_batcher.h): -1 = 8 on CUDA, none on CPU.
  int decode_batch_rows = -1;
  int64_t decode_batch_tokens = 8192;  // context + answer tokens per row; longer ones go alone
};

// Builds the configuration. args are the flags after "vigil serve"; environment is the
// process environment as name -> value (only VIGIL_* names are read). Throws UsageError for
// an unknown flag and ConfigError for a bad file or value.
ServiceConfig load_service_config(const std::vector<std::string>& args,
                                  const std::map<std::string, std::string>& environment);

// The process environment as a map (for load_service_config).
std::map<std::string, std::string> process_environment();

// The flags "vigil serve" takes, for its usage text.
const char* service_config_usage();

}  // namespace vigil::service

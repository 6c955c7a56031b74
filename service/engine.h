// The engine: what the API asks of the models. It ingests the frames of a session (decoding
// its video; a video-language engine also encodes them into memory) and answers questions
// about sessions, streaming the answer as it is generated. api/ talks to this interface only;
// implementations (TextEngine now, the video engine later) are made by make_engine.
//
// Threads: start_ingest, stop_ingest, check and info are called from any thread (an I/O
// thread included) and never block for long; answer blocks for the whole answer and is called
// from a worker of the WorkScheduler, never from an I/O thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "decoder/media_source.h"

namespace vigil::service {

// How the answers in flight share decoding steps (llm/decode_batcher.h).
struct DecodeBatchOptions {
  int rows = -1;              // answers decoded together; -1: 8 on CUDA, none elsewhere; 0: none
  int64_t row_tokens = 8192;  // context and answer tokens a row holds; longer answers decode alone
};

// Why the engine refused or failed a request; api/ maps kind to an HTTP status once.
class EngineError : public std::runtime_error {
 public:
  enum class Kind {
    kInvalidRequest,  // 400: the request cannot be answered as asked (too long, bad window)
    kNotFound,        // 404: a session named by the request is unknown
    kConflict,        // 409: a session is not in a state to answer (failed, closed)
    kUnsupported,     // 501: the loaded model cannot do this (video without a vision tower)
    kOverloaded,      // 503: no capacity now
    kInternal,        // 500: a bug or a failed model
  };
  EngineError(Kind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  Kind kind() const { return kind_; }

 private:
  Kind kind_;
};

struct EngineInfo {
  std::string model_id;        // what /v1/models lists
  std::string model_dir;       // checkpoint folder
  bool has_vision = false;     // can condition answers on video
  int64_t context_tokens = 0;  // longest prompt + answer
  std::string device;          // "cpu", "cuda:0"
};

// What a session's ingestion reads.
struct IngestRequest {
  std::string session_id;
  decoder::MediaSource source;     // file path, URL or push source
  bool live = false;               // live: decoded in order as it arrives (no end expected)
  double frames_per_second = 1.0;  // sampling rate on the video timeline
  int decode_threads = 0;          // archive decoder threads, 0 = one per core
};

// Progress of one session's ingestion, reported as it goes.
struct IngestProgress {
  int64_t frames_ingested = 0;  // sampled frames taken in so far
  int64_t frames_planned = -1;  // archive: total planned samples; live: -1
  int64_t frames_dropped = 0;   // live: frames the decoder dropped because ingestion lagged
  double video_seconds = 0;     // time of the last frame taken in
  int64_t tokens_kept = 0;      // video tokens kept in memory
  int64_t tokens_dropped = 0;   // video tokens dropped (token drop), cumulative
};

// What Differential Token Drop kept of one ingested frame: the scene-change signal.
struct FrameTokens {
  int64_t frame_index = 0;  // the frame's place among the session's ingested frames, from 0
  double time_seconds = 0;  // its time on the session's video timeline
  int64_t tokens_in = 0;    // video tokens before token drop
  int64_t tokens_kept = 0;  // after (a session's first frame keeps them all)
  double kept_ratio() const {
    return tokens_in > 0 ? static_cast<double>(tokens_kept) / static_cast<double>(tokens_in) : 0.0;
  }
};

// Receives one session's ingestion events, on the engine's threads (never concurrently for
// one session). After on_finished nothing more is called.
class IngestObserver {
 public:
  virtual ~IngestObserver() = default;
  virtual void on_progress(const IngestProgress& progress) = 0;
  // Per ingested frame, in stream order, what token drop kept of it; called before the
  // on_progress that counts them. Engines without token drop (TextEngine) never call it.
  virtual void on_frames(const std::vector<FrameTokens>& frames) { (void)frames; }
  // error: empty when the source ended (or was stopped) normally, else what failed.
  virtual void on_finished(const IngestProgress& progress, const std::string& error) = 0;
};

// A video that a question is about: a session and an optional window on its timeline.
struct VideoReference {
  std::string session_id;
  std::optional<double> start_seconds;
  std::optional<double> end_seconds;
};

struct AnswerRequest {
  std::string request_id;
  // OpenAI-shaped chat messages; video_url parts stay in place (the engine's chat template
  // turns them into the model's video placeholders), videos lists what they name, in order.
  nlohmann::ordered_json messages = nlohmann::ordered_json::array();
  std::vector<VideoReference> videos;
  int max_tokens = 256;      // tokens to generate at most
  double temperature = 1.0;  // 0 = greedy
  double top_p = 1.0;
  std::optional<uint64_t> seed;
  std::vector<std::string> stop;  // stop strings
};

struct AnswerUsage {
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  int64_t video_tokens = 0;        // of prompt_tokens
  double time_to_first_token = 0;  // seconds, from answer() being called
  double total_seconds = 0;
  std::string finish_reason = "stop";  // "stop" | "length" | "cancelled"
};

// Receives each piece of the answer's text as soon as it is whole UTF-8 and past any stop
// string; returns false to cancel the answer.
using DeltaCallback = std::function<bool(const std::string& delta)>;

class Engine {
 public:
  virtual ~Engine() = default;

  virtual EngineInfo info() const = 0;

  // Starts ingesting a session in the background and returns at once; progress and the end
  // go to observer. Throws EngineError(kOverloaded) when it cannot take another session.
  virtual void start_ingest(const IngestRequest& request,
                            std::shared_ptr<IngestObserver> observer) = 0;
  // Stops a session's ingestion (if running) and frees what the engine holds for it; returns
  // after its threads have stopped touching the session. Unknown ids are ignored.
  virtual void stop_ingest(const std::string& session_id) = 0;

  // Validates a request up front, cheaply (no model work): throws EngineError (kUnsupported
  // for video on a text model, kInvalidRequest when it cannot fit the context or the video
  // token limit).
  virtual void check(const AnswerRequest& request) const = 0;

  // Answers: prompt, prefill, then streams deltas until a stop, max_tokens or cancellation
  // (cancel set by another thread, or on_delta returning false). Blocks; run on a worker.
  // Throws EngineError.
  virtual AnswerUsage answer(const AnswerRequest& request, const DeltaCallback& on_delta,
                             const std::atomic<bool>& cancel) = 0;

  // Stops every ingestion; answers in flight are left to finish.
  virtual void shutdown() = 0;
};

}  // namespace vigil::service

#include "service/text_engine.h"

#include <torch/torch.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "decoder/decode_error.h"
#include "decoder/frame_source.h"
#include "llm/chat_template.h"
#include "llm/checkpoint.h"
#include "llm/qwen2_model.h"
#include "llm/tokenizer.h"
#include "service/model_options.h"
#include "service/stop_tokens.h"
#include "service/text_answer.h"

namespace vigil::service {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

bool is_video_part(const nlohmann::ordered_json& part) {
  if (!part.is_object() || !part.contains("type")) return false;
  const auto& type = part["type"];
  return type == "video_url" || type == "video";
}

// One session's ingestion: a pump thread reads the decoder and queues a step per frame.
struct Ingestion {
  IngestRequest request;
  std::shared_ptr<IngestObserver> observer;
  std::atomic<bool> cancel{false};
  std::mutex mutex;  // progress, source, in_flight; serialises observer calls
  std::condition_variable steps_done;
  int in_flight = 0;
  IngestProgress progress;
  std::unique_ptr<decoder::FrameSource> source;
  std::thread pump;
};

}  // namespace

struct TextEngine::State {
  TextEngineOptions options;
  WorkScheduler& scheduler;
  ServiceMetrics& metrics;
  JsonLog& log;
  ModelPlacement placement;
  std::unique_ptr<llm::Checkpoint> checkpoint;
  std::unique_ptr<llm::Tokenizer> tokenizer;
  std::unique_ptr<llm::ChatTemplate> chat_template;
  llm::Qwen2Config config;
  std::unique_ptr<llm::Qwen2Model> model;
  std::unique_ptr<TextAnswerer> answerer;
  int64_t context_tokens = 0;
  bool has_vision = false;

  std::mutex mutex;  // ingestions
  std::map<std::string, std::shared_ptr<Ingestion>> ingestions;
  bool shut_down = false;

  // frames/s gauge over a sliding second.
  std::mutex rate_mutex;
  Clock::time_point rate_window_start = Clock::now();
  int64_t rate_window_frames = 0;

  State(const TextEngineOptions& o, WorkScheduler& s, ServiceMetrics& m, JsonLog& l)
      : options(o), scheduler(s), metrics(m), log(l) {}

  void count_frame() {
    metrics.ingest_frames.add(1);
    std::lock_guard<std::mutex> lock(rate_mutex);
    ++rate_window_frames;
    const double elapsed = seconds_since(rate_window_start);
    if (elapsed >= 1.0) {
      metrics.ingest_frames_per_second.set(static_cast<double>(rate_window_frames) / elapsed);
      rate_window_frames = 0;
      rate_window_start = Clock::now();
    }
  }

  void run_pump(const std::shared_ptr<Ingestion>& job);
};

void TextEngine::State::run_pump(const std::shared_ptr<Ingestion>& job) {
  std::string error;
  try {
    decoder::DecodeOptions decode;
    decode.sampling = decoder::SampleRequest::at_rate(job->request.frames_per_second);
    decode.workers = job->request.decode_threads;
    decode.output_size = {384, 384};  // what a SigLIP-style encoder takes
    decode.drop_when_behind = true;
    if (job->request.live) decode.source.max_reconnects = 3;
    auto source = decoder::open_frame_source(job->request.source, decode);
    {
      std::lock_guard<std::mutex> lock(job->mutex);
      job->progress.frames_planned = job->request.live ? -1 : source->planned_samples();
      job->source = std::move(source);
      if (job->cancel.load()) job->source->cancel();
    }
    job->observer->on_progress(job->progress);
    while (!job->cancel.load()) {
      std::optional<decoder::Frame> frame = job->source->next();
      if (!frame) break;
      const double time_seconds = frame->time_seconds;
      const int64_t dropped = job->source->counters().frames_dropped;
      {
        std::lock_guard<std::mutex> lock(job->mutex);
        ++job->in_flight;
      }
      // The step a video-language engine encodes the frame in; this engine only takes it in.
      const bool queued = scheduler.submit_ingest(
          [this, job, time_seconds, dropped] {
            count_frame();
            std::lock_guard<std::mutex> lock(job->mutex);
            ++job->progress.frames_ingested;
            job->progress.video_seconds = std::max(job->progress.video_seconds, time_seconds);
            job->progress.frames_dropped = dropped;
            job->observer->on_progress(job->progress);
            --job->in_flight;
            job->steps_done.notify_all();
          },
          &job->cancel);
      if (!queued) {
        std::lock_guard<std::mutex> lock(job->mutex);
        --job->in_flight;
        break;
      }
    }
  } catch (const decoder::DecodeError& e) {
    if (!job->cancel.load()) error = std::string(to_string(e.kind())) + ": " + e.what();
  } catch (const std::exception& e) {
    if (!job->cancel.load()) error = e.what();
  }
  std::unique_lock<std::mutex> lock(job->mutex);
  job->steps_done.wait(lock, [&] { return job->in_flight == 0; });
  if (!error.empty()) metrics.errors.add(1);
  log.info("ingest.finished", {{"session", job->request.session_id},
                               {"frames", job->progress.frames_ingested},
                               {"cancelled", job->cancel.load()},
                               {"error", error}});
  job->observer->on_finished(job->progress, error);
}

TextEngine::TextEngine(const TextEngineOptions& options, WorkScheduler& scheduler,
                       ServiceMetrics& metrics, JsonLog& log)
    : state_(std::make_unique<State>(options, scheduler, metrics, log)) {
  State& s = *state_;
  s.placement = parse_model_placement(options.device, options.dtype);
  s.checkpoint = std::make_unique<llm::Checkpoint>(llm::Checkpoint::open(options.model_dir));
  s.tokenizer =
      std::make_unique<llm::Tokenizer>(llm::Tokenizer::load(options.model_dir + "/tokenizer.json"));
  const nlohmann::json& config_json = s.checkpoint->config();
  s.config = llm::qwen2_config_of_checkpoint(config_json, options.model_dir + "/config.json");
  const std::string model_type = config_json.value("model_type", "qwen2");
  s.has_vision = false;  // this engine runs the text model only, whatever the checkpoint has
  const auto builtin = llm::builtin_chat_template_for(model_type);
  s.chat_template = std::make_unique<llm::ChatTemplate>(llm::ChatTemplate::load_or_builtin(
      options.model_dir, builtin.value_or(llm::BuiltinChatTemplate::kChatml)));
  const nlohmann::json& text =
      config_json.contains("text_config") ? config_json["text_config"] : config_json;
  s.context_tokens = text.value("max_position_embeddings", int64_t{32768});
  s.model = llm::Qwen2Model::load(*s.checkpoint, s.config, s.placement.device, s.placement.dtype);
  s.answerer = std::make_unique<TextAnswerer>(*s.model, *s.tokenizer, *s.chat_template,
                                              stop_token_ids(options.model_dir, *s.tokenizer),
                                              s.context_tokens, options.decode_batch);
  log.info("engine.loaded", {{"engine", "text"},
                             {"model", options.model_id},
                             {"model_dir", options.model_dir},
                             {"layers", s.config.num_layers},
                             {"context_tokens", s.context_tokens},
                             {"chat_template", s.chat_template->origin()}});
}

TextEngine::~TextEngine() {
  shutdown();
}

EngineInfo TextEngine::info() const {
  EngineInfo info;
  info.model_id = state_->options.model_id;
  info.model_dir = state_->options.model_dir;
  info.has_vision = state_->has_vision;
  info.context_tokens = state_->context_tokens;
  info.device = state_->options.device;
  return info;
}

void TextEngine::start_ingest(const IngestRequest& request,
                              std::shared_ptr<IngestObserver> observer) {
  auto job = std::make_shared<Ingestion>();
  job->request = request;
  job->observer = std::move(observer);
  std::lock_guard<std::mutex> lock(state_->mutex);
  if (state_->shut_down) {
    throw EngineError(EngineError::Kind::kOverloaded, "the server is shutting down");
  }
  if (state_->ingestions.count(request.session_id)) {
    throw EngineError(EngineError::Kind::kInternal,
                      "session " + request.session_id + " is already ingesting");
  }
  state_->ingestions[request.session_id] = job;
  job->pump = std::thread([state = state_.get(), job] { state->run_pump(job); });
}

void TextEngine::stop_ingest(const std::string& session_id) {
  std::shared_ptr<Ingestion> job;
  {
    std::lock_guard<std::mutex> lock(state_->mutex);
    const auto it = state_->ingestions.find(session_id);
    if (it == state_->ingestions.end()) return;
    job = it->second;
    state_->ingestions.erase(it);
  }
  job->cancel.store(true);
  {
    std::lock_guard<std::mutex> lock(job->mutex);
    if (job->source) job->source->cancel();
  }
  job->request.source.cancel_pushed();
  if (job->pump.joinable()) job->pump.join();
}

void TextEngine::check(const AnswerRequest& request) const {
  bool has_video = !request.videos.empty();
  for (const auto& message : request.messages) {
    if (message.contains("content") && message["content"].is_array()) {
      for (const auto& part : message["content"]) has_video = has_video || is_video_part(part);
    }
  }
  if (has_video && !state_->has_vision) {
    throw EngineError(EngineError::Kind::kUnsupported,
                      "video answering needs a vision-language model (model " +
                          state_->options.model_id + " has no vision tower)");
  }
  if (request.max_tokens < 0 || request.max_tokens > state_->options.max_tokens_limit) {
    throw EngineError(EngineError::Kind::kInvalidRequest,
                      "max_tokens must be 0.." + std::to_string(state_->options.max_tokens_limit));
  }
  if (request.max_tokens >= state_->context_tokens) {
    throw EngineError(EngineError::Kind::kInvalidRequest,
                      "max_tokens " + std::to_string(request.max_tokens) +
                          " does not fit the model's context of " +
                          std::to_string(state_->context_tokens) + " tokens");
  }
}

AnswerUsage TextEngine::answer(const AnswerRequest& request, const DeltaCallback& on_delta,
                               const std::atomic<bool>& cancel) {
  check(request);
  return state_->answerer->answer(request, on_delta, cancel);
}

void TextEngine::shutdown() {
  std::vector<std::string> ids;
  {
    std::lock_guard<std::mutex> lock(state_->mutex);
    state_->shut_down = true;
    for (const auto& [id, job] : state_->ingestions) ids.push_back(id);
  }
  for (const std::string& id : ids) stop_ingest(id);
}

}  // namespace vigil::service

#include "service/video_engine.h"

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <thread>

#include "decoder/decode_error.h"
#include "decoder/frame_source.h"
#include "llm/chat_template.h"
#include "llm/checkpoint.h"
#include "llm/device_stream.h"
#include "llm/tokenizer.h"
#include "memory/segment_store.h"
#include "service/model_options.h"
#include "service/stop_tokens.h"
#include "service/text_answer.h"
#include "service/video_pipeline.h"
#include "vision/llava_onevision_model.h"

namespace vigil::service {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// One session: its ingestion (a pump thread feeding steps to the scheduler) and its memory.
struct Session {
  IngestRequest request;
  std::shared_ptr<IngestObserver> observer;
  std::atomic<bool> cancel{false};

  std::mutex mutex;  // progress, source, in_flight, error; serialises observer calls
  std::condition_variable steps_done;
  int in_flight = 0;
  IngestProgress progress;
  std::string error;
  std::unique_ptr<decoder::FrameSource> source;
  std::thread pump;

  // The video's memory: ingestion steps and answers take turns on it (MemoryTurn), their
  // device work queued on the session's own stream.
  std::mutex memory_mutex;
  std::unique_ptr<llm::DeviceStream> device_stream;
  std::unique_ptr<VideoStream> stream;
  memory::TierCounters tiers;  // after the last step (under mutex)
  // The time the memory's blocks cover, after the last step (under mutex): check() tells an
  // empty time window from it without waiting for the memory.
  std::optional<memory::TimeWindow> covered;
};

// A session's turn on its memory: its lock, with its device stream current, so that its work
// is ordered on that stream and apart from other sessions' (llm/device_stream.h).
class MemoryTurn {
 public:
  explicit MemoryTurn(Session& session)
      : lock_(session.memory_mutex), stream_(*session.device_stream) {}

 private:
  std::lock_guard<std::mutex> lock_;
  llm::DeviceStream::Guard stream_;
};

// The question of a chat request about a video: the text of its last user message.
std::string question_of(const nlohmann::ordered_json& messages) {
  for (auto it = messages.rbegin(); it != messages.rend(); ++it) {
    if (!it->is_object() || it->value("role", "") != "user" || !it->contains("content")) continue;
    const nlohmann::ordered_json& content = (*it)["content"];
    if (content.is_string()) return content.get<std::string>();
    std::string text;
    if (content.is_array()) {
      for (const auto& part : content) {
        if (part.is_object() && part.value("type", "") == "text" && part.contains("text") &&
            part["text"].is_string()) {
          if (!text.empty()) text += "\n";
          text += part["text"].get<std::string>();
        }
      }
    }
    return text;
  }
  return "";
}

// The memory's time window for a video reference (unbounded where it gives no bound).
memory::TimeWindow time_window_of(const VideoReference& video) {
  memory::TimeWindow window;
  if (video.start_seconds) window.start_seconds = *video.start_seconds;
  if (video.end_seconds) window.end_seconds = *video.end_seconds;
  return window;
}

std::string seconds_text(double seconds) {
  std::ostringstream text;
  text << seconds << " s";
  return text.str();
}

// Refuses a window that holds no frame of a memory covering `covered` (half-open).
void check_window_holds_frames(const memory::TimeWindow& window, const memory::TimeWindow& covered,
                               const std::string& session_id) {
  if (window.end_seconds >= covered.start_seconds && window.start_seconds < covered.end_seconds) {
    return;
  }
  const auto bound = [](double seconds) {
    return std::isinf(seconds) ? std::string(seconds < 0 ? "start" : "end") : seconds_text(seconds);
  };
  throw EngineError(
      EngineError::Kind::kInvalidRequest,
      "the time window [" + bound(window.start_seconds) + ", " + bound(window.end_seconds) +
          "] of session " + session_id + " holds no frames: its video in memory covers " +
          seconds_text(covered.start_seconds) + " to " + seconds_text(covered.end_seconds));
}

}  // namespace

struct VideoEngine::State {
  VideoEngineOptions options;
  WorkScheduler& scheduler;
  ServiceMetrics& metrics;
  JsonLog& log;
  ModelPlacement placement;
  std::unique_ptr<llm::Checkpoint> checkpoint;
  std::unique_ptr<vision::LlavaOnevisionModel> model;
  std::unique_ptr<llm::Tokenizer> tokenizer;
  std::unique_ptr<llm::ChatTemplate> chat_template;
  std::unique_ptr<VideoPipeline> pipeline;
  std::unique_ptr<TextAnswerer> text;
  int64_t context_tokens = 0;

  std::mutex mutex;  // sessions, shut_down
  std::map<std::string, std::shared_ptr<Session>> sessions;
  bool shut_down = false;

  std::mutex rate_mutex;  // frames/s over a sliding second
  Clock::time_point rate_window_start = Clock::now();
  int64_t rate_window_frames = 0;

  State(const VideoEngineOptions& o, WorkScheduler& s, ServiceMetrics& m, JsonLog& l)
      : options(o), scheduler(s), metrics(m), log(l) {}

  void count_frames(int64_t frames);
  void publish_memory();
  void run_pump(const std::shared_ptr<Session>& session);
  void run_step(const std::shared_ptr<Session>& session, std::vector<decoder::Frame>& frames);
  std::shared_ptr<Session> find(const std::string& id);
};

void VideoEngine::State::count_frames(int64_t frames) {
  metrics.ingest_frames.add(static_cast<double>(frames));
  std::lock_guard<std::mutex> lock(rate_mutex);
  rate_window_frames += frames;
  const double elapsed = seconds_since(rate_window_start);
  if (elapsed >= 1.0) {
    metrics.ingest_frames_per_second.set(static_cast<double>(rate_window_frames) / elapsed);
    rate_window_frames = 0;
    rate_window_start = Clock::now();
  }
}

void VideoEngine::State::publish_memory() {
  int64_t gpu = 0, host = 0, disk = 0;
  std::lock_guard<std::mutex> lock(mutex);
  for (const auto& [id, session] : sessions) {
    std::lock_guard<std::mutex> session_lock(session->mutex);
    gpu += session->tiers.gpu_bytes;
    host += session->tiers.host_bytes;
    disk += session->tiers.disk_bytes;
  }
  metrics.memory_bytes_gpu.set(static_cast<double>(gpu));
  metrics.memory_bytes_host.set(static_cast<double>(host));
  metrics.memory_bytes_disk.set(static_cast<double>(disk));
}

std::shared_ptr<Session> VideoEngine::State::find(const std::string& id) {
  std::lock_guard<std::mutex> lock(mutex);
  const auto it = sessions.find(id);
  return it == sessions.end() ? nullptr : it->second;
}

void VideoEngine::State::run_step(const std::shared_ptr<Session>& session,
                                  std::vector<decoder::Frame>& frames) {
  std::vector<vision::RgbImageView> views;
  std::vector<double> times;
  for (const decoder::Frame& frame : frames) {
    views.push_back({frame.rgb.data(), {frame.width, frame.height}});
    times.push_back(frame.time_seconds);
  }
  const double frame_seconds = 1.0 / session->request.frames_per_second;
  IngestStep step;
  memory::TierCounters tiers;
  std::string error;
  int64_t first_frame = 0;
  std::optional<memory::TimeWindow> covered;
  try {
    const MemoryTurn turn(*session);
    first_frame = session->stream->frames();
    step = pipeline->ingest(*session->stream, views, times, frame_seconds);
    tiers = session->stream->memory().store().counters();
    const memory::BlockIndex& index = session->stream->memory().index();
    if (index.size() > 0) covered = index.time_covered();
  } catch (const std::exception& e) {
    error = std::string("encoding frames failed: ") + e.what();
  }
  count_frames(step.frames);
  metrics.tokens_dropped.add(static_cast<double>(step.tokens_in - step.tokens_kept));
  {
    std::lock_guard<std::mutex> lock(session->mutex);
    IngestProgress& progress = session->progress;
    progress.frames_ingested += step.frames;
    progress.tokens_kept += step.tokens_kept;
    progress.tokens_dropped += step.tokens_in - step.tokens_kept;
    if (!times.empty()) progress.video_seconds = std::max(progress.video_seconds, times.back());
    session->tiers = tiers;
    if (covered) session->covered = covered;
    if (!error.empty() && session->error.empty()) {
      session->error = error;
      session->cancel.store(true);
      if (session->source) session->source->cancel();
    }
    if (error.empty()) {
      std::vector<FrameTokens> frame_tokens;
      for (size_t f = 0; f < step.frame_tokens_in.size(); ++f) {
        frame_tokens.push_back({first_frame + static_cast<int64_t>(f), times[f],
                                step.frame_tokens_in[f], step.frame_tokens_kept[f]});
      }
      if (!frame_tokens.empty()) session->observer->on_frames(frame_tokens);
      session->observer->on_progress(progress);
    }
    --session->in_flight;
    session->steps_done.notify_all();
  }
  publish_memory();
}

void VideoEngine::State::run_pump(const std::shared_ptr<Session>& session) {
  std::string error;
  try {
    decoder::DecodeOptions decode;
    decode.sampling = decoder::SampleRequest::at_rate(session->request.frames_per_second);
    decode.workers = session->request.decode_threads;
    decode.drop_when_behind = true;  // live: a lagging encoder drops frames, not the network
    if (session->request.live) decode.source.max_reconnects = 3;
    auto source = decoder::open_frame_source(session->request.source, decode);
    std::unique_ptr<memory::SegmentStore> disk;
    if (!options.data_dir.empty()) {
      const std::string directory = options.data_dir + "/memory/" + session->request.session_id;
      std::filesystem::create_directories(options.data_dir + "/memory");
      disk = memory::SegmentStore::open(directory);
    }
    {
      const MemoryTurn turn(*session);
      session->stream = pipeline->open_stream(std::move(disk));
    }
    {
      std::lock_guard<std::mutex> lock(session->mutex);
      session->progress.frames_planned = session->request.live ? -1 : source->planned_samples();
      session->source = std::move(source);
      if (session->cancel.load()) session->source->cancel();
      session->observer->on_progress(session->progress);
    }
    // Live frames go one by one (latency); an archive's in steps of frames_per_step.
    const size_t per_step =
        session->request.live ? 1 : static_cast<size_t>(std::max(1, options.frames_per_step));
    bool ended = false;
    while (!ended && !session->cancel.load()) {
      auto frames = std::make_shared<std::vector<decoder::Frame>>();
      while (frames->size() < per_step) {
        std::optional<decoder::Frame> frame = session->source->next();
        if (!frame) {
          ended = true;
          break;
        }
        frames->push_back(std::move(*frame));
      }
      if (frames->empty()) break;
      {
        // One step in flight per session: steps must run in stream order.
        std::unique_lock<std::mutex> lock(session->mutex);
        session->steps_done.wait(lock, [&] { return session->in_flight == 0; });
        session->progress.frames_dropped = session->source->counters().frames_dropped;
        ++session->in_flight;
      }
      const bool queued = scheduler.submit_ingest(
          [this, session, frames] { run_step(session, *frames); }, &session->cancel);
      if (!queued) {
        std::lock_guard<std::mutex> lock(session->mutex);
        --session->in_flight;
        break;
      }
    }
  } catch (const decoder::DecodeError& e) {
    if (!session->cancel.load()) error = std::string(to_string(e.kind())) + ": " + e.what();
  } catch (const std::exception& e) {
    if (!session->cancel.load()) error = e.what();
  }
  std::unique_lock<std::mutex> lock(session->mutex);
  session->steps_done.wait(lock, [&] { return session->in_flight == 0; });
  if (error.empty()) error = session->error;
  if (!error.empty()) metrics.errors.add(1);
  log.info("ingest.finished", {{"session", session->request.session_id},
                               {"frames", session->progress.frames_ingested},
                               {"tokens_kept", session->progress.tokens_kept},
                               {"tokens_dropped", session->progress.tokens_dropped},
                               {"cancelled", session->cancel.load() && error.empty()},
                               {"error", error}});
  session->observer->on_finished(session->progress, error);
}

VideoEngine::VideoEngine(const VideoEngineOptions& options, WorkScheduler& scheduler,
                         ServiceMetrics& metrics, JsonLog& log)
    : state_(std::make_unique<State>(options, scheduler, metrics, log)) {
  State& s = *state_;
  s.placement = parse_model_placement(options.device, options.dtype);
  s.checkpoint = std::make_unique<llm::Checkpoint>(llm::Checkpoint::open(options.model_dir));
  s.model = vision::LlavaOnevisionModel::load(*s.checkpoint, s.placement.device, s.placement.dtype);
  s.tokenizer =
      std::make_unique<llm::Tokenizer>(llm::Tokenizer::load(options.model_dir + "/tokenizer.json"));
  s.chat_template = std::make_unique<llm::ChatTemplate>(llm::ChatTemplate::load_or_builtin(
      options.model_dir, llm::BuiltinChatTemplate::kLlavaOnevision));
  const nlohmann::json& config_json = s.checkpoint->config();
  const nlohmann::json& text =
      config_json.contains("text_config") ? config_json["text_config"] : config_json;
  s.context_tokens = text.value("max_position_embeddings", int64_t{32768});

  VideoPipelineConfig pipeline;
  pipeline.token_drop.enabled = options.token_drop_threshold < 1.0;
  pipeline.token_drop.threshold = options.token_drop_threshold;
  pipeline.memory.streaming.window_tokens = options.window_tokens;
  pipeline.memory.answer.recent_tokens = options.recent_tokens;
  pipeline.memory.tiers.gpu_bytes = options.gpu_cache_bytes;
  pipeline.memory.index_gpu_bytes = options.index_gpu_bytes;
  pipeline.memory.tiers.host_bytes = options.host_memory_bytes;
  pipeline.memory.tiers.quantize = options.quantization_bits > 0;
  if (options.quantization_bits > 0) {
    pipeline.memory.tiers.quantization.key_bits = options.quantization_bits;
    pipeline.memory.tiers.quantization.value_bits = options.quantization_bits;
  }
  pipeline.memory.tiers.on_warning = [&log](const std::string& warning) {
    log.warn("memory.warning", {{"message", warning}});
  };
  s.pipeline = std::make_unique<VideoPipeline>(*s.model, *s.tokenizer, *s.chat_template, pipeline);
  s.text = std::make_unique<TextAnswerer>(s.model->language_model(), *s.tokenizer, *s.chat_template,
                                          stop_token_ids(options.model_dir, *s.tokenizer),
                                          s.context_tokens, options.decode_batch);
  // Sessions run on streams of their own (llm/device_stream.h): the weights' uploads, queued
  // on this thread's stream, are done before any reads them.
  if (s.placement.device.is_cuda()) torch::cuda::synchronize();
  log.info("engine.loaded", {{"engine", "video"},
                             {"model", options.model_id},
                             {"model_dir", options.model_dir},
                             {"vision", s.model->vision_encoder().name()},
                             {"token_drop_threshold", options.token_drop_threshold},
                             {"context_tokens", s.context_tokens},
                             {"chat_template", s.chat_template->origin()}});
}

VideoEngine::~VideoEngine() {
  shutdown();
}

EngineInfo VideoEngine::info() const {
  EngineInfo info;
  info.model_id = state_->options.model_id;
  info.model_dir = state_->options.model_dir;
  info.has_vision = true;
  info.context_tokens = state_->context_tokens;
  info.device = state_->options.device;
  return info;
}

void VideoEngine::start_ingest(const IngestRequest& request,
                               std::shared_ptr<IngestObserver> observer) {
  if (!(request.frames_per_second > 0)) {
    throw EngineError(EngineError::Kind::kInvalidRequest, "frames_per_second must be > 0");
  }
  auto session = std::make_shared<Session>();
  session->device_stream = std::make_unique<llm::DeviceStream>(state_->placement.device);
  session->request = request;
  session->observer = std::move(observer);
  std::lock_guard<std::mutex> lock(state_->mutex);
  if (state_->shut_down) {
    throw EngineError(EngineError::Kind::kOverloaded, "the server is shutting down");
  }
  if (state_->sessions.count(request.session_id)) {
    throw EngineError(EngineError::Kind::kInternal,
                      "session " + request.session_id + " is already ingesting");
  }
  state_->sessions[request.session_id] = session;
  session->pump = std::thread([state = state_.get(), session] { state->run_pump(session); });
}

void VideoEngine::stop_ingest(const std::string& session_id) {
  std::shared_ptr<Session> session;
  {
    std::lock_guard<std::mutex> lock(state_->mutex);
    const auto it = state_->sessions.find(session_id);
    if (it == state_->sessions.end()) return;
    session = it->second;
    state_->sessions.erase(it);
  }
  session->cancel.store(true);
  {
    std::lock_guard<std::mutex> lock(session->mutex);
    if (session->source) session->source->cancel();
  }
  session->request.source.cancel_pushed();
  if (session->pump.joinable()) session->pump.join();
  // The memory goes with the session: an answer in flight holds the lock until it ends. At
  // shutdown the disk tier stays (shutdown() flushed it).
  bool shutting_down = false;
  {
    std::lock_guard<std::mutex> lock(state_->mutex);
    shutting_down = state_->shut_down;
  }
  const MemoryTurn turn(*session);
  if (session->stream && !shutting_down) session->stream->memory().store().remove_disk();
  session->stream.reset();
  state_->publish_memory();
}

void VideoEngine::check(const AnswerRequest& request) const {
  if (request.max_tokens < 0 || request.max_tokens > state_->options.max_tokens_limit) {
    throw EngineError(EngineError::Kind::kInvalidRequest,
                      "max_tokens must be 0.." + std::to_string(state_->options.max_tokens_limit));
  }
  if (request.videos.size() > 1) {
    throw EngineError(
        EngineError::Kind::kInvalidRequest,
        "a request may name one video; it names " + std::to_string(request.videos.size()));
  }
  if (request.videos.empty()) return;
  const VideoReference& video = request.videos.front();
  if ((video.start_seconds && !(*video.start_seconds >= 0)) ||
      (video.end_seconds && !(*video.end_seconds >= 0)) ||
      (video.start_seconds && video.end_seconds && *video.end_seconds < *video.start_seconds)) {
    throw EngineError(EngineError::Kind::kInvalidRequest,
                      "a video's time window needs 0 <= start_seconds <= end_seconds");
  }
  const std::shared_ptr<Session> session = state_->find(video.session_id);
  if (!session) {
    throw EngineError(EngineError::Kind::kNotFound,
                      "no video is being remembered for session " + video.session_id);
  }
  const memory::TimeWindow window = time_window_of(video);
  if (window.bounded()) {
    std::optional<memory::TimeWindow> covered;
    {
      std::lock_guard<std::mutex> lock(session->mutex);
      covered = session->covered;
    }
    // Nothing in memory yet: answer() says so.
    if (covered) check_window_holds_frames(window, *covered, video.session_id);
  }
}

AnswerUsage VideoEngine::answer(const AnswerRequest& request, const DeltaCallback& on_delta,
                                const std::atomic<bool>& cancel) {
  check(request);
  State& s = *state_;
  if (request.videos.empty()) return s.text->answer(request, on_delta, cancel);

  const Clock::time_point start = Clock::now();
  const std::shared_ptr<Session> session = s.find(request.videos.front().session_id);
  if (!session) {
    throw EngineError(EngineError::Kind::kNotFound, "no video is being remembered for session " +
                                                        request.videos.front().session_id);
  }
  const std::string question = question_of(request.messages);
  const MemoryTurn turn(*session);
  if (!session->stream || session->stream->blocks() == 0) {
    throw EngineError(EngineError::Kind::kConflict,
                      "session " + request.videos.front().session_id +
                          " has no video in memory yet: ask again once frames are ingested");
  }
  memory::AnswerConfig answer_config = s.pipeline->config().memory.answer;
  answer_config.window = time_window_of(request.videos.front());
  if (answer_config.window.bounded()) {
    // Again, under the memory's lock: the memory may have grown since check().
    check_window_holds_frames(answer_config.window,
                              session->stream->memory().index().time_covered(),
                              request.videos.front().session_id);
  }
  PreparedQuestion prepared;
  try {
    prepared = s.pipeline->prepare(*session->stream, question, answer_config);
  } catch (const std::invalid_argument& e) {
    throw EngineError(EngineError::Kind::kInvalidRequest, e.what());
  }
  if (prepared.video_tokens > s.options.max_video_tokens) {
    throw EngineError(EngineError::Kind::kInvalidRequest,
                      "the answer would bring " + std::to_string(prepared.video_tokens) +
                          " video tokens into its context; the limit is " +
                          std::to_string(s.options.max_video_tokens));
  }
  if (prepared.prompt_tokens + request.max_tokens > s.context_tokens) {
    throw EngineError(EngineError::Kind::kInvalidRequest,
                      "the prompt (" + std::to_string(prepared.prompt_tokens) +
                          " tokens) and max_tokens exceed the model's context of " +
                          std::to_string(s.context_tokens) + " tokens");
  }
  llm::GenerationRequest generation = s.text->generation_request(request);
  generation.prompt_ids.clear();
  generation.prompt_logits = prepared.logits;

  AnswerUsage usage = s.text->generate(generation, *prepared.cache, start, on_delta, cancel);
  usage.prompt_tokens = prepared.prompt_tokens;
  usage.video_tokens = prepared.video_tokens;
  return usage;
}

void VideoEngine::shutdown() {
  std::vector<std::shared_ptr<Session>> sessions;
  {
    std::lock_guard<std::mutex> lock(state_->mutex);
    if (state_->shut_down) return;
    state_->shut_down = true;
    for (const auto& [id, session] : state_->sessions) sessions.push_back(session);
  }
  // Ingestion stops; the memory stays and what the host tier holds goes to disk, so the
  // sessions' blocks are durable when the process exits.
  for (const std::shared_ptr<Session>& session : sessions) {
    session->cancel.store(true);
    {
      std::lock_guard<std::mutex> lock(session->mutex);
      if (session->source) session->source->cancel();
    }
    session->request.source.cancel_pushed();
  }
  for (const std::shared_ptr<Session>& session : sessions) {
    if (session->pump.joinable()) session->pump.join();
    const MemoryTurn turn(*session);
    if (!session->stream) continue;
    try {
      session->stream->memory().store().flush_to_disk();
    } catch (const std::exception& e) {
      state_->log.error("memory.flush_failed",
                        {{"session", session->request.session_id}, {"error", e.what()}});
    }
  }
}

}  // namespace vigil::service

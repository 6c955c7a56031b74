#include "api/realtime_session.h"

#include <chrono>
#include <cmath>
#include <deque>
#include <functional>

#include "api/api_error.h"
#include "api/chat_format.h"
#include "api/rest_handlers.h"
#include "decoder/jpeg_decoder.h"
#include "decoder/jpeg_push_source.h"
#include "decoder/media_source.h"
#include "decoder/push_source.h"

namespace vigil::api {
namespace {

using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;

// What input_video_buffer.append carries (session.input_video_format).
constexpr const char* kVideoFormats[] = {"auto", "mpegts", "mp4", "jpeg"};
// Pictures waiting to be decoded in JPEG mode, at most (and 4 x max_message_bytes of them).
constexpr size_t kQueuedPictures = 64;

// A response being generated; cancel is read by the worker.
struct RealtimeResponse {
  std::string id;
  std::atomic<bool> cancel{false};
  std::string text;  // strand-only: the deltas so far
};

class RealtimeSession : public std::enable_shared_from_this<RealtimeSession> {
 public:
  RealtimeSession(beast::tcp_stream stream, ApiContext& context, net::thread_pool& control)
      : ws_(std::move(stream)),
        context_(context),
        control_(control),
        drop_timer_(ws_.get_executor()) {
    context_.metrics.connections_open.add(1);
  }

  ~RealtimeSession() {
    release_final_writes();
    context_.metrics.connections_open.add(-1);
  }

  void run(http::request<http::empty_body> request) {
    websocket::stream_base::timeout timeouts{};
    timeouts.handshake_timeout = std::chrono::seconds(10);
    timeouts.idle_timeout = std::chrono::seconds(context_.config.read_timeout_seconds);
    timeouts.keep_alive_pings = true;  // an idle peer is pinged at half the idle timeout
    ws_.set_option(timeouts);
    // A browser offering subprotocols (the page sends "realtime" and its API key as one,
    // see authorize) fails the handshake unless one is chosen: "realtime" is.
    bool offers_realtime = false;
    for (const std::string& protocol :
         websocket_subprotocols(std::string(request[http::field::sec_websocket_protocol]))) {
      offers_realtime = offers_realtime || protocol == "realtime";
    }
    ws_.set_option(
        websocket::stream_base::decorator([offers_realtime](websocket::response_type& response) {
          response.set(http::field::server, "vigil");
          if (offers_realtime) response.set(http::field::sec_websocket_protocol, "realtime");
        }));
    ws_.read_message_max(static_cast<std::size_t>(context_.config.max_message_bytes));
    request_ = std::move(request);
    ws_.async_accept(request_,
                     beast::bind_front_handler(&RealtimeSession::on_accept, shared_from_this()));
  }

 private:
  struct Settings;  // what session.update sets, below

  // ---- lifecycle -------------------------------------------------------------------------
  void on_accept(beast::error_code ec) {
    if (ec) return;
    try {
      session_id_ = context_.sessions.add_realtime().id;
    } catch (const service::SessionLimitError& e) {
      send_error("too_many_sessions", e.what());
      return close_with(websocket::close_code::try_again_later, "session limit reached");
    }
    session_.instructions = "";
    send_event({{"type", "session.created"}, {"session", session_json()}});
    do_read();
  }

  void do_read() {
    ws_.async_read(buffer_,
                   beast::bind_front_handler(&RealtimeSession::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t bytes) {
    if (ec) {
      if (ec != websocket::error::closed && ec != net::error::operation_aborted) {
        context_.log.info("realtime.read_failed",
                          {{"session", session_id_}, {"reason", ec.message()}});
        if (ec == websocket::error::message_too_big) context_.metrics.websocket_drops.add(1);
      }
      return end_session();
    }
    context_.metrics.websocket_messages_in.add(1);
    if (ws_.got_binary()) {
      const auto data = buffer_.cdata();
      append_video(static_cast<const uint8_t*>(data.data()), bytes);
    } else {
      const std::string text = beast::buffers_to_string(buffer_.cdata());
      handle_event(text);
    }
    buffer_.consume(buffer_.size());
    if (!closing_) do_read();
  }

  // The socket is done: cancel the answer, end the pushed video, forget the session (off the
  // strand: stopping ingestion joins the decoder).
  void end_session() {
    release_final_writes();
    if (ended_) return;
    ended_ = true;
    closing_ = true;
    if (response_) response_->cancel.store(true);
    if (push_) push_->close();
    if (pictures_) pictures_->close();
    if (!session_id_.empty()) {
      net::post(control_, [context = &context_, id = session_id_] {
        try {
          context->sessions.remove(id);
        } catch (const std::exception& e) {  // a control thread must not end the process
          context->log.error("realtime.remove_failed", {{"session", id}, {"error", e.what()}});
        }
      });
    }
    context_.log.info("realtime.closed", {{"session", session_id_}});
  }

  void close_with(websocket::close_code code, const std::string& reason) {
    if (close_sent_) return;
    closing_ = true;
    close_reason_ = websocket::close_reason(code, reason);
    if (writing_) return;  // on_write closes after the write in flight
    close_sent_ = true;
    ws_.async_close(close_reason_,
                    [self = shared_from_this()](beast::error_code) { self->end_session(); });
  }

  // ---- client events -----------------------------------------------------------------------
  void handle_event(const std::string& text) {
    const Json event = Json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (event.is_discarded() || !event.is_object()) {
      return send_error("invalid_json", "the message is not a JSON object");
    }
    const std::string client_event_id = event.value("event_id", "");
    if (!event.contains("type") || !event["type"].is_string()) {
      return send_error("invalid_event", "the event has no string 'type'", client_event_id);
    }
    const std::string type = event["type"].get<std::string>();
    if (type == "session.update") return session_update(event, client_event_id);
    if (type == "input_video_buffer.append") {
      if (!event.contains("video") || !event["video"].is_string()) {
        return send_error("invalid_event",
                          "input_video_buffer.append needs 'video' (base64), or send the bytes "
                          "as a binary message",
                          client_event_id);
      }
      const std::string encoded = event["video"].get<std::string>();
      std::string decoded(beast::detail::base64::decoded_size(encoded.size()), '\0');
      const auto result =
          beast::detail::base64::decode(decoded.data(), encoded.data(), encoded.size());
      // decode stops at the padding: everything after what it read must be '='.
      size_t padding = 0;
      for (size_t i = result.second; i < encoded.size() && encoded[i] == '='; ++i) ++padding;
      if (result.second + padding != encoded.size() || padding > 2) {
        return send_error("invalid_base64", "'video' is not valid base64", client_event_id);
      }
      decoded.resize(result.first);
      std::optional<double> pts;
      if (event.contains("pts") && !event["pts"].is_null()) {
        if (!event["pts"].is_number() || !std::isfinite(event["pts"].get<double>()) ||
            event["pts"].get<double>() < 0) {
          return send_error("invalid_pts", "'pts' must be a number of seconds >= 0",
                            client_event_id);
        }
        pts = event["pts"].get<double>();
      }
      return append_video(reinterpret_cast<const uint8_t*>(decoded.data()), decoded.size(), pts,
                          client_event_id);
    }
    if (type == "input_video_buffer.commit") return send_committed();
    if (type == "response.create") return response_create(event, client_event_id);
    if (type == "response.cancel") {
      if (!response_)
        return send_error("no_active_response", "no response is in progress", client_event_id);
      response_->cancel.store(true);
      return;
    }
    send_error("unknown_event", "unknown event type '" + type + "'", client_event_id);
  }

  void session_update(const Json& event, const std::string& client_event_id) {
    if (!event.contains("session") || !event["session"].is_object()) {
      return send_error("invalid_event", "session.update needs a 'session' object",
                        client_event_id);
    }
    const Json& update = event["session"];
    Settings next = session_;
    for (const auto& [key, value] : update.items()) {
      if (key == "instructions" && value.is_string()) {
        next.instructions = value.get<std::string>();
      } else if (key == "max_output_tokens" && value.is_number_integer() &&
                 value.get<int64_t>() >= 1 &&
                 value.get<int64_t>() <= context_.config.max_tokens_limit) {
        next.max_output_tokens = static_cast<int>(value.get<int64_t>());
      } else if (key == "temperature" && value.is_number() && value.get<double>() >= 0 &&
                 value.get<double>() <= 2) {
        next.temperature = value.get<double>();
      } else if (key == "include_video" && value.is_boolean()) {
        next.include_video = value.get<bool>();
      } else if (key == "seed" && value.is_number_integer()) {
        next.seed = value.get<int64_t>();
      } else if (key == "input_video_format" && value.is_string() &&
                 valid_video_format(value.get<std::string>())) {
        const std::string format = value.get<std::string>();
        if (video_started() && format != session_.input_video_format) {
          return send_error("invalid_session_field",
                            "session.input_video_format cannot change once video was appended",
                            client_event_id);
        }
        next.input_video_format = format;
      } else if (key == "alerts" && value.is_object()) {
        if (!parse_alerts(value, next)) {
          return send_error("invalid_session_field",
                            "session.alerts takes scene_change (bool) and threshold (a kept "
                            "share of a frame's tokens, 0 < threshold <= 1)",
                            client_event_id);
        }
      } else if (key == "type" || key == "model" || key == "id") {
        continue;
      } else {
        return send_error("invalid_session_field",
                          "session." + key + " is unknown or has a wrong type or value",
                          client_event_id);
      }
    }
    session_ = next;
    send_event({{"type", "session.updated"}, {"session", session_json()}});
  }

  static bool valid_video_format(const std::string& format) {
    for (const char* known : kVideoFormats) {
      if (format == known) return true;
    }
    return false;
  }

  static bool parse_alerts(const Json& alerts, Settings& next) {
    for (const auto& [key, value] : alerts.items()) {
      if (key == "scene_change" && value.is_boolean()) {
        next.scene_change_alerts = value.get<bool>();
      } else if (key == "threshold" && value.is_number() && value.get<double>() > 0 &&
                 value.get<double>() <= 1) {
        next.scene_change_threshold = value.get<double>();
      } else {
        return false;
      }
    }
    return true;
  }

  bool video_started() const { return push_ != nullptr || pictures_ != nullptr; }

  // The first append starts the session's ingestion in the declared format ("auto": JPEG when
  // the bytes start with a JPEG's SOI marker, else container bytes that FFmpeg probes).
  bool start_video(const uint8_t* data, std::size_t size) {
    const std::string& format = session_.input_video_format;
    const bool jpeg =
        format == "jpeg" || (format == "auto" && decoder::starts_like_jpeg(data, size));
    const auto capacity = static_cast<std::size_t>(context_.config.max_message_bytes) * 4;
    const auto timeout = std::chrono::seconds(context_.config.read_timeout_seconds);
    decoder::MediaSource source;
    if (jpeg) {
      // Called on the decoder's thread for a picture it could not decode: reported as an error
      // event on this session's strand.
      std::weak_ptr<RealtimeSession> weak = shared_from_this();
      const auto executor = ws_.get_executor();
      pictures_ = std::make_shared<decoder::JpegPushSource>(
          kQueuedPictures, capacity, timeout,
          [weak, executor](double time_seconds, const std::string& reason) {
            net::post(executor, [weak, time_seconds, reason] {
              if (auto self = weak.lock()) self->on_rejected_picture(time_seconds, reason);
            });
          });
      source = decoder::MediaSource::jpeg_push(pictures_);
    } else {
      push_ = std::make_shared<decoder::PushSource>(capacity, timeout);
      source = decoder::MediaSource::push(push_, format == "auto" ? "" : format);
    }
    std::weak_ptr<RealtimeSession> weak = shared_from_this();
    const auto executor = ws_.get_executor();
    try {
      context_.sessions.start_push(
          session_id_, std::move(source),
          [weak, executor](const std::vector<service::FrameTokens>& frames) {
            net::post(executor, [weak, frames] {
              if (auto self = weak.lock()) self->on_frames(frames);
            });
          });
    } catch (const service::EngineError& e) {
      push_.reset();
      pictures_.reset();
      send_error("engine_error", e.what());
      return false;
    }
    return true;
  }

  // pts: the client's time for a JPEG picture, seconds (ignored for container bytes, which
  // carry their own timestamps).
  void append_video(const uint8_t* data, std::size_t size, std::optional<double> pts = std::nullopt,
                    const std::string& client_event_id = "") {
    if (size == 0) return send_error("invalid_event", "empty video chunk", client_event_id);
    const std::optional<service::SessionInfo> info = context_.sessions.registry().get(session_id_);
    if (info && info->state == service::SessionState::kFailed) {
      return send_error("video_input_failed", "the pushed video failed to decode: " + info->error,
                        client_event_id);
    }
    if (!video_started() && !start_video(data, size)) return;
    if (pictures_) {
      if (!append_picture(data, size, pts, client_event_id)) return;
    } else if (!push_->push(data, size)) {
      return send_error("input_video_buffer_full",
                        "the video buffer is full (decoding lags behind); slow down and resend",
                        client_event_id);
    }
    context_.metrics.ingest_bytes_pushed.add(static_cast<double>(size));
    bytes_pushed_ += static_cast<int64_t>(size);
    context_.sessions.registry().update(session_id_,
                                        [&](service::SessionInfo& s) { s.bytes = bytes_pushed_; });
    send_committed();
  }

  // One JPEG picture, timed by the client's pts or by its arrival; false after an error event.
  bool append_picture(const uint8_t* data, std::size_t size, std::optional<double> pts,
                      const std::string& client_event_id) {
    if (!decoder::starts_like_jpeg(data, size)) {
      send_error("invalid_jpeg",
                 "in JPEG mode each append is one whole JPEG picture; this one does not start "
                 "with FF D8 FF",
                 client_event_id);
      return false;
    }
    const Clock::time_point now = Clock::now();
    if (!first_picture_at_) first_picture_at_ = now;
    const double time_seconds =
        pts ? *pts : std::chrono::duration<double>(now - *first_picture_at_).count();
    if (last_picture_seconds_ && !(time_seconds > *last_picture_seconds_)) {
      send_error("invalid_pts",
                 "picture times must increase: " + std::to_string(time_seconds) + " s after " +
                     std::to_string(*last_picture_seconds_) + " s",
                 client_event_id);
      return false;
    }
    if (!pictures_->push(std::vector<uint8_t>(data, data + size), time_seconds)) {
      send_error("input_video_buffer_full",
                 "the picture queue is full (decoding lags behind); slow down and resend",
                 client_event_id);
      return false;
    }
    last_picture_seconds_ = time_seconds;
    return true;
  }

  void on_rejected_picture(double time_seconds, const std::string& reason) {
    if (closing_) return;
    send_error("invalid_jpeg",
               "the picture at " + std::to_string(time_seconds) + " s was not decoded: " + reason);
  }

  // Token drop results of ingested frames: a frame after the first that keeps more than the
  // threshold share of its tokens is a scene change.
  void on_frames(const std::vector<service::FrameTokens>& frames) {
    if (closing_ || !session_.scene_change_alerts) return;
    for (const service::FrameTokens& frame : frames) {
      if (frame.frame_index == 0 || frame.kept_ratio() <= session_.scene_change_threshold) {
        continue;
      }
      context_.metrics.alerts.add(1);
      send_event({{"type", "alert.triggered"},
                  {"reason", "scene_change"},
                  {"pts", frame.time_seconds},
                  {"frame_index", frame.frame_index},
                  {"kept_ratio", frame.kept_ratio()},
                  {"tokens_kept", frame.tokens_kept},
                  {"tokens_in", frame.tokens_in},
                  {"threshold", session_.scene_change_threshold}});
    }
  }

  void send_committed() {
    const std::optional<service::SessionInfo> info = context_.sessions.registry().get(session_id_);
    Json progress = {{"bytes", bytes_pushed_}};
    if (info) {
      progress["status"] = service::to_string(info->state);
      progress["frames_ingested"] = info->frames_ingested;
      progress["frames_dropped"] = info->frames_dropped;
      progress["video_seconds"] = info->video_seconds;
      progress["tokens_kept"] = info->tokens_kept;
    }
    send_event({{"type", "input_video_buffer.committed"}, {"progress", progress}});
  }

  void response_create(const Json& event, const std::string& client_event_id) {
    if (response_) {
      return send_error("conversation_already_has_active_response",
                        "a response is in progress; cancel it or wait for response.done",
                        client_event_id);
    }
    if (context_.draining.load()) return send_error("shutting_down", "the server is shutting down");
    std::string question;
    bool include_video = session_.include_video;
    int max_tokens = session_.max_output_tokens;
    const Json* options =
        event.contains("response") && event["response"].is_object() ? &event["response"] : nullptr;
    for (const Json* source : {&event, options}) {
      if (source == nullptr) continue;
      for (const char* key : {"question", "instructions"}) {
        if (source->contains(key) && (*source)[key].is_string())
          question = (*source)[key].get<std::string>();
      }
      if (source->contains("include_video") && (*source)["include_video"].is_boolean()) {
        include_video = (*source)["include_video"].get<bool>();
      }
      if (source->contains("max_output_tokens") &&
          (*source)["max_output_tokens"].is_number_integer()) {
        max_tokens = static_cast<int>((*source)["max_output_tokens"].get<int64_t>());
      }
    }
    if (question.empty()) {
      return send_error("invalid_event", "response.create needs a non-empty 'question'",
                        client_event_id);
    }
    service::AnswerRequest answer;
    answer.request_id = "resp_" + new_completion_id().substr(9);
    if (!session_.instructions.empty()) {
      answer.messages.push_back({{"role", "system"}, {"content", session_.instructions}});
    }
    if (include_video) {
      answer.messages.push_back(
          {{"role", "user"},
           {"content", nlohmann::ordered_json::array(
                           {{{"type", "video_url"}, {"video_url", {{"url", session_id_}}}},
                            {{"type", "text"}, {"text", question}}})}});
      answer.videos.push_back({session_id_, std::nullopt, std::nullopt});
    } else {
      answer.messages.push_back({{"role", "user"}, {"content", question}});
    }
    answer.max_tokens = max_tokens;
    answer.temperature = session_.temperature;
    if (session_.seed >= 0) answer.seed = static_cast<uint64_t>(session_.seed);
    try {
      context_.engine.check(answer);
    } catch (const service::EngineError& e) {
      const ApiError error = api_error_of(e);
      return send_error(error.code(), error.what(), client_event_id);
    }
    auto response = std::make_shared<RealtimeResponse>();
    response->id = answer.request_id;
    auto self = shared_from_this();
    context_.answers_in_flight.fetch_add(1);
    const bool queued = context_.scheduler.try_submit_question(
        [self, response, answer] { self->run_answer(answer, response); });
    if (!queued) {
      context_.answers_in_flight.fetch_sub(1);
      return send_error("rate_limited", "too many questions are waiting; retry shortly",
                        client_event_id);
    }
    response_ = response;
    send_event(
        {{"type", "response.created"},
         {"response",
          {{"id", response->id}, {"object", "realtime.response"}, {"status", "in_progress"}}}});
  }

  // A worker.
  void run_answer(const service::AnswerRequest& answer,
                  const std::shared_ptr<RealtimeResponse>& response) {
    auto self = shared_from_this();
    const auto executor = ws_.get_executor();
    try {
      const service::AnswerUsage usage = context_.engine.answer(
          answer,
          [&](const std::string& delta) {
            net::post(executor, [self, response, delta] { self->on_delta(response, delta); });
            return !response->cancel.load();
          },
          response->cancel);
      record_answer(context_.metrics, usage);
      post_final_write([self, response, usage] { self->on_done(response, usage, ""); });
    } catch (const std::exception& e) {
      context_.metrics.errors.add(1);
      const std::string message = e.what();
      post_final_write(
          [self, response, message] { self->on_done(response, service::AnswerUsage{}, message); });
    }
    context_.answers_in_flight.fetch_sub(1);
  }

  // A worker: response.done goes to the strand, and shutdown waits (answers_writing) until the
  // events queued with it are written or the session is gone. Counted before the answer stops
  // counting as in flight, so a shutdown never sees neither.
  void post_final_write(std::function<void()> write) {
    context_.answers_writing.fetch_add(1);
    net::post(ws_.get_executor(), [self = shared_from_this(), write = std::move(write)] {
      ++self->final_writes_;
      write();
      if (self->closing_ || (!self->writing_ && self->queue_.empty())) {
        self->release_final_writes();
      }
    });
  }

  // Strand: what was queued is written, or never will be.
  void release_final_writes() {
    context_.answers_writing.fetch_sub(final_writes_);
    final_writes_ = 0;
  }

  void on_delta(const std::shared_ptr<RealtimeResponse>& response, const std::string& delta) {
    if (response != response_ || closing_) return;
    response->text += delta;
    send_event({{"type", "response.output_text.delta"},
                {"response_id", response->id},
                {"item_id", "item_" + response->id.substr(5)},
                {"output_index", 0},
                {"content_index", 0},
                {"delta", delta}});
  }

  void on_done(const std::shared_ptr<RealtimeResponse>& response, const service::AnswerUsage& usage,
               const std::string& error) {
    if (response != response_) return;
    response_.reset();
    if (closing_) return;
    std::string status = "completed";
    if (!error.empty())
      status = "failed";
    else if (usage.finish_reason == "cancelled" || response->cancel.load())
      status = "cancelled";
    else if (usage.finish_reason == "length")
      status = "incomplete";
    if (error.empty()) {
      send_event({{"type", "response.output_text.done"},
                  {"response_id", response->id},
                  {"item_id", "item_" + response->id.substr(5)},
                  {"output_index", 0},
                  {"content_index", 0},
                  {"text", response->text}});
    }
    Json done = {{"id", response->id},
                 {"object", "realtime.response"},
                 {"status", status},
                 {"output_text", response->text},
                 {"usage",
                  {{"input_tokens", usage.prompt_tokens},
                   {"output_tokens", usage.completion_tokens},
                   {"total_tokens", usage.prompt_tokens + usage.completion_tokens}}},
                 {"latency",
                  {{"time_to_first_token_ms", usage.time_to_first_token * 1000},
                   {"total_ms", usage.total_seconds * 1000}}}};
    if (!error.empty()) done["status_details"] = {{"error", {{"message", error}}}};
    send_event({{"type", "response.done"}, {"response", done}});
  }

  // ---- writes --------------------------------------------------------------------------
  Json session_json() const {
    return {{"id", session_id_},
            {"object", "realtime.session"},
            {"model", context_.engine.info().model_id},
            {"instructions", session_.instructions},
            {"max_output_tokens", session_.max_output_tokens},
            {"temperature", session_.temperature},
            {"include_video", session_.include_video},
            {"input_video_format", session_.input_video_format},
            {"alerts",
             {{"scene_change", session_.scene_change_alerts},
              {"threshold", session_.scene_change_threshold}}}};
  }

  void send_error(const std::string& code, const std::string& message,
                  const std::string& client_event_id = "") {
    Json error = {{"type", error_type_of_status(400)}, {"code", code}, {"message", message}};
    if (!client_event_id.empty()) error["event_id"] = client_event_id;
    send_event({{"type", "error"}, {"error", error}});
  }

  void send_event(Json event) {
    event["event_id"] = "event_" + std::to_string(++events_sent_);
    queue_write(event.dump(-1, ' ', false, Json::error_handler_t::replace));
  }

  // Bounded: a client that does not read is dropped (close 1008 "slow reader").
  void queue_write(std::string text) {
    if (closing_) return;
    if (queue_.size() >= static_cast<std::size_t>(context_.config.write_queue)) {
      return drop_slow_reader();
    }
    queue_.push_back(std::move(text));
    if (!writing_) do_write();
  }

  void do_write() {
    writing_ = true;
    ws_.text(true);
    ws_.async_write(net::buffer(queue_.front()),
                    beast::bind_front_handler(&RealtimeSession::on_write, shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t) {
    writing_ = false;
    if (ec) {
      queue_.clear();
      return end_session();
    }
    if (!queue_.empty()) queue_.pop_front();
    if (closing_ && !close_sent_ && close_reason_.code != websocket::close_code::none) {
      queue_.clear();
      close_sent_ = true;
      ws_.async_close(close_reason_,
                      [self = shared_from_this()](beast::error_code) { self->end_session(); });
      return;
    }
    if (!queue_.empty()) return do_write();
    release_final_writes();
  }

  void drop_slow_reader() {
    context_.metrics.websocket_drops.add(1);
    context_.log.warn("realtime.slow_reader",
                      {{"session", session_id_}, {"queued", queue_.size()}});
    if (response_) response_->cancel.store(true);
    // The write in flight may never finish if the peer never reads: give it a few seconds.
    drop_timer_.expires_after(std::chrono::seconds(5));
    drop_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec) return;
      beast::error_code ignored;
      beast::get_lowest_layer(self->ws_).socket().close(ignored);
      self->end_session();
    });
    close_with(websocket::close_code::policy_error, "slow reader: write queue full");
  }

  struct Settings {
    std::string instructions;
    int max_output_tokens = 256;
    double temperature = 0.0;
    bool include_video = true;
    int64_t seed = -1;
    std::string input_video_format = "auto";  // one of kVideoFormats
    bool scene_change_alerts = false;
    double scene_change_threshold = 0.5;  // kept share of a frame's tokens that alerts
  };

  websocket::stream<beast::tcp_stream> ws_;
  beast::flat_buffer buffer_;
  ApiContext& context_;
  net::thread_pool& control_;
  net::steady_timer drop_timer_;
  http::request<http::empty_body> request_;
  std::string session_id_;
  Settings session_;
  std::shared_ptr<decoder::PushSource> push_;          // container bytes, or
  std::shared_ptr<decoder::JpegPushSource> pictures_;  // JPEG pictures
  std::optional<Clock::time_point> first_picture_at_;
  std::optional<double> last_picture_seconds_;
  int64_t bytes_pushed_ = 0;
  std::shared_ptr<RealtimeResponse> response_;
  std::deque<std::string> queue_;
  int final_writes_ = 0;  // answers_writing counted for this session
  bool writing_ = false;
  bool closing_ = false;
  bool close_sent_ = false;
  bool ended_ = false;
  websocket::close_reason close_reason_;
  int64_t events_sent_ = 0;
};

}  // namespace

void start_realtime_session(beast::tcp_stream stream, http::request<http::empty_body> request,
                            ApiContext& context, net::thread_pool& control) {
  std::make_shared<RealtimeSession>(std::move(stream), context, control)->run(std::move(request));
}

}  // namespace vigil::api

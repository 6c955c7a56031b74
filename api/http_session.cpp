#include "api/http_session.h"

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <random>

#include "api/api_error.h"
#include "api/chat_format.h"
#include "api/realtime_session.h"
#include "api/rest_handlers.h"
#include "api/routes.h"

namespace vigil::api {
namespace {

using Clock = std::chrono::steady_clock;
constexpr uint32_t kHeaderLimit = 16 * 1024;
// On a chat completion: the file or stream ids its video_url parts resolved to (an external
// URL names the file session that holds it), comma-separated.
constexpr const char* kVideoIdsHeader = "X-Vigil-Video-Ids";

std::string lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

std::string temp_upload_path(const std::string& data_dir) {
  static thread_local std::mt19937_64 generator{std::random_device{}()};
  const std::string dir = data_dir + "/uploads";
  std::error_code ignored;
  std::filesystem::create_directories(dir, ignored);
  char name[48];
  std::snprintf(name, sizeof name, "/upload-%016llx.part",
                static_cast<unsigned long long>(generator()));
  return dir + name;
}

// One HTTP/1.1 chunk holding data.
std::string chunk_frame(const std::string& data) {
  char size[24];
  std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  return size + data + "\r\n";
}

// A chat completion in progress; cancel is read by the worker generating it.
struct AnswerExchange {
  std::atomic<bool> cancel{false};
  std::string id = new_completion_id();
  std::string model;
  int64_t created = unix_seconds();
  bool stream = false;
  bool include_usage = false;
  std::string video_ids;  // the sessions its video_url parts name, for X-Vigil-Video-Ids
  // Strand-only state.
  bool headers_sent = false;
  bool finished = false;
};

// A chat completion waiting for the ingestion of the video URLs it names (strand-only).
struct VideoWait {
  VideoWait(const net::any_io_executor& executor, ChatRequest request)
      : chat(std::move(request)), timer(executor) {}
  ChatRequest chat;
  size_t pending = 0;  // sessions still ingesting
  net::steady_timer timer;
};

class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(tcp::socket socket, ApiContext& context, net::thread_pool& control)
      : stream_(std::move(socket)), context_(context), control_(control) {
    context_.metrics.connections_open.add(1);
  }

  ~HttpSession() {
    release_final_writes();
    context_.metrics.connections_open.add(-1);
    if (exchange_) exchange_->cancel.store(true);
    if (!upload_path_.empty()) std::remove(upload_path_.c_str());
  }

  void run() {
    net::dispatch(stream_.get_executor(),
                  beast::bind_front_handler(&HttpSession::do_read_header, shared_from_this()));
  }

 private:
  std::chrono::seconds read_timeout() const {
    return std::chrono::seconds(context_.config.read_timeout_seconds);
  }

  // ---- request ------------------------------------------------------------------------
  void do_read_header() {
    header_parser_.emplace();
    header_parser_->header_limit(kHeaderLimit);
    header_parser_->body_limit(boost::none);  // set per route once the header is known
    request_ = ApiRequest{};
    route_ = nullptr;
    stream_.expires_after(read_timeout());
    http::async_read_header(stream_, buffer_, *header_parser_,
                            beast::bind_front_handler(&HttpSession::on_header, shared_from_this()));
  }

  void on_header(beast::error_code ec, std::size_t) {
    if (ec == http::error::end_of_stream || ec == net::error::eof || ec == beast::error::timeout ||
        ec == net::error::operation_aborted || ec == net::error::connection_reset) {
      return do_close();
    }
    started_ = Clock::now();
    if (ec) {
      request_.method = "?";
      const int status = ec == http::error::header_limit ? 431 : 400;
      return send_error(ApiError(status, "invalid_http", "malformed HTTP request: " + ec.message()),
                        /*close=*/true);
    }
    const auto& header = header_parser_->get();
    request_.method = std::string(header.method_string());
    const std::string target(header.target());
    const size_t question = target.find('?');
    request_.path = target.substr(0, question);
    if (question != std::string::npos) request_.query = target.substr(question + 1);
    for (const auto& field : header) {
      request_.headers[lower(std::string(field.name_string()))] = std::string(field.value());
    }
    keep_alive_ = header.keep_alive();

    bool path_known = false;
    std::optional<RouteMatch> match = match_route(request_.method, request_.path, path_known);
    if (!match) {
      return send_error(path_known
                            ? ApiError(405, "method_not_allowed",
                                       request_.method + " is not allowed on " + request_.path)
                            : ApiError(404, "unknown_route", "no route " + request_.path),
                        /*close=*/true);
    }
    route_ = match->route;
    request_.params = std::move(match->params);
    if (route_->needs_auth) {
      try {
        authorize(context_, request_);
      } catch (const ApiError& e) {
        return send_error(e, /*close=*/true);
      }
    }
    if (route_->kind == RouteKind::kRealtime) {
      if (!websocket::is_upgrade(header)) {
        return send_error(ApiError(426, "websocket_required",
                                   "/v1/realtime is a WebSocket endpoint: send an Upgrade request"),
                          /*close=*/true);
      }
      if (context_.draining.load()) {
        return send_error(ApiError(503, "shutting_down", "the server is shutting down"), true);
      }
      stream_.expires_never();
      start_realtime_session(std::move(stream_), header_parser_->release(), context_, control_);
      return;
    }

    const bool json_upload =
        lower(request_.header("content-type")).rfind("application/json", 0) == 0;
    const bool to_file = route_->kind == RouteKind::kUpload && !json_upload;
    const uint64_t limit = to_file ? static_cast<uint64_t>(context_.config.max_upload_bytes)
                                   : static_cast<uint64_t>(context_.config.max_body_bytes);
    const auto length = header_parser_->content_length();
    if (length && *length > limit) {
      return send_error(
          ApiError(413, "body_too_large",
                   "the request body (" + std::to_string(*length) +
                       " bytes) exceeds the limit of " + std::to_string(limit) + " bytes"),
          /*close=*/true);
    }
    if (to_file) {
      file_parser_.emplace(std::move(*header_parser_));
      file_parser_->body_limit(limit);
      upload_path_ = temp_upload_path(context_.config.data_dir);
      beast::error_code open_error;
      file_parser_->get().body().open(upload_path_.c_str(), beast::file_mode::write, open_error);
      if (open_error) {
        upload_path_.clear();
        return send_error(ApiError(500, "storage_error", "cannot store the upload"), true);
      }
    } else {
      string_parser_.emplace(std::move(*header_parser_));
      string_parser_->body_limit(limit);
    }
    do_read_body();
  }

  bool body_done() const {
    return file_parser_ ? file_parser_->is_done() : string_parser_->is_done();
  }

  void do_read_body() {
    if (body_done()) return on_body_complete();
    stream_.expires_after(read_timeout());
    auto handler = beast::bind_front_handler(&HttpSession::on_body_part, shared_from_this());
    if (file_parser_) {
      http::async_read_some(stream_, buffer_, *file_parser_, std::move(handler));
    } else {
      http::async_read_some(stream_, buffer_, *string_parser_, std::move(handler));
    }
  }

  void on_body_part(beast::error_code ec, std::size_t) {
    if (ec == http::error::body_limit) {
      return send_error(ApiError(413, "body_too_large", "the request body exceeds the limit"),
                        /*close=*/true);
    }
    if (ec) {
      // The client went away or stalled mid-body: drop what was received.
      context_.log.info("http.body_aborted", {{"path", request_.path}, {"reason", ec.message()}});
      if (!upload_path_.empty()) {
        file_parser_.reset();
        std::remove(upload_path_.c_str());
        upload_path_.clear();
      }
      return do_close();
    }
    do_read_body();
  }

  void on_body_complete() {
    if (file_parser_) {
      beast::error_code ignored;
      file_parser_->get().body().file().close(ignored);
      file_parser_.reset();
      request_.body_file = upload_path_;
    } else {
      request_.body = std::move(string_parser_->get().body());
      string_parser_.reset();
    }
    if (route_->kind == RouteKind::kChat) return start_chat();
    // REST: off the I/O thread (DNS, disk, stopping ingestion may block).
    net::post(control_, [self = shared_from_this(), request = request_, route = route_] {
      ApiResponse response;
      try {
        response = handle_rest(self->context_, *route, request);
      } catch (const ApiError& e) {
        response = error_response(e);
      } catch (const std::exception& e) {
        self->context_.log.error("http.handler_failed",
                                 {{"path", request.path}, {"error", e.what()}});
        response = error_response(ApiError(500, "internal_error", e.what()));
      }
      if (!request.body_file.empty()) std::remove(request.body_file.c_str());
      net::post(self->stream_.get_executor(), [self, response = std::move(response)] {
        self->upload_path_.clear();
        self->send_response(response, /*close=*/false);
      });
    });
  }

  // ---- plain responses ------------------------------------------------------------------
  void send_error(const ApiError& error, bool close) {
    send_response(error_response(error), close);
  }

  void send_response(const ApiResponse& response, bool close) {
    note_request(response.status);
    auto message = std::make_shared<http::response<http::string_body>>(
        static_cast<http::status>(response.status), 11);
    message->set(http::field::server, "vigil");
    message->set(http::field::content_type, response.content_type);
    if (response.status == 401) message->set(http::field::www_authenticate, "Bearer");
    for (const auto& [name, value] : response.headers) message->set(name, value);
    message->keep_alive(keep_alive_ && !close);
    message->body() = response.body;
    message->prepare_payload();
    stream_.expires_after(read_timeout());
    http::async_write(stream_, *message,
                      [self = shared_from_this(), message](beast::error_code ec, std::size_t) {
                        if (ec || !message->keep_alive()) return self->do_close();
                        self->do_read_header();
                      });
  }

  void note_request(int status) {
    const double seconds = std::chrono::duration<double>(Clock::now() - started_).count();
    context_.metrics.http_requests.add(1);
    if (status >= 400) context_.metrics.http_errors.add(1);
    context_.metrics.request_duration.observe(seconds);
    context_.log.info("http.request", {{"method", request_.method},
                                       {"path", request_.path},
                                       {"status", status},
                                       {"ms", seconds * 1000}});
  }

  // Ends the connection gracefully: no more writes, and what the peer still sends is read
  // and discarded until it closes (or the timeout), so that it gets our response rather than
  // a reset.
  void do_close() {
    release_final_writes();
    if (closed_) return;
    closed_ = true;
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.expires_after(read_timeout());
    start_background_read();
  }

  // ---- chat completions -----------------------------------------------------------------
  void start_chat() {
    exchange_ = std::make_shared<AnswerExchange>();
    keep_alive_ = false;  // an answer ends its connection (simple disconnect detection)
    stream_.expires_never();
    start_background_read();
    net::post(control_, [self = shared_from_this(), request = request_, exchange = exchange_] {
      self->prepare_and_queue(request, exchange);
    });
  }

  // Control pool: parse, check, and queue the answer for a worker, or first wait for the
  // ingestion of the video URLs it names.
  void prepare_and_queue(const ApiRequest& request,
                         const std::shared_ptr<AnswerExchange>& exchange) {
    ChatRequest chat;
    try {
      chat = prepare_chat(context_, request);
    } catch (const ApiError& e) {
      return post_error(e);
    } catch (const std::exception& e) {
      return post_error(ApiError(500, "internal_error", e.what()));
    }
    exchange->model = context_.engine.info().model_id;
    exchange->stream = chat.stream;
    exchange->include_usage = chat.include_usage;
    for (const service::VideoReference& video : chat.answer.videos) {
      exchange->video_ids += (exchange->video_ids.empty() ? "" : ",") + video.session_id;
    }
    if (!chat.waiting_for.empty()) {
      auto wait = std::make_shared<VideoWait>(stream_.get_executor(), std::move(chat));
      return net::post(stream_.get_executor(),
                       [self = shared_from_this(), wait] { self->start_video_wait(wait); });
    }
    queue_answer(std::move(chat.answer), exchange);
  }

  // Control pool.
  void queue_answer(service::AnswerRequest answer,
                    const std::shared_ptr<AnswerExchange>& exchange) {
    auto self = shared_from_this();
    context_.answers_in_flight.fetch_add(1);
    const bool queued = context_.scheduler.try_submit_question(
        [self, exchange, answer = std::move(answer)] { self->run_answer(answer, exchange); });
    if (!queued) {
      context_.answers_in_flight.fetch_sub(1);
      post_error(
          context_.scheduler.stopped()
              ? ApiError(503, "shutting_down", "the server is shutting down")
              : ApiError(429, "queue_full", "too many questions are waiting; retry shortly"));
    }
  }

  // ---- waiting for video URLs -----------------------------------------------------------
  // Strand: the wait ends when every session ingested (or failed), at the timeout, or when
  // the client leaves; whichever comes first. The timer's handler keeps the connection
  // alive meanwhile; the engine's notifications only reach it while it lives.
  void start_video_wait(const std::shared_ptr<VideoWait>& wait) {
    video_wait_ = wait;
    if (closed_ || exchange_->cancel.load()) return end_video_wait(VideoWaitEnd::kClientGone);
    wait->pending = wait->chat.waiting_for.size();
    wait->timer.expires_after(std::chrono::seconds(context_.config.video_url_timeout_seconds));
    wait->timer.async_wait([self = shared_from_this(), wait](beast::error_code ec) {
      if (!ec && self->video_wait_ == wait) self->end_video_wait(VideoWaitEnd::kTimedOut);
    });
    const std::weak_ptr<HttpSession> weak = weak_from_this();
    for (const std::string& id : wait->chat.waiting_for) {
      context_.sessions.when_ingested(id, [weak, wait] {
        if (const std::shared_ptr<HttpSession> self = weak.lock()) {
          net::post(self->stream_.get_executor(), [self, wait] {
            if (self->video_wait_ != wait) return;
            if (--wait->pending == 0) self->end_video_wait(VideoWaitEnd::kIngested);
          });
        }
      });
    }
  }

  // Strand, once per wait: stops waiting on the control pool (which may stop and remove an
  // abandoned ingestion), then answers, or sends the error.
  void end_video_wait(VideoWaitEnd end) {
    const std::shared_ptr<VideoWait> wait = std::move(video_wait_);
    video_wait_.reset();
    wait->timer.cancel();
    if (end == VideoWaitEnd::kClientGone) {
      context_.log.info("answer.client_gone", {{"id", exchange_->id}, {"waiting_for_video", true}});
    }
    net::post(control_, [self = shared_from_this(), wait, end, exchange = exchange_] {
      try {
        finish_video_wait(self->context_, wait->chat, end);
      } catch (const ApiError& e) {
        return self->post_error(e);
      } catch (const std::exception& e) {
        return self->post_error(ApiError(500, "internal_error", e.what()));
      }
      if (end != VideoWaitEnd::kIngested || exchange->cancel.load()) return;
      self->queue_answer(std::move(wait->chat.answer), exchange);
    });
  }

  // A worker: generates, posting deltas to the strand.
  void run_answer(const service::AnswerRequest& answer,
                  const std::shared_ptr<AnswerExchange>& exchange) {
    if (exchange->cancel.load()) {  // the client left while the question waited
      context_.answers_in_flight.fetch_sub(1);
      return;
    }
    auto self = shared_from_this();
    std::string text;
    try {
      const service::AnswerUsage usage = context_.engine.answer(
          answer,
          [&](const std::string& delta) {
            if (exchange->stream) {
              net::post(stream_.get_executor(), [self, delta] { self->on_delta(delta); });
            } else {
              text += delta;
            }
            return !exchange->cancel.load();
          },
          exchange->cancel);
      record_answer(context_.metrics, usage);
      post_final_write(
          [self, usage, text = std::move(text)] { self->on_answer_done(usage, text); });
    } catch (const service::EngineError& e) {
      context_.metrics.errors.add(1);
      const ApiError error = api_error_of(e);
      post_final_write([self, error] { self->on_answer_error(error); });
    } catch (const std::exception& e) {
      context_.metrics.errors.add(1);
      context_.log.error("answer.failed", {{"error", e.what()}});
      const ApiError error(500, "internal_error", e.what());
      post_final_write([self, error] { self->on_answer_error(error); });
    }
    context_.answers_in_flight.fetch_sub(1);
  }

  // A worker: the answer's last events go to the strand, and shutdown waits (answers_writing)
  // until they are written or the connection is gone. Counted before the answer stops
  // counting as in flight, so a shutdown never sees neither.
  void post_final_write(std::function<void()> write) {
    context_.answers_writing.fetch_add(1);
    net::post(stream_.get_executor(), [self = shared_from_this(), write = std::move(write)] {
      ++self->final_writes_;
      write();
      if (self->closed_) self->release_final_writes();
    });
  }

  // Strand: the final writes are out (the connection closes after them) or never will be.
  void release_final_writes() {
    context_.answers_writing.fetch_sub(final_writes_);
    final_writes_ = 0;
  }

  void post_error(const ApiError& error) {
    net::post(stream_.get_executor(),
              [self = shared_from_this(), error] { self->on_answer_error(error); });
  }

  void ensure_sse_headers() {
    if (exchange_->headers_sent) return;
    exchange_->headers_sent = true;
    std::string video_ids;
    if (!exchange_->video_ids.empty()) {
      video_ids = std::string(kVideoIdsHeader) + ": " + exchange_->video_ids + "\r\n";
    }
    queue_raw(
        "HTTP/1.1 200 OK\r\nServer: vigil\r\nContent-Type: text/event-stream\r\n"
        "Cache-Control: no-cache\r\nConnection: close\r\n" +
        video_ids + "Transfer-Encoding: chunked\r\n\r\n");
    queue_raw(chunk_frame(chunk_event(exchange_->id, exchange_->model, exchange_->created,
                                      {{"role", "assistant"}, {"content", ""}}, "")));
  }

  void on_delta(const std::string& delta) {
    if (closed_ || exchange_->finished) return;
    ensure_sse_headers();
    queue_raw(chunk_frame(chunk_event(exchange_->id, exchange_->model, exchange_->created,
                                      {{"content", delta}}, "")));
  }

  void on_answer_done(const service::AnswerUsage& usage, const std::string& text) {
    if (closed_ || exchange_->finished) return;
    exchange_->finished = true;
    context_.log.info("answer.done", {{"id", exchange_->id},
                                      {"prompt_tokens", usage.prompt_tokens},
                                      {"completion_tokens", usage.completion_tokens},
                                      {"ttft_ms", usage.time_to_first_token * 1000},
                                      {"finish_reason", usage.finish_reason}});
    if (!exchange_->stream) {
      ApiResponse response = json_response(
          200, completion_json(exchange_->id, exchange_->model, exchange_->created, text, usage));
      if (!exchange_->video_ids.empty()) {
        response.headers.emplace_back(kVideoIdsHeader, exchange_->video_ids);
      }
      return send_response(response, /*close=*/true);
    }
    ensure_sse_headers();
    note_request(200);
    queue_raw(chunk_frame(chunk_event(exchange_->id, exchange_->model, exchange_->created,
                                      nlohmann::json::object(),
                                      openai_finish_reason(usage.finish_reason))));
    if (exchange_->include_usage) {
      queue_raw(chunk_frame(chunk_event(exchange_->id, exchange_->model, exchange_->created,
                                        nullptr, "", usage_json(usage))));
    }
    finish_stream();
  }

  void on_answer_error(const ApiError& error) {
    if (closed_ || (exchange_ && exchange_->finished)) return;
    if (exchange_) exchange_->finished = true;
    if (!exchange_ || !exchange_->headers_sent) return send_error(error, /*close=*/true);
    note_request(error.status());
    queue_raw(chunk_frame("data: " + error.body().dump() + "\n\n"));
    finish_stream();
  }

  void finish_stream() {
    queue_raw(chunk_frame("data: [DONE]\n\n"));
    queue_raw("0\r\n\r\n");
    finishing_ = true;
    if (!writing_) do_close();
  }

  // Bounded: a client that does not read its answer is dropped and the answer cancelled.
  void queue_raw(std::string data) {
    if (closed_) return;
    if (raw_queue_.size() >= static_cast<size_t>(context_.config.write_queue)) {
      context_.log.warn("http.slow_reader", {{"path", request_.path}});
      context_.metrics.websocket_drops.add(1);
      return abort_connection();
    }
    raw_queue_.push_back(std::move(data));
    if (!writing_) do_write_raw();
  }

  void do_write_raw() {
    writing_ = true;
    net::async_write(stream_, net::buffer(raw_queue_.front()),
                     beast::bind_front_handler(&HttpSession::on_write_raw, shared_from_this()));
  }

  void on_write_raw(beast::error_code ec, std::size_t) {
    writing_ = false;
    if (ec) return abort_connection();
    raw_queue_.pop_front();
    if (!raw_queue_.empty()) return do_write_raw();
    if (finishing_) do_close();
  }

  void abort_connection() {
    closed_ = true;
    release_final_writes();
    raw_queue_.clear();
    if (exchange_) exchange_->cancel.store(true);
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.socket().close(ignored);
  }

  // Reads and discards what the peer sends: while an answer runs, an error (the peer closed
  // or reset) means the client left and cancels the answer; after do_close it drains.
  void start_background_read() {
    if (background_reading_) return;
    background_reading_ = true;
    do_background_read();
  }

  void do_background_read() {
    stream_.async_read_some(
        net::buffer(scratch_), [self = shared_from_this()](beast::error_code ec, std::size_t) {
          if (!ec) return self->do_background_read();
          self->background_reading_ = false;
          if (self->video_wait_) self->end_video_wait(VideoWaitEnd::kClientGone);
          if (self->exchange_ && !self->exchange_->finished) {
            self->exchange_->cancel.store(true);
            self->exchange_->finished = true;
            self->closed_ = true;
            self->release_final_writes();
            self->context_.log.info("answer.client_gone", {{"id", self->exchange_->id}});
          }
        });
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  ApiContext& context_;
  net::thread_pool& control_;
  std::optional<http::request_parser<http::empty_body>> header_parser_;
  std::optional<http::request_parser<http::string_body>> string_parser_;
  std::optional<http::request_parser<http::file_body>> file_parser_;
  ApiRequest request_;
  const Route* route_ = nullptr;
  bool keep_alive_ = true;
  Clock::time_point started_ = Clock::now();
  std::string upload_path_;  // an upload being received; removed unless handed over
  std::shared_ptr<AnswerExchange> exchange_;
  std::shared_ptr<VideoWait> video_wait_;  // while a chat waits for its video URLs
  std::deque<std::string> raw_queue_;
  bool writing_ = false;
  bool finishing_ = false;
  bool closed_ = false;
  int final_writes_ = 0;  // answers_writing counted for this connection
  bool background_reading_ = false;
  std::array<char, 4096> scratch_{};
};

}  // namespace

void start_http_session(tcp::socket socket, ApiContext& context, net::thread_pool& control) {
  std::make_shared<HttpSession>(std::move(socket), context, control)->run();
}

}  // namespace vigil::api

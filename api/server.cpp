#include "api/server.h"

#include <chrono>
#include <csignal>
#include <thread>
#include <vector>

#include "api/beast.h"
#include "api/http_session.h"

namespace vigil::api {
namespace {

// Accepts connections, each on its own strand.
class Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(net::io_context& io, const tcp::endpoint& endpoint, ApiContext& context,
           net::thread_pool& control)
      : io_(io), acceptor_(net::make_strand(io)), context_(context), control_(control) {
    beast::error_code ec;
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec) {
      throw std::runtime_error("cannot listen on " + endpoint.address().to_string() + ":" +
                               std::to_string(endpoint.port()) + ": " + ec.message());
    }
  }

  int port() const { return acceptor_.local_endpoint().port(); }
  void run() { do_accept(); }
  void stop() {
    net::post(acceptor_.get_executor(), [self = shared_from_this()] {
      beast::error_code ignored;
      self->acceptor_.close(ignored);
    });
  }

 private:
  void do_accept() {
    acceptor_.async_accept(net::make_strand(io_),
                           beast::bind_front_handler(&Listener::on_accept, shared_from_this()));
  }

  void on_accept(beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
    if (!ec) {
      start_http_session(std::move(socket), context_, control_);
    } else {
      context_.log.warn("http.accept_failed", {{"error", ec.message()}});
    }
    do_accept();
  }

  net::io_context& io_;
  tcp::acceptor acceptor_;
  ApiContext& context_;
  net::thread_pool& control_;
};

}  // namespace

void run_server(ApiContext& context, const std::function<void(int port)>& on_listening) {
  const service::ServiceConfig& config = context.config;
  net::io_context io(config.io_threads);
  net::thread_pool control(4);
  beast::error_code ec;
  const auto address = net::ip::make_address(config.host, ec);
  if (ec) throw std::runtime_error("host '" + config.host + "' is not an IP address");
  auto listener = std::make_shared<Listener>(
      io, tcp::endpoint(address, static_cast<unsigned short>(config.port)), context, control);
  listener->run();
  const int port = listener->port();
  context.log.info("server.listening", {{"host", config.host},
                                        {"port", port},
                                        {"model", context.engine.info().model_id},
                                        {"auth", !config.api_keys.empty()}});
  if (on_listening) on_listening(port);

  // Shutdown: on the first signal stop accepting and wait for answers in flight.
  net::signal_set signals(io, SIGINT, SIGTERM);
  net::steady_timer drain_timer(io);
  const auto deadline_holder =
      std::make_shared<std::chrono::steady_clock::time_point>(std::chrono::steady_clock::now());
  std::function<void()> poll_drained = [&] {
    if ((context.answers_in_flight.load() <= 0 && context.answers_writing.load() <= 0) ||
        std::chrono::steady_clock::now() >= *deadline_holder) {
      context.log.info("server.drained", {{"answers_in_flight", context.answers_in_flight.load()},
                                          {"answers_writing", context.answers_writing.load()}});
      io.stop();
      return;
    }
    drain_timer.expires_after(std::chrono::milliseconds(50));
    drain_timer.async_wait([&](beast::error_code timer_error) {
      if (!timer_error) poll_drained();
    });
  };
  signals.async_wait([&](beast::error_code signal_error, int signal_number) {
    if (signal_error) return;
    context.log.info("server.shutdown", {{"signal", signal_number},
                                         {"answers_in_flight", context.answers_in_flight.load()}});
    context.draining.store(true);
    listener->stop();
    *deadline_holder =
        std::chrono::steady_clock::now() + std::chrono::seconds(config.shutdown_grace_seconds);
    poll_drained();
  });

  std::vector<std::thread> threads;
  for (int i = 1; i < config.io_threads; ++i) threads.emplace_back([&io] { io.run(); });
  io.run();
  for (std::thread& thread : threads) thread.join();

  // Answers are done (or out of grace): stop ingestion and close every session.
  context.draining.store(true);
  context.engine.shutdown();
  context.scheduler.stop();
  context.sessions.close_all();
  control.join();
  context.log.info("server.stopped", {});
}

}  // namespace vigil::api

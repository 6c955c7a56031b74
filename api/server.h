// The HTTP/WebSocket server: accepts connections on io_threads Asio threads (one strand per
// connection), runs blocking REST work on a small control pool, and shuts down gracefully on
// SIGINT/SIGTERM: stops accepting, reports not ready, lets answers in flight finish (up to
// shutdown_grace_seconds), then stops ingestion and closes every session.
#pragma once

#include <functional>

#include "api/api_context.h"

namespace vigil::api {

// Serves until SIGINT or SIGTERM. on_listening gets the bound port (config.port 0 = any).
// Throws std::runtime_error when the address cannot be bound.
void run_server(ApiContext& context, const std::function<void(int port)>& on_listening = {});

}  // namespace vigil::api

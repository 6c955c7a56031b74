// One HTTP/1.1 connection (Beast style: its own strand, do_x/on_x pairs). Reads a request
// header with a timeout, checks route, authorisation and size limits, reads the body (a file
// for uploads) with a timeout per read, and answers: REST handlers run on the control pool,
// chat completions on the WorkScheduler with deltas posted back to this strand (SSE, bounded
// write queue). A WebSocket upgrade to /v1/realtime hands the socket to a RealtimeSession.
#pragma once

#include <memory>

#include "api/api_context.h"
#include "api/beast.h"

namespace vigil::api {

// Starts serving an accepted socket (whose executor is a strand).
void start_http_session(tcp::socket socket, ApiContext& context, net::thread_pool& control);

}  // namespace vigil::api

// A realtime WebSocket session (/v1/realtime), in the style of OpenAI's Realtime API: the
// client pushes video (binary messages: MPEG-TS or fragmented MP4 chunks, or one JPEG picture
// each) and asks questions at any time; answers stream back as events, and scene changes seen
// by token drop as alert.triggered when asked for. One strand, one bounded write queue; a
// client that does not read is dropped with a close reason. Protocol: docs/protocol.md.
#pragma once

#include "api/api_context.h"
#include "api/beast.h"

namespace vigil::api {

// Takes over an HTTP connection whose request is a WebSocket upgrade (already authorised).
void start_realtime_session(beast::tcp_stream stream, http::request<http::empty_body> request,
                            ApiContext& context, net::thread_pool& control);

}  // namespace vigil::api

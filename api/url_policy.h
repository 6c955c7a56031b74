// Which URLs the server may be told to ingest: http(s), rtsp, rtmp, srt, tcp, udp only, and,
// unless the config allows it, no host that is or resolves to a loopback, private, link-local
// or otherwise internal address (the server must not be a proxy into its own network).
#pragma once

#include <string>

namespace vigil::api {

// Throws ApiError(400, "invalid_url" | "private_url") naming the URL and why. Resolves the
// host name (blocking): call off the I/O threads.
void check_ingest_url(const std::string& url, bool allow_private);

// Whether a numeric IPv4 or IPv6 address is loopback, private, link-local, unspecified,
// carrier-grade NAT, multicast or an IPv4-mapped such address.
bool is_internal_address(const std::string& numeric_address);

}  // namespace vigil::api

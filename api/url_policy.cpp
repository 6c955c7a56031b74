#include "api/url_policy.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <array>
#include <cstring>
#include <memory>

#include "api/api_error.h"

namespace vigil::api {
namespace {

bool internal_v4(const uint8_t* a) {
  return a[0] == 0 || a[0] == 10 || a[0] == 127 || (a[0] == 169 && a[1] == 254) ||
         (a[0] == 172 && (a[1] & 0xF0) == 16) || (a[0] == 192 && a[1] == 168) ||
         (a[0] == 100 && (a[1] & 0xC0) == 64) || a[0] >= 224;
}

bool internal_v6(const uint8_t* a) {
  static const uint8_t zeros[16] = {};
  if (std::memcmp(a, zeros, 15) == 0 && (a[15] == 0 || a[15] == 1)) return true;  // :: and ::1
  if ((a[0] & 0xFE) == 0xFC) return true;                                         // fc00::/7
  if (a[0] == 0xFE && (a[1] & 0xC0) == 0x80) return true;                         // fe80::/10
  if (a[0] == 0xFF) return true;                                                  // multicast
  static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
  if (std::memcmp(a, mapped, 12) == 0) return internal_v4(a + 12);
  return false;
}

struct AddrInfoDeleter {
  void operator()(addrinfo* info) const { freeaddrinfo(info); }
};

}  // namespace

bool is_internal_address(const std::string& numeric_address) {
  uint8_t bytes[16];
  if (inet_pton(AF_INET, numeric_address.c_str(), bytes) == 1) return internal_v4(bytes);
  if (inet_pton(AF_INET6, numeric_address.c_str(), bytes) == 1) return internal_v6(bytes);
  return true;  // not an address: refuse rather than guess
}

void check_ingest_url(const std::string& url, bool allow_private) {
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos || scheme_end == 0) {
    throw ApiError(400, "invalid_url", "'" + url + "' is not a URL (scheme://host/...)", "url");
  }
  std::string scheme = url.substr(0, scheme_end);
  for (char& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  static const std::array<const char*, 9> allowed = {"http",  "https", "rtsp", "rtsps", "rtmp",
                                                     "rtmps", "srt",   "tcp",  "udp"};
  bool known = false;
  for (const char* name : allowed) known = known || scheme == name;
  if (!known) {
    throw ApiError(400, "invalid_url",
                   "URL scheme '" + scheme +
                       "' is not supported (http, https, rtsp, rtsps, rtmp, rtmps, srt, tcp, udp)",
                   "url");
  }
  // host: after "://" and any "user:pass@", up to '/', '?', '#'; "[v6]" or "name[:port]".
  std::string authority = url.substr(scheme_end + 3);
  authority = authority.substr(0, authority.find_first_of("/?#"));
  const size_t at = authority.rfind('@');
  if (at != std::string::npos) authority = authority.substr(at + 1);
  std::string host;
  if (!authority.empty() && authority[0] == '[') {
    const size_t close = authority.find(']');
    if (close == std::string::npos)
      throw ApiError(400, "invalid_url", "bad IPv6 host in " + url, "url");
    host = authority.substr(1, close - 1);
  } else {
    host = authority.substr(0, authority.find(':'));
  }
  if (host.empty()) throw ApiError(400, "invalid_url", "URL '" + url + "' has no host", "url");
  if (allow_private) return;

  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* raw = nullptr;
  if (getaddrinfo(host.c_str(), nullptr, &hints, &raw) != 0 || raw == nullptr) {
    throw ApiError(400, "unresolvable_url", "cannot resolve the host '" + host + "' of " + url,
                   "url");
  }
  const std::unique_ptr<addrinfo, AddrInfoDeleter> results(raw);
  for (const addrinfo* info = results.get(); info != nullptr; info = info->ai_next) {
    char text[INET6_ADDRSTRLEN] = {};
    if (info->ai_family == AF_INET) {
      inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(info->ai_addr)->sin_addr, text,
                sizeof text);
    } else if (info->ai_family == AF_INET6) {
      inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(info->ai_addr)->sin6_addr, text,
                sizeof text);
    } else {
      continue;
    }
    if (is_internal_address(text)) {
      throw ApiError(400, "private_url",
                     "URL host '" + host + "' resolves to the internal address " + text +
                         "; the server refuses loopback and private addresses unless "
                         "allow_private_urls is set",
                     "url");
    }
  }
}

}  // namespace vigil::api

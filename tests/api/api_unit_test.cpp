// Units of the server: the route table against docs/openapi.json, routing, the URL policy,
// multipart extraction, chat request validation, Prometheus text, configuration precedence,
// the scheduler's order and bounds, and session limits.
#include <gtest/gtest.h>

#include <condition_variable>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>

#include "api/api_error.h"
#include "api/chat_request.h"
#include "api/multipart_upload.h"
#include "api/rest_handlers.h"
#include "api/routes.h"
#include "api/url_policy.h"
#include "api/web_assets.h"
#include "service/command_line.h"
#include "service/metrics.h"
#include "service/service_config.h"
#include "service/session_registry.h"
#include "service/work_scheduler.h"
#include "tests/support/test_support.h"

namespace vigil::api {
namespace {

// The ApiError a call throws (fails the test when it throws none).
template <typename Call>
ApiError error_of(Call&& call) {
  try {
    call();
  } catch (const ApiError& error) {
    return error;
  }
  ADD_FAILURE() << "no ApiError thrown";
  return ApiError(0, "none", "none");
}

TEST(Routes, TableEqualsOpenApiPaths) {
  std::ifstream file(std::string(VIGIL_SOURCE_DIR) + "/docs/openapi.json");
  ASSERT_TRUE(file) << "docs/openapi.json missing";
  const nlohmann::json doc = nlohmann::json::parse(file);
  std::set<std::string> documented;
  for (const auto& [path, item] : doc.at("paths").items()) {
    for (const auto& [method, operation] : item.items()) {
      if (method == "parameters") continue;
      std::string upper = method;
      for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      documented.insert(upper + " " + path);
    }
  }
  std::set<std::string> served;
  for (const Route& route : route_table()) {
    served.insert(std::string(route.method) + " " + route.pattern);
  }
  EXPECT_EQ(served, documented);
}

TEST(Routes, MatchesParametersAndTellsWrongMethodFromUnknownPath) {
  bool known = false;
  const auto match = match_route("GET", "/v1/files/file-abc", known);
  ASSERT_TRUE(match);
  EXPECT_STREQ(match->route->pattern, "/v1/files/{id}");
  EXPECT_EQ(match->params.at("id"), "file-abc");
  EXPECT_FALSE(match_route("PUT", "/v1/files/file-abc", known));
  EXPECT_TRUE(known);
  EXPECT_FALSE(match_route("GET", "/v1/nothing", known));
  EXPECT_FALSE(known);
  EXPECT_FALSE(match_route("GET", "/v1/files/", known));
  const auto health = match_route("GET", "/health/live", known);
  ASSERT_TRUE(health);
  EXPECT_FALSE(health->route->needs_auth);
  EXPECT_TRUE(match_route("POST", "/v1/chat/completions", known)->route->needs_auth);
}

TEST(WebAssets, PageIsPublicAndEmbeddedByteForByte) {
  bool known = false;
  const auto root = match_route("GET", "/", known);
  ASSERT_TRUE(root);
  EXPECT_EQ(root->route->kind, RouteKind::kPage);
  EXPECT_FALSE(root->route->needs_auth);
  const auto script = match_route("GET", "/web/app.js", known);
  ASSERT_TRUE(script);
  EXPECT_EQ(script->params.at("name"), "app.js");
  EXPECT_FALSE(script->route->needs_auth);

  for (const auto& [path, file, type] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"/", "index.html", "text/html; charset=utf-8"},
           {"/web/index.html", "index.html", "text/html; charset=utf-8"},
           {"/web/app.js", "app.js", "text/javascript; charset=utf-8"},
           {"/web/style.css", "style.css", "text/css; charset=utf-8"}}) {
    const std::optional<WebAsset> asset = find_web_asset(path);
    ASSERT_TRUE(asset) << path;
    EXPECT_EQ(asset->content_type, type);
    const std::vector<uint8_t> source =
        testing::read_file(std::string(VIGIL_SOURCE_DIR) + "/api/web/" + file);
    EXPECT_EQ(asset->body, std::string(source.begin(), source.end())) << path;
  }
  for (const char* path : {"/web/", "/web/missing.js", "/web/../api/routes.cpp", "/index.html",
                           "/web/embed_web_assets.cmake", "/v1/files"}) {
    EXPECT_FALSE(find_web_asset(path)) << path;
  }
}

TEST(WebAssets, WebSocketSubprotocolsCarryTheBrowsersKey) {
  EXPECT_EQ(websocket_subprotocols("realtime, openai-insecure-api-key.k1"),
            (std::vector<std::string>{"realtime", "openai-insecure-api-key.k1"}));
  EXPECT_EQ(websocket_subprotocols(" a ,,b\t"), (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(websocket_subprotocols("").empty());
  EXPECT_EQ(std::string(kApiKeySubprotocolPrefix), "openai-insecure-api-key.");
}

TEST(UrlPolicy, InternalAddresses) {
  for (const char* address : {"127.0.0.1", "10.0.0.8", "172.16.5.4", "172.31.255.255",
                              "192.168.1.1", "169.254.169.254", "0.0.0.0", "100.64.0.1", "::1",
                              "::", "fe80::1", "fd00::5", "::ffff:127.0.0.1", "224.0.0.1"}) {
    EXPECT_TRUE(is_internal_address(address)) << address;
  }
  for (const char* address : {"8.8.8.8", "172.32.0.1", "1.1.1.1", "2606:4700::1111"}) {
    EXPECT_FALSE(is_internal_address(address)) << address;
  }
}

TEST(UrlPolicy, RefusesPrivateHostsAndOtherSchemes) {
  EXPECT_EQ(error_of([] { check_ingest_url("http://127.0.0.1:8554/x", false); }).code(),
            "private_url");
  EXPECT_EQ(error_of([] { check_ingest_url("rtsp://user:pw@[::1]:554/live", false); }).code(),
            "private_url");
  EXPECT_EQ(error_of([] { check_ingest_url("http://localhost/video.mp4", false); }).code(),
            "private_url");
  EXPECT_EQ(error_of([] { check_ingest_url("file:///etc/passwd", false); }).code(), "invalid_url");
  EXPECT_EQ(error_of([] { check_ingest_url("/etc/passwd", false); }).code(), "invalid_url");
  EXPECT_EQ(error_of([] { check_ingest_url("http:///x", false); }).status(), 400);
  EXPECT_NO_THROW(check_ingest_url("http://127.0.0.1:8554/x", true));
  EXPECT_NO_THROW(check_ingest_url("rtsp://8.8.8.8/live", false));
}

TEST(Multipart, ExtractsTheFilePartAndRefusesMalformedBodies) {
  testing::TempDir dir;
  // Binary bytes with NULs and a line that looks like a boundary (sizeof: the NULs count).
  constexpr char kPayload[] = "\x00\x01video\r\n--not-the-boundary\r\n\xff";
  const std::string payload(kPayload, sizeof(kPayload) - 1);
  const std::string body =
      "--XyZ\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nvision"
      "\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; "
      "filename=\"clip.ts\"\r\nContent-Type: video/mp2t\r\n\r\n" +
      payload + "\r\n--XyZ--\r\n";
  std::ofstream(dir.file("body"), std::ios::binary) << body;
  const MultipartUpload upload = extract_multipart_file(
      dir.file("body"), multipart_boundary("multipart/form-data; boundary=XyZ"), dir.file("out"));
  EXPECT_EQ(upload.filename, "clip.ts");
  EXPECT_EQ(upload.content_type, "video/mp2t");
  EXPECT_EQ(upload.bytes, static_cast<int64_t>(payload.size()));
  EXPECT_EQ(upload.fields.at("purpose"), "vision");
  const std::vector<uint8_t> out = testing::read_file(dir.file("out"));
  EXPECT_EQ(std::string(out.begin(), out.end()), payload);

  std::ofstream(dir.file("bad"), std::ios::binary) << "--XyZ\r\nContent-Disposition: "
                                                      "form-data; name=\"file\"\r\n\r\ntruncated";
  EXPECT_EQ(
      error_of([&] { extract_multipart_file(dir.file("bad"), "XyZ", dir.file("o2")); }).code(),
      "invalid_multipart");
  std::ofstream(dir.file("nofile"), std::ios::binary)
      << "--XyZ\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n1\r\n--XyZ--\r\n";
  EXPECT_EQ(
      error_of([&] { extract_multipart_file(dir.file("nofile"), "XyZ", dir.file("o3")); }).code(),
      "invalid_multipart");
  EXPECT_EQ(error_of([] { multipart_boundary("text/plain"); }).status(), 415);
  EXPECT_EQ(error_of([] { multipart_boundary("multipart/form-data"); }).status(), 400);
}

TEST(ChatRequest, ParsesOpenAiFieldsAndVideoParts) {
  const ChatRequest chat = parse_chat_request(R"({
    "model": "m", "stream": true, "stream_options": {"include_usage": true},
    "max_tokens": 12, "temperature": 0.5, "top_p": 0.9, "seed": 7, "stop": ["\n\n", "END"],
    "messages": [
      {"role": "developer", "content": "be brief"},
      {"role": "user", "content": [
        {"type": "video_url", "video_url": {"url": "file-abc", "start_seconds": 2, "end_seconds": 5}},
        {"type": "text", "text": "what happens?"}]}]})",
                                              100);
  EXPECT_EQ(chat.model, "m");
  EXPECT_TRUE(chat.stream);
  EXPECT_TRUE(chat.include_usage);
  EXPECT_EQ(chat.answer.max_tokens, 12);
  EXPECT_DOUBLE_EQ(chat.answer.temperature, 0.5);
  EXPECT_DOUBLE_EQ(chat.answer.top_p, 0.9);
  EXPECT_EQ(chat.answer.seed, 7u);
  EXPECT_EQ(chat.answer.stop, (std::vector<std::string>{"\n\n", "END"}));
  EXPECT_EQ(chat.answer.messages[0]["role"], "system");
  ASSERT_EQ(chat.video_parts.size(), 1u);
  EXPECT_EQ(chat.video_parts[0].url, "file-abc");
  EXPECT_EQ(chat.video_parts[0].start_seconds, 2.0);
  EXPECT_EQ(chat.video_parts[0].end_seconds, 5.0);
  EXPECT_EQ(session_id_of_video_url("vigil://files/file-abc"), "file-abc");
  EXPECT_EQ(session_id_of_video_url("rtsp://cam/1"), "");
}

TEST(ChatRequest, RefusesMalformedBodiesNamingTheField) {
  const auto param_of = [](const std::string& body) {
    return error_of([&] { parse_chat_request(body, 100); }).param();
  };
  EXPECT_EQ(error_of([] { parse_chat_request("{\"messages\": [", 100); }).code(), "invalid_json");
  EXPECT_EQ(error_of([] { parse_chat_request("[1]", 100); }).code(), "invalid_json");
  EXPECT_EQ(param_of("{}"), "messages");
  EXPECT_EQ(param_of(R"({"messages": []})"), "messages");
  EXPECT_EQ(param_of(R"({"messages": [{"role": 3, "content": "x"}]})"), "messages[0].role");
  EXPECT_EQ(param_of(R"({"messages": [{"role": "user", "content": 5}]})"), "messages[0].content");
  EXPECT_EQ(param_of(R"({"messages": [{"role": "user", "content": "x"}], "max_tokens": "9"})"),
            "max_tokens");
  EXPECT_EQ(param_of(R"({"messages": [{"role": "user", "content": "x"}], "max_tokens": 101})"),
            "max_tokens");
  EXPECT_EQ(param_of(R"({"messages": [{"role": "user", "content": "x"}], "temperature": 3})"),
            "temperature");
  EXPECT_EQ(param_of(R"({"messages": [{"role": "user", "content": "x"}], "stream": "yes"})"),
            "stream");
  EXPECT_EQ(param_of(R"({"messages": [{"role": "user", "content": "x"}],
                         "stop": ["a", "b", "c", "d", "e"]})"),
            "stop");
  EXPECT_EQ(param_of(R"({"messages": [{"role": "user", "content": [{"type": "image_url",
                         "image_url": {"url": "x"}}]}]})"),
            "messages[0].content[0].type");
  EXPECT_EQ(param_of(R"({"messages": [{"role": "user", "content": [{"type": "video_url",
                         "video_url": {"url": "f", "start_seconds": 5, "end_seconds": 1}}]}]})"),
            "messages[0].content[0].video_url.end_seconds");
}

TEST(Metrics, RendersPrometheusText) {
  service::MetricsRegistry registry;
  registry.counter("vigil_things_total", "Things", {{"kind", "a"}}).add(3);
  registry.gauge("vigil_depth", "Depth").set(2.5);
  service::Histogram& histogram =
      registry.histogram("vigil_latency_seconds", "Latency", {0.1, 1.0});
  histogram.observe(0.05);
  histogram.observe(0.5);
  histogram.observe(5);
  EXPECT_EQ(&registry.gauge("vigil_depth", "Depth"), &registry.gauge("vigil_depth", "Depth"));
  EXPECT_EQ(registry.render(),
            "# HELP vigil_depth Depth\n# TYPE vigil_depth gauge\nvigil_depth 2.5\n"
            "# HELP vigil_latency_seconds Latency\n# TYPE vigil_latency_seconds histogram\n"
            "vigil_latency_seconds_bucket{le=\"0.10000000000000001\"} 1\n"
            "vigil_latency_seconds_bucket{le=\"1\"} 2\n"
            "vigil_latency_seconds_bucket{le=\"+Inf\"} 3\n"
            "vigil_latency_seconds_sum 5.5499999999999998\nvigil_latency_seconds_count 3\n"
            "# HELP vigil_things_total Things\n# TYPE vigil_things_total counter\n"
            "vigil_things_total{kind=\"a\"} 3\n");
}

TEST(ServiceConfig, FileThenEnvironmentThenFlags) {
  testing::TempDir dir;
  std::ofstream(dir.file("c.json")) << R"({"port": 9000, "workers": 3, "api_keys": ["a", "b"],
                                          "model_dir": "/models/qwen", "max_streams": 4})";
  const service::ServiceConfig config = service::load_service_config(
      {"--config", dir.file("c.json"), "--workers", "5"},
      {{"VIGIL_PORT", "9100"}, {"VIGIL_ALLOW_PRIVATE_URLS", "true"}, {"VIGIL_WORKERS", "4"}});
  EXPECT_EQ(config.port, 9100);
  EXPECT_EQ(config.workers, 5);
  EXPECT_TRUE(config.allow_private_urls);
  EXPECT_EQ(config.api_keys, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(config.max_streams, 4);
  EXPECT_EQ(config.model_name, "qwen");

  std::ofstream(dir.file("bad.json")) << R"({"port": "x", "model_dir": "m"})";
  EXPECT_THROW(service::load_service_config({"--config", dir.file("bad.json")}, {}),
               service::ConfigError);
  std::ofstream(dir.file("unknown.json")) << R"({"prot": 1})";
  EXPECT_THROW(service::load_service_config({"--config", dir.file("unknown.json")}, {}),
               service::ConfigError);
  EXPECT_THROW(service::load_service_config({}, {}), service::ConfigError);  // no model
  EXPECT_THROW(service::load_service_config({"--model", "m", "--port", "70000"}, {}),
               service::ConfigError);
  EXPECT_THROW(service::load_service_config({"--model", "m", "--bogus", "1"}, {}),
               service::UsageError);
  EXPECT_THROW(service::load_service_config({"--model", "m"}, {{"VIGIL_WORKERS", "two"}}),
               service::ConfigError);
  EXPECT_EQ(service::load_service_config({"--model", "m"}, {}).video_url_timeout_seconds, 300);
  EXPECT_EQ(service::load_service_config({"--model", "m", "--video-url-timeout-seconds", "7"}, {})
                .video_url_timeout_seconds,
            7);
  EXPECT_THROW(
      service::load_service_config({"--model", "m"}, {{"VIGIL_VIDEO_URL_TIMEOUT_SECONDS", "0"}}),
      service::ConfigError);
}

// One worker held by a gate task: what was queued behind it runs in the scheduler's order.
TEST(WorkScheduler, QuestionsFirstButIngestionNeverStarved) {
  service::WorkScheduler scheduler(1, 3, 8, nullptr);
  std::mutex mutex;
  std::condition_variable changed;
  bool gate_open = false, gate_entered = false;
  std::vector<std::string> order;
  ASSERT_TRUE(scheduler.try_submit_question([&] {
    std::unique_lock<std::mutex> lock(mutex);
    gate_entered = true;
    changed.notify_all();
    changed.wait(lock, [&] { return gate_open; });
  }));
  {
    std::unique_lock<std::mutex> lock(mutex);
    changed.wait(lock, [&] { return gate_entered; });
  }
  const auto record = [&](std::string name) {
    return [&, name] {
      std::lock_guard<std::mutex> lock(mutex);
      order.push_back(name);
    };
  };
  ASSERT_TRUE(scheduler.submit_ingest(record("i1"), nullptr));
  ASSERT_TRUE(scheduler.submit_ingest(record("i2"), nullptr));
  ASSERT_TRUE(scheduler.try_submit_question(record("q1")));
  ASSERT_TRUE(scheduler.try_submit_question(record("q2")));
  ASSERT_TRUE(scheduler.try_submit_question(record("q3")));
  EXPECT_FALSE(scheduler.try_submit_question(record("q4")));  // bounded: 3 waiting
  EXPECT_EQ(scheduler.question_depth(), 3u);
  {
    std::lock_guard<std::mutex> lock(mutex);
    gate_open = true;
  }
  changed.notify_all();
  scheduler.stop();  // drains the queues
  EXPECT_EQ(order, (std::vector<std::string>{"q1", "q2", "i1", "q3", "i2"}));
  EXPECT_FALSE(scheduler.try_submit_question(record("late")));
}

TEST(SessionRegistry, LimitsStatesAndProgress) {
  service::SessionRegistry registry(3, 1);
  const service::SessionInfo file = registry.create(service::SessionKind::kFile, "a.mp4", 10);
  EXPECT_EQ(file.id.rfind("file-", 0), 0u);
  const service::SessionInfo stream = registry.create(service::SessionKind::kStream, "rtsp://x");
  EXPECT_THROW(registry.create(service::SessionKind::kRealtime, "pushed"),
               service::SessionLimitError);
  registry.create(service::SessionKind::kFile, "b.mp4");
  EXPECT_THROW(registry.create(service::SessionKind::kFile, "c.mp4"), service::SessionLimitError);
  registry.update(file.id, [](service::SessionInfo& info) {
    info.frames_planned = 4;
    info.frames_ingested = 1;
  });
  EXPECT_DOUBLE_EQ(registry.get(file.id)->to_json()["progress"].get<double>(), 0.25);
  EXPECT_TRUE(registry.get(stream.id)->to_json()["progress"].is_null());
  registry.update(file.id,
                  [](service::SessionInfo& info) { info.state = service::SessionState::kClosed; });
  registry.update(file.id,
                  [](service::SessionInfo& info) { info.state = service::SessionState::kReady; });
  EXPECT_EQ(registry.get(file.id)->state, service::SessionState::kClosed);  // closed stays
  EXPECT_TRUE(registry.remove(file.id));
  EXPECT_FALSE(registry.get(file.id));
  EXPECT_EQ(registry.open_sessions(), 2);
  EXPECT_EQ(registry.open_streams(), 1);
}

}  // namespace
}  // namespace vigil::api

// End to end: starts the real `vigil serve` on the tiny Qwen2 fixture and talks to it with
// real clients: curl (uploads, errors, SSE), the official openai npm client, the ws npm
// client and Python's websockets (realtime sessions pushing a real video), and raw sockets
// that misbehave. After each bad input a request proves the server still serves, and the
// registry and metrics show that nothing leaked.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/support/test_support.h"

namespace vigil {
namespace {

using nlohmann::json;
using testing::run_command;
using testing::shell_quote;

const std::string kKey = "test-key";
const std::string kModel = "qwen2_gqa3_untied";

struct HttpResult {
  int status = 0;
  std::string body;
  json as_json() const { return json::parse(body, nullptr, false); }
};

// Polls a condition (the server acts asynchronously) with a deadline.
template <typename Condition>
bool eventually(Condition&& condition, int seconds = 30) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return condition();
}

// A TCP server on 127.0.0.1:port that accepts connections and never answers (a stalled
// video URL), for two minutes.
testing::BackgroundProcess silent_tcp_server(int port) {
  return testing::BackgroundProcess(
      "exec /usr/bin/python3 -c \"import socket, time; s = socket.socket(); "
      "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('127.0.0.1', " +
      std::to_string(port) + ")); s.listen(8); time.sleep(120)\"");
}

class ApiServer : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    port_ = testing::free_tcp_port();
    server_ = new testing::BackgroundProcess(serve_command(*dir_, port_));
    ASSERT_TRUE(testing::wait_for_tcp_port(port_, 120000)) << "vigil serve did not start";
    const std::string video = testing::opencv_sample("vtest.avi");
    // The first 30 s of the sample as MPEG-TS: what a live client pushes.
    ASSERT_EQ(
        run_command("ffmpeg -v error -y -i " + shell_quote(video) +
                    " -t 30 -c:v mpeg2video -q:v 6 -f mpegts " + shell_quote(dir_->file("live.ts")))
            .exit_code,
        0);
  }

  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
    delete dir_;
    dir_ = nullptr;
  }

  static std::string serve_command(const testing::TempDir& dir, int port) {
    return "echo $$ > " + shell_quote(dir.file("server.pid")) + "; exec " +
           std::string(VIGIL_BINARY) + " serve --model " +
           shell_quote(std::string(VIGIL_SOURCE_DIR) + "/tests/fixtures/" + kModel) + " --port " +
           std::to_string(port) + " --data-dir " + shell_quote(dir.file("data")) + " --api-keys " +
           kKey +
           " --max-body-bytes 65536 --max-upload-bytes 20000000 --max-message-bytes 4194304"
           " --write-queue 16 --read-timeout-seconds 10 --workers 2 --max-tokens-limit 3500"
           " 2>>" +
           shell_quote(dir.file("server.log"));
  }

  static std::string base() { return "http://127.0.0.1:" + std::to_string(port_); }

  // curl with the API key (unless key is empty); args are curl arguments.
  static HttpResult curl(const std::string& args, const std::string& key = kKey) {
    const std::string body_file = dir_->file("response.body");
    std::string command = "curl -sS -o " + shell_quote(body_file) + " -w '%{http_code}' ";
    if (!key.empty()) command += "-H " + shell_quote("Authorization: Bearer " + key) + " ";
    const testing::CommandResult result = run_command(command + args);
    HttpResult http;
    http.status = std::atoi(result.output.c_str());
    const std::vector<uint8_t> body = testing::read_file(body_file);
    http.body.assign(body.begin(), body.end());
    return http;
  }

  static HttpResult get(const std::string& path) { return curl(shell_quote(base() + path)); }
  static HttpResult post_json(const std::string& path, const std::string& body) {
    return curl("-H 'Content-Type: application/json' --data-binary " + shell_quote(body) + " " +
                shell_quote(base() + path));
  }

  static double metric(const std::string& series) {
    const HttpResult result = curl(shell_quote(base() + "/metrics"), "");
    size_t at = 0;
    while ((at = result.body.find(series + " ", at)) != std::string::npos) {
      if (at == 0 || result.body[at - 1] == '\n')
        return std::stod(result.body.substr(at + series.size()));
      at += series.size();
    }
    return -1;
  }

  static void expect_serving() {
    const HttpResult health = get("/health/live");
    EXPECT_EQ(health.status, 200);
    EXPECT_EQ(health.as_json().value("status", ""), "ok");
  }

  static void expect_error(const HttpResult& result, int status, const std::string& code) {
    EXPECT_EQ(result.status, status) << result.body;
    const json body = result.as_json();
    ASSERT_TRUE(body.is_object() && body.contains("error")) << result.body;
    EXPECT_EQ(body["error"].value("code", ""), code) << result.body;
    EXPECT_TRUE(body["error"]["message"].is_string());
    EXPECT_TRUE(body["error"]["type"].is_string());
  }

  // Polls until ready (returns it) or failed; fails the test after a generous deadline.
  static json wait_until_ingested(const std::string& id) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(180);
    json info;
    while (std::chrono::steady_clock::now() < deadline) {
      info = get("/v1/files/" + id).as_json();
      if (info.value("status", "") != "ingesting") return info;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    ADD_FAILURE() << "still ingesting: " << info.dump();
    return info;
  }

  static int upload_files_left() {
    int count = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir_->file("data") + "/uploads")) {
      (void)entry;
      ++count;
    }
    return count;
  }

  static std::string upload_raw() {
    const HttpResult result = curl("-H 'Content-Type: video/x-msvideo' --data-binary @" +
                                   shell_quote(testing::opencv_sample("vtest.avi")) + " " +
                                   shell_quote(base() + "/v1/files"));
    EXPECT_EQ(result.status, 202) << result.body;
    return result.as_json().value("id", "");
  }

  static json run_script(const std::string& command) {
    const testing::CommandResult result = run_command(command);
    EXPECT_EQ(result.exit_code, 0) << command;
    const size_t last_line = result.output.find_last_of('\n', result.output.size() - 2);
    const std::string line =
        last_line == std::string::npos ? result.output : result.output.substr(last_line + 1);
    const json parsed = json::parse(line, nullptr, false);
    EXPECT_FALSE(parsed.is_discarded()) << result.output;
    return parsed;
  }

  static std::string python(const std::string& mode, const std::string& extra = "") {
    return "/usr/bin/python3 " + std::string(VIGIL_SOURCE_DIR) + "/tests/api/realtime_client.py " +
           mode + " 127.0.0.1 " + std::to_string(port_) + " " + kKey + " " + extra;
  }

  static bool no_realtime_sessions() {
    const json streams = get("/v1/streams").as_json();
    return streams.contains("data") && streams["data"].empty();
  }

  static testing::TempDir* dir_;
  static testing::BackgroundProcess* server_;
  static int port_;
};

testing::TempDir* ApiServer::dir_ = nullptr;
testing::BackgroundProcess* ApiServer::server_ = nullptr;
int ApiServer::port_ = 0;

TEST_F(ApiServer, HealthAndMetricsArePublicTheRestNeedsAKey) {
  EXPECT_EQ(curl(shell_quote(base() + "/health/live"), "").status, 200);
  EXPECT_EQ(curl(shell_quote(base() + "/health/ready"), "").status, 200);
  const HttpResult metrics = curl(shell_quote(base() + "/metrics"), "");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("# TYPE vigil_time_to_first_token_seconds histogram"),
            std::string::npos);
  EXPECT_NE(metrics.body.find("vigil_queue_depth{queue=\"question\"}"), std::string::npos);
  expect_error(curl(shell_quote(base() + "/v1/models"), ""), 401, "missing_api_key");
  expect_error(curl(shell_quote(base() + "/v1/models"), "wrong"), 401, "invalid_api_key");
  const HttpResult models = get("/v1/models");
  ASSERT_EQ(models.status, 200);
  EXPECT_EQ(models.as_json()["data"][0]["id"], kModel);
  EXPECT_EQ(models.as_json()["data"][0]["has_vision"], false);
}

TEST_F(ApiServer, MultipartUploadIngestsTheRealVideoThenDeleteRemovesIt) {
  const double sessions_before = metric("vigil_sessions_active");
  const HttpResult created = curl("-F file=@" + shell_quote(testing::opencv_sample("vtest.avi")) +
                                  " " + shell_quote(base() + "/v1/files"));
  ASSERT_EQ(created.status, 202) << created.body;
  const std::string id = created.as_json()["id"];
  EXPECT_EQ(id.rfind("file-", 0), 0u);
  EXPECT_EQ(created.as_json()["source"], "vtest.avi");
  const json ready = wait_until_ingested(id);
  EXPECT_EQ(ready["status"], "ready") << ready.dump();
  // 79.5 s of video sampled at 1 frame/s.
  EXPECT_EQ(ready["frames_planned"], 80);
  EXPECT_EQ(ready["frames_ingested"], 80);
  EXPECT_DOUBLE_EQ(ready["progress"].get<double>(), 1.0);
  EXPECT_EQ(ready["bytes"], 8131690);
  bool listed = false;
  const json files = get("/v1/files").as_json();
  for (const json& file : files["data"]) listed = listed || file["id"] == id;
  EXPECT_TRUE(listed);
  EXPECT_GE(metric("vigil_ingest_frames_total"), 80);

  // A question about it: honest refusal by a model without a vision tower.
  const HttpResult video_question = post_json(
      "/v1/chat/completions",
      json{{"messages",
            {{{"role", "user"},
              {"content",
               {{{"type", "video_url"}, {"video_url", {{"url", id}, {"start_seconds", 1}}}},
                {{"type", "text"}, {"text", "what happens?"}}}}}}}}
          .dump());
  expect_error(video_question, 501, "video_unsupported");
  EXPECT_NE(video_question.body.find("has no vision tower"), std::string::npos);

  const HttpResult deleted = curl("-X DELETE " + shell_quote(base() + "/v1/files/" + id));
  EXPECT_EQ(deleted.status, 200);
  EXPECT_EQ(deleted.as_json()["deleted"], true);
  expect_error(get("/v1/files/" + id), 404, "not_found");
  expect_error(curl("-X DELETE " + shell_quote(base() + "/v1/files/" + id)), 404, "not_found");
  EXPECT_EQ(upload_files_left(), 0);
  EXPECT_EQ(metric("vigil_sessions_active"), sessions_before);
}

TEST_F(ApiServer, RawUploadUrlPolicyAndMediaTypes) {
  const std::string id = upload_raw();
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(curl("-X DELETE " + shell_quote(base() + "/v1/files/" + id)).status, 200);
  expect_error(post_json("/v1/files", R"({"url": "http://127.0.0.1:1/x.mp4"})"), 400,
               "private_url");
  expect_error(post_json("/v1/files", R"({"url": "file:///etc/passwd"})"), 400, "invalid_url");
  expect_error(post_json("/v1/files", R"({"url": 5})"), 400, "invalid_request");
  expect_error(post_json("/v1/streams", R"({"url": "rtsp://10.1.2.3/live"})"), 400, "private_url");
  expect_error(post_json("/v1/streams", R"({"uri": "rtsp://x"})"), 400, "invalid_request");
  expect_error(curl("-H 'Content-Type: text/plain' --data-binary hello " +
                    shell_quote(base() + "/v1/files")),
               415, "unsupported_media_type");
  expect_error(curl("-F file=@/dev/null " + shell_quote(base() + "/v1/files")), 400, "empty_file");
  expect_error(get("/v1/streams/stream-nope"), 404, "not_found");
  EXPECT_EQ(upload_files_left(), 0);
  expect_serving();
}

// A chat video_url naming an external URL passes the same URL policy as POST /v1/files:
// refused before anything is ingested.
TEST_F(ApiServer, ChatVideoUrlFollowsTheUrlPolicy) {
  const auto chat_about = [](const std::string& url) {
    return post_json("/v1/chat/completions",
                     json{{"messages",
                           {{{"role", "user"},
                             {"content",
                              {{{"type", "video_url"}, {"video_url", {{"url", url}}}},
                               {{"type", "text"}, {"text", "What happens?"}}}}}}}}
                         .dump());
  };
  expect_error(chat_about("http://127.0.0.1:1/x.mp4"), 400, "private_url");
  expect_error(chat_about("rtsp://10.1.2.3/live"), 400, "private_url");
  expect_error(chat_about("http://[::1]:8080/x.mp4"), 400, "private_url");
  expect_error(chat_about("file:///etc/passwd"), 400, "invalid_url");
  EXPECT_TRUE(get("/v1/files").as_json()["data"].empty());
  EXPECT_EQ(metric("vigil_video_url_ingests_total"), 0);
  expect_serving();
}

TEST_F(ApiServer, ChatCompletionsWithCurlPlainAndStreamed) {
  const std::string request =
      R"({"model": "qwen2_gqa3_untied", "messages": [{"role": "user", "content": "Hi"}],
          "max_tokens": 8, "temperature": 0, "seed": 3})";
  const HttpResult first = post_json("/v1/chat/completions", request);
  ASSERT_EQ(first.status, 200) << first.body;
  const json completion = first.as_json();
  EXPECT_EQ(completion["object"], "chat.completion");
  EXPECT_EQ(completion["model"], kModel);
  EXPECT_EQ(completion["choices"][0]["message"]["role"], "assistant");
  EXPECT_GT(completion["usage"]["prompt_tokens"].get<int>(), 0);
  EXPECT_GT(completion["usage"]["completion_tokens"].get<int>(), 0);
  EXPECT_LE(completion["usage"]["completion_tokens"].get<int>(), 8);
  // Greedy: the same answer again.
  EXPECT_EQ(post_json("/v1/chat/completions", request).as_json()["choices"][0]["message"],
            completion["choices"][0]["message"]);

  const testing::CommandResult streamed =
      run_command("curl -sS -N -H 'Authorization: Bearer " + kKey +
                  "' -H 'Content-Type: application/json' --data-binary " +
                  shell_quote(R"({"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 8,
                     "temperature": 0, "seed": 3, "stream": true,
                     "stream_options": {"include_usage": true}})") +
                  " " + shell_quote(base() + "/v1/chat/completions"));
  ASSERT_EQ(streamed.exit_code, 0);
  std::string text;
  int usage_chunks = 0;
  size_t at = 0;
  std::string last_data;
  while ((at = streamed.output.find("data: ", at)) != std::string::npos) {
    const size_t end = streamed.output.find("\n\n", at);
    last_data = streamed.output.substr(at + 6, end - at - 6);
    at = end;
    if (last_data == "[DONE]") break;
    const json chunk = json::parse(last_data);
    EXPECT_EQ(chunk["object"], "chat.completion.chunk");
    if (chunk.contains("usage")) ++usage_chunks;
    if (!chunk["choices"].empty()) text += chunk["choices"][0]["delta"].value("content", "");
  }
  EXPECT_EQ(last_data, "[DONE]");
  EXPECT_EQ(usage_chunks, 1);
  EXPECT_EQ(text, completion["choices"][0]["message"]["content"]);
  EXPECT_GT(metric("vigil_time_to_first_token_seconds_count"), 0);
}

TEST_F(ApiServer, BadRequestsGetClearErrorsAndTheServerKeepsServing) {
  expect_error(post_json("/v1/chat/completions", "{\"messages\": ["), 400, "invalid_json");
  expect_error(post_json("/v1/chat/completions", R"({"messages": "hi"})"), 400, "invalid_request");
  const HttpResult wrong_type =
      post_json("/v1/chat/completions",
                R"({"messages": [{"role": "user", "content": "x"}], "max_tokens": "ten"})");
  expect_error(wrong_type, 400, "invalid_request");
  EXPECT_EQ(wrong_type.as_json()["error"]["param"], "max_tokens");
  expect_error(post_json("/v1/chat/completions",
                         R"({"messages": [{"role": "user", "content": [{"type": "video_url",
                             "video_url": {"url": "file-0000"}}]}]})"),
               404, "not_found");
  expect_error(post_json("/v1/chat/completions",
                         R"({"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}]})"),
               404, "model_not_found");
  expect_error(get("/v1/nowhere"), 404, "unknown_route");
  expect_error(curl("-X PUT " + shell_quote(base() + "/v1/files")), 405, "method_not_allowed");
  expect_error(get("/v1/realtime"), 426, "websocket_required");
  // 100 kB of JSON against a 64 kB limit: refused from the Content-Length, before reading.
  const std::string big =
      "{\"messages\": [{\"role\": \"user\", \"content\": \"" + std::string(100000, 'a') + "\"}]}";
  std::ofstream(dir_->file("big.json")) << big;
  expect_error(curl("-H 'Content-Type: application/json' --data-binary @" +
                    shell_quote(dir_->file("big.json")) + " " +
                    shell_quote(base() + "/v1/chat/completions")),
               413, "body_too_large");
  // Chunked, so the limit is hit while reading.
  expect_error(curl("-H 'Content-Type: application/json' -H 'Transfer-Encoding: chunked' "
                    "--data-binary @" +
                    shell_quote(dir_->file("big.json")) + " " +
                    shell_quote(base() + "/v1/chat/completions")),
               413, "body_too_large");
  // Not HTTP at all.
  const testing::CommandResult garbage =
      run_command("printf 'NOT HTTP\\r\\n\\r\\n' | curl -sS --max-time 5 telnet://127.0.0.1:" +
                  std::to_string(port_) + " || true");
  EXPECT_NE(garbage.output.find("invalid_http"), std::string::npos) << garbage.output;
  expect_serving();
}

TEST_F(ApiServer, OfficialOpenAiNpmClient) {
  const std::string id = upload_raw();
  const json summary =
      run_script("node " + std::string(VIGIL_SOURCE_DIR) + "/tests/api/openai_client.cjs " +
                 base() + "/v1 " + kKey + " " + kModel + " " + id);
  EXPECT_EQ(summary["plain"]["object"], "chat.completion");
  EXPECT_GT(summary["plain"]["usage"]["completion_tokens"].get<int>(), 0);
  EXPECT_EQ(summary["streamed"]["text"], summary["plain"]["text"]);
  EXPECT_GT(summary["streamed"]["chunks"].get<int>(), 2);
  EXPECT_EQ(summary["streamed"]["usage"]["completion_tokens"],
            summary["plain"]["usage"]["completion_tokens"]);
  EXPECT_EQ(summary["video"]["status"], 501);
  EXPECT_EQ(summary["video"]["code"], "video_unsupported");
  EXPECT_EQ(curl("-X DELETE " + shell_quote(base() + "/v1/files/" + id)).status, 200);
}

TEST_F(ApiServer, WsNpmRealtimeSessionPushesVideoWhileAnswering) {
  const json summary =
      run_script("node " + std::string(VIGIL_SOURCE_DIR) +
                 "/tests/api/ws_realtime.cjs ws://127.0.0.1:" + std::to_string(port_) +
                 "/v1/realtime " + kKey + " " + dir_->file("live.ts"));
  EXPECT_EQ(summary["session"].get<std::string>().rfind("rt-", 0), 0u);
  ASSERT_EQ(summary["errors"].size(), 1u) << summary.dump();
  EXPECT_EQ(summary["errors"][0]["code"], "video_unsupported");
  EXPECT_EQ(summary["errors"][0]["event_id"], "video-q");
  ASSERT_EQ(summary["done"].size(), 3u) << summary.dump();
  for (const json& response : summary["done"]) {
    EXPECT_TRUE(response["status"] == "completed" || response["status"] == "incomplete");
    EXPECT_GT(response["usage"]["output_tokens"].get<int>(), 0);
  }
  EXPECT_GT(summary["deltas"].get<int>(), 0);
  EXPECT_GT(summary["committed"].get<int>(), 10);
  const int final_frames = summary["last_progress"]["frames_ingested"];
  EXPECT_GE(final_frames, 20) << summary.dump();  // 30 s pushed at 1 frame/s
  // The first answer came while ingestion was still going on.
  EXPECT_LT(summary["frames_at_answers"][0].get<int>(), final_frames);
  EXPECT_TRUE(eventually([] { return no_realtime_sessions(); }));
}

TEST_F(ApiServer, PythonWebsocketsSessionSurvivesBadEvents) {
  const json summary = run_script(python("session", dir_->file("live.ts")));
  EXPECT_EQ(summary["errors"], json({"invalid_json", "unknown_event", "invalid_session_field"}))
      << summary.dump();
  EXPECT_EQ(summary["updated"]["include_video"], false);
  EXPECT_EQ(summary["updated"]["max_output_tokens"], 5);
  ASSERT_EQ(summary["done"].size(), 3u);
  for (const json& response : summary["done"]) {
    EXPECT_EQ(response["status"], "incomplete");  // stopped at max_output_tokens 5
    EXPECT_EQ(response["usage"]["output_tokens"], 5);
  }
  EXPECT_GE(summary["final_progress"]["frames_ingested"].get<int>(), 20) << summary.dump();
  EXPECT_EQ(summary["final_progress"]["status"], "ingesting");
  EXPECT_TRUE(eventually([] { return no_realtime_sessions(); }));
  expect_serving();
}

TEST_F(ApiServer, JpegPicturesArePushedOnePerMessageAndCorruptOnesGetErrors) {
  // Two pictures a second of the real video, 10 s.
  const std::string pictures = dir_->file("pictures");
  std::filesystem::create_directories(pictures);
  ASSERT_EQ(
      run_command("ffmpeg -v error -y -i " + shell_quote(testing::opencv_sample("vtest.avi")) +
                  " -t 10 -vf fps=2,scale=384:288 -q:v 5 " +
                  shell_quote(pictures + "/picture%03d.jpg"))
          .exit_code,
      0);
  const json summary = run_script(python("jpeg", pictures));
  std::vector<std::string> errors = summary["errors"];
  std::sort(errors.begin(), errors.end());
  // Not a JPEG, the truncated picture (reported when decoded), pts backwards, and the format
  // may not change once pictures flow. The session stayed open through all of them.
  EXPECT_EQ(errors, std::vector<std::string>(
                        {"invalid_jpeg", "invalid_jpeg", "invalid_pts", "invalid_session_field"}))
      << summary.dump();
  bool reported_truncated = false;
  for (const json& message : summary["error_messages"]) {
    reported_truncated =
        reported_truncated || message.get<std::string>().find("102.5") != std::string::npos;
  }
  EXPECT_TRUE(reported_truncated) << summary.dump();
  // 20 pictures from pts 100 s at 2 a second, sampled at 1 frame/s: times 0..9 s.
  EXPECT_EQ(summary["progress"]["frames_ingested"], 10) << summary.dump();
  EXPECT_DOUBLE_EQ(summary["progress"]["video_seconds"].get<double>(), 9.0);
  EXPECT_EQ(summary["progress"]["status"], "ingesting");
  // Auto-detected from FF D8 FF, timed by arrival.
  EXPECT_TRUE(summary["auto"]["errors"].empty()) << summary.dump();
  EXPECT_GE(summary["auto"]["progress"]["frames_ingested"].get<int>(), 2) << summary.dump();
  EXPECT_TRUE(eventually([] { return no_realtime_sessions(); }));
  expect_serving();
}

TEST_F(ApiServer, OversizedAndInvalidWebSocketFramesCloseOnlyThatSocket) {
  const json oversize = run_script(python("oversize"));
  EXPECT_EQ(oversize["code"], 1009);
  const json bad = run_script(python("badframe"));
  EXPECT_EQ(bad["handshake"], "HTTP/1.1 101 Switching Protocols");
  EXPECT_EQ(bad["close_code"], 1002);
  EXPECT_TRUE(eventually([] { return no_realtime_sessions(); }));
  expect_serving();
}

TEST_F(ApiServer, SlowRealtimeReaderIsDropped) {
  const double drops = metric("vigil_realtime_drops_total");
  const json slow = run_script(python("slow"));
  EXPECT_NE(slow["code"], "timeout") << slow.dump();
  EXPECT_TRUE(eventually([&] { return metric("vigil_realtime_drops_total") > drops; }));
  EXPECT_TRUE(eventually([] { return no_realtime_sessions(); }));
  expect_serving();
}

TEST_F(ApiServer, ClientLeavingMidAnswerCancelsIt) {
  const double cancelled = metric("vigil_answers_cancelled_total");
  const json result = run_script(python("disconnect-answer"));
  EXPECT_GE(result["got_deltas"].get<int>(), 3);
  EXPECT_TRUE(eventually([&] { return metric("vigil_answers_cancelled_total") > cancelled; }));
  expect_serving();
}

TEST_F(ApiServer, ClientLeavingMidUploadLeavesNothing) {
  const size_t files_before = get("/v1/files").as_json()["data"].size();
  run_script(python("disconnect-upload"));
  EXPECT_TRUE(eventually([] { return upload_files_left() == 0; }));
  EXPECT_EQ(get("/v1/files").as_json()["data"].size(), files_before);
  expect_serving();
}

// A second server: SIGTERM while an answer streams lets the answer finish, then exits 0.
TEST_F(ApiServer, SigtermLetsTheAnswerInFlightFinish) {
  testing::TempDir dir;
  const int port = testing::free_tcp_port();
  // The inner shell execs vigil (server.pid is its pid); the outer one records its exit code.
  testing::BackgroundProcess server("sh -c " + shell_quote(serve_command(dir, port)) +
                                    "; echo $? > " + shell_quote(dir.file("exit_code")));
  ASSERT_TRUE(testing::wait_for_tcp_port(port, 120000));
  testing::BackgroundProcess client(
      "curl -sS -N -H 'Authorization: Bearer " + kKey +
      "' -H 'Content-Type: application/json' --data-binary " +
      shell_quote(R"({"messages": [{"role": "user", "content": "Tell a story"}],
                     "max_tokens": 3000, "stream": true})") +
      " http://127.0.0.1:" + std::to_string(port) + "/v1/chat/completions > " +
      shell_quote(dir.file("answer.txt")));
  ASSERT_TRUE(eventually([&] { return testing::read_file(dir.file("answer.txt")).size() > 200; }));
  const std::vector<uint8_t> pid_text = testing::read_file(dir.file("server.pid"));
  const pid_t pid = std::atoi(std::string(pid_text.begin(), pid_text.end()).c_str());
  ASSERT_GT(pid, 0);
  ASSERT_EQ(::kill(pid, SIGTERM), 0);
  ASSERT_TRUE(eventually([&] { return testing::file_exists(dir.file("exit_code")); }, 60));
  const std::vector<uint8_t> code = testing::read_file(dir.file("exit_code"));
  EXPECT_EQ(std::string(code.begin(), code.end()), "0\n");
  const std::vector<uint8_t> answer = testing::read_file(dir.file("answer.txt"));
  const std::string text(answer.begin(), answer.end());
  EXPECT_NE(text.find("data: [DONE]"), std::string::npos)
      << text.substr(text.size() > 300 ? text.size() - 300 : 0);
}

// A server on the tiny LLaVA-OneVision fixture (random weights: it sees the video, encodes it
// with token drop into memory, and answers gibberish): scene-change alerts and chat time
// windows, which need a model that encodes video.
class VideoModelServer : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    port_ = testing::free_tcp_port();
    server_ = new testing::BackgroundProcess(
        std::string(VIGIL_BINARY) + " serve --model " +
        shell_quote(std::string(VIGIL_SOURCE_DIR) + "/tests/fixtures/llava_ov_tiny") + " --port " +
        std::to_string(port_) + " --data-dir " + shell_quote(dir_->file("data")) + " --api-keys " +
        kKey +
        " --max-upload-bytes 20000000 --read-timeout-seconds 20 --workers 2"
        // Answers share decoding steps as on CUDA (llm/decode_batcher.h), from memory contexts.
        " --decode-batch-rows 2 --allow-private-urls true 2>>" +
        shell_quote(dir_->file("server.log")));
    ASSERT_TRUE(testing::wait_for_tcp_port(port_, 120000)) << "vigil serve did not start";
    // The first 6 s of the sample as MP4, served over HTTP (with byte ranges) for video_url.
    std::filesystem::create_directories(dir_->file("www"));
    ASSERT_EQ(
        run_command("ffmpeg -v error -y -i " + shell_quote(testing::opencv_sample("vtest.avi")) +
                    " -t 6 -c:v mpeg4 -q:v 5 -movflags +faststart " +
                    shell_quote(dir_->file("www/clip.mp4")))
            .exit_code,
        0);
    http_port_ = testing::free_tcp_port();
    http_server_ = new testing::BackgroundProcess(
        "exec /usr/bin/python3 " + std::string(VIGIL_SOURCE_DIR) +
        "/tests/api/video_http_server.py " + shell_quote(dir_->file("www")) + " " +
        std::to_string(http_port_) + " " + shell_quote(dir_->file("http.log")));
    ASSERT_TRUE(testing::wait_for_tcp_port(http_port_, 20000)) << "the video HTTP server";
    // A hard cut at 6 s: the real video's static camera, then colour bars.
    ASSERT_EQ(
        run_command("ffmpeg -v error -y -i " + shell_quote(testing::opencv_sample("vtest.avi")) +
                    " -f lavfi -i smptebars=size=320x240:rate=10:duration=6"
                    " -filter_complex '[0:v]trim=duration=6,setpts=PTS-STARTPTS,"
                    "scale=320:240,fps=10,format=yuv420p[a];[1:v]format=yuv420p[b];"
                    "[a][b]concat=n=2:v=1[v]' -map '[v]' -c:v mpeg2video -q:v 4 -f mpegts " +
                    shell_quote(dir_->file("cut.ts")))
            .exit_code,
        0);
  }

  static void TearDownTestSuite() {
    delete http_server_;
    http_server_ = nullptr;
    delete server_;
    server_ = nullptr;
    delete dir_;
    dir_ = nullptr;
  }

  static std::string base() { return "http://127.0.0.1:" + std::to_string(port_); }
  static std::string video_base() { return "http://127.0.0.1:" + std::to_string(http_port_); }

  // Requests the video HTTP server has answered so far (lines of its log).
  static int video_downloads() {
    const std::vector<uint8_t> log = testing::read_file(dir_->file("http.log"));
    return static_cast<int>(std::count(log.begin(), log.end(), '\n'));
  }

  static double metric(const std::string& series) {
    const HttpResult result = curl(shell_quote(base() + "/metrics"));
    size_t at = 0;
    while ((at = result.body.find(series + " ", at)) != std::string::npos) {
      if (at == 0 || result.body[at - 1] == '\n')
        return std::stod(result.body.substr(at + series.size()));
      at += series.size();
    }
    return -1;
  }

  // The file sessions whose source is url.
  static std::vector<json> files_of(const std::string& url) {
    std::vector<json> found;
    const json files = json::parse(curl(shell_quote(base() + "/v1/files")).body);
    for (const json& file : files["data"]) {
      if (file["source"] == url) found.push_back(file);
    }
    return found;
  }

  static bool server_log_has(const std::string& text) {
    const std::vector<uint8_t> log = testing::read_file(dir_->file("server.log"));
    return std::string(log.begin(), log.end()).find(text) != std::string::npos;
  }

  static HttpResult curl(const std::string& args) {
    const std::string body_file = dir_->file("response.body");
    const testing::CommandResult result =
        run_command("curl -sS -o " + shell_quote(body_file) + " -w '%{http_code}' -H " +
                    shell_quote("Authorization: Bearer " + kKey) + " " + args);
    HttpResult http;
    http.status = std::atoi(result.output.c_str());
    const std::vector<uint8_t> body = testing::read_file(body_file);
    http.body.assign(body.begin(), body.end());
    return http;
  }

  static json alerts_session(const std::string& alerts) {
    const testing::CommandResult result =
        run_command("/usr/bin/python3 " + std::string(VIGIL_SOURCE_DIR) +
                    "/tests/api/realtime_client.py " + "alerts 127.0.0.1 " + std::to_string(port_) +
                    " " + kKey + " " + shell_quote(dir_->file("cut.ts")) + " " + alerts + " 11");
    EXPECT_EQ(result.exit_code, 0) << result.output;
    const size_t last_line = result.output.find_last_of('\n', result.output.size() - 2);
    return json::parse(
        last_line == std::string::npos ? result.output : result.output.substr(last_line + 1),
        nullptr, false);
  }

  // chat() with the response's X-Vigil-Video-Ids header as "video_ids".
  static json chat(const json& video_url, const std::string& curl_options = "") {
    const json request = {{"messages",
                           {{{"role", "user"},
                             {"content",
                              {{{"type", "video_url"}, {"video_url", video_url}},
                               {{"type", "text"}, {"text", "What changed?"}}}}}}},
                          {"max_tokens", 4},
                          {"temperature", 0}};
    std::ofstream(dir_->file("chat.json")) << request.dump();
    std::filesystem::remove(dir_->file("chat.headers"));
    const HttpResult result = curl(curl_options + " -D " + shell_quote(dir_->file("chat.headers")) +
                                   " -H 'Content-Type: application/json' --data-binary @" +
                                   shell_quote(dir_->file("chat.json")) + " " +
                                   shell_quote(base() + "/v1/chat/completions"));
    json body = json::parse(result.body, nullptr, false);
    if (body.is_discarded()) body = json::object();
    body["http_status"] = result.status;
    std::ifstream headers(dir_->file("chat.headers"));
    const std::string name = "x-vigil-video-ids:";
    for (std::string line; std::getline(headers, line);) {
      std::string lowered = line;
      for (char& c : lowered) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (lowered.rfind(name, 0) != 0) continue;
      std::string value = line.substr(name.size());
      while (!value.empty() && (value.front() == ' ')) value.erase(0, 1);
      while (!value.empty() && (value.back() == '\r' || value.back() == ' ')) value.pop_back();
      body["video_ids"] = value;
    }
    return body;
  }

  static testing::TempDir* dir_;
  static testing::BackgroundProcess* server_;
  static testing::BackgroundProcess* http_server_;
  static int port_;
  static int http_port_;
};

testing::TempDir* VideoModelServer::dir_ = nullptr;
testing::BackgroundProcess* VideoModelServer::server_ = nullptr;
testing::BackgroundProcess* VideoModelServer::http_server_ = nullptr;
int VideoModelServer::port_ = 0;
int VideoModelServer::http_port_ = 0;

TEST_F(VideoModelServer, SceneChangeAlertsComeAtTheCutOnlyWhenAskedFor) {
  const json on = alerts_session("on");
  ASSERT_TRUE(on.is_object());
  EXPECT_TRUE(on["errors"].empty()) << on.dump();
  EXPECT_GE(on["progress"]["frames_ingested"].get<int>(), 11) << on.dump();
  ASSERT_GE(on["alerts"].size(), 1u) << on.dump();
  bool at_the_cut = false;
  for (const json& alert : on["alerts"]) {
    EXPECT_EQ(alert["reason"], "scene_change");
    EXPECT_GT(alert["kept_ratio"].get<double>(), 0.3);
    EXPECT_GT(alert["frame_index"].get<int>(), 0);  // never the first frame
    EXPECT_EQ(alert["threshold"], 0.3);
    const double pts = alert["pts"];
    at_the_cut = at_the_cut || (pts >= 5.5 && pts <= 7.0);
    // The static camera before and the bars after keep little: alerts only near the cut.
    EXPECT_NEAR(pts, 6.0, 1.0) << on.dump();
  }
  EXPECT_TRUE(at_the_cut) << on.dump();

  for (const char* off : {"off", "default"}) {
    const json quiet = alerts_session(off);
    ASSERT_TRUE(quiet.is_object());
    EXPECT_GE(quiet["progress"]["frames_ingested"].get<int>(), 11) << quiet.dump();
    EXPECT_TRUE(quiet["alerts"].empty()) << off << ": " << quiet.dump();
  }
}

TEST_F(VideoModelServer, ChatTimeWindowsSeeOnlyTheirFrames) {
  const double dropped_before = metric("vigil_tokens_dropped_total");
  const HttpResult created =
      curl("-H 'Content-Type: video/mp2t' --data-binary @" + shell_quote(dir_->file("cut.ts")) +
           " " + shell_quote(base() + "/v1/files"));
  ASSERT_EQ(created.status, 202) << created.body;
  const std::string id = json::parse(created.body)["id"];
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(180);
  json info;
  while (std::chrono::steady_clock::now() < deadline) {
    info = json::parse(curl(shell_quote(base() + "/v1/files/" + id)).body);
    if (info.value("status", "") != "ingesting") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  ASSERT_EQ(info["status"], "ready") << info.dump();
  ASSERT_GE(info["frames_ingested"].get<int>(), 11) << info.dump();
  // Every token of every frame is kept or counted as dropped, once. The fixture's frames have
  // 3 x 3 tokens: 70-pixel images of 14-pixel patches, pooled to ceil(5 / 2) per side.
  EXPECT_EQ(metric("vigil_tokens_dropped_total") - dropped_before,
            info["frames_ingested"].get<int>() * 9 - info["tokens_kept"].get<int>())
      << info.dump();

  const json whole = chat({{"url", "vigil://files/" + id}});
  ASSERT_EQ(whole["http_status"], 200) << whole.dump();
  const json window =
      chat({{"url", "vigil://files/" + id}, {"start_seconds", 2.0}, {"end_seconds", 4.5}});
  ASSERT_EQ(window["http_status"], 200) << window.dump();
  EXPECT_EQ(window["object"], "chat.completion");
  EXPECT_GT(window["usage"]["completion_tokens"].get<int>(), 0);
  // The window's frames (2 to 4 s: token drop left the static camera's frames without a
  // block, so the first frame's block stands for them) are fewer than the whole video's.
  const int window_video_tokens = window["usage"]["prompt_tokens_details"]["video_tokens"];
  EXPECT_GT(window_video_tokens, 0) << window.dump();
  EXPECT_LT(window_video_tokens, whole["usage"]["prompt_tokens_details"]["video_tokens"].get<int>())
      << window.dump() << whole.dump();
  EXPECT_LT(window["usage"]["prompt_tokens"].get<int>(), whole["usage"]["prompt_tokens"].get<int>())
      << window.dump() << whole.dump();
  const json open_ended = chat({{"url", id}, {"start_seconds", 7.0}});
  EXPECT_EQ(open_ended["http_status"], 200) << open_ended.dump();

  // A window after the video's end holds no frames: a clear 400.
  const json empty = chat({{"url", id}, {"start_seconds", 500.0}, {"end_seconds", 600.0}});
  EXPECT_EQ(empty["http_status"], 400) << empty.dump();
  EXPECT_EQ(empty["error"]["code"], "invalid_request") << empty.dump();
  EXPECT_NE(empty["error"]["message"].get<std::string>().find("holds no frames"), std::string::npos)
      << empty.dump();
  const json backwards = chat({{"url", id}, {"start_seconds", 5.0}, {"end_seconds", 1.0}});
  EXPECT_EQ(backwards["http_status"], 400) << backwards.dump();
  EXPECT_EQ(curl("-X DELETE " + shell_quote(base() + "/v1/files/" + id)).status, 200);
}

// A video_url naming an external URL is ingested on demand (the request waits), and a
// second request naming the same URL reuses the session instead of downloading again.
TEST_F(VideoModelServer, ChatVideoUrlIsIngestedOnceThenReused) {
  const std::string url = video_base() + "/clip.mp4";
  const double ingests = metric("vigil_video_url_ingests_total");
  const double reuses = metric("vigil_video_url_reuses_total");
  ASSERT_TRUE(files_of(url).empty());

  const json first = chat({{"url", url}});
  ASSERT_EQ(first["http_status"], 200) << first.dump();
  EXPECT_EQ(first["object"], "chat.completion");
  EXPECT_GT(first["usage"]["prompt_tokens_details"]["video_tokens"].get<int>(), 0) << first.dump();
  EXPECT_GT(first["usage"]["completion_tokens"].get<int>(), 0);
  ASSERT_TRUE(first.contains("video_ids")) << first.dump();
  const std::string id = first["video_ids"];
  EXPECT_EQ(id.rfind("file-", 0), 0u) << id;
  // Listed like any file, ready, with the URL as its source.
  const std::vector<json> listed = files_of(url);
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0]["id"], id);
  EXPECT_EQ(listed[0]["status"], "ready") << listed[0].dump();
  EXPECT_GE(listed[0]["frames_ingested"].get<int>(), 5) << listed[0].dump();
  const int downloads = video_downloads();
  EXPECT_GT(downloads, 0);
  EXPECT_EQ(metric("vigil_video_url_ingests_total"), ingests + 1);

  // The same URL again: the same session, nothing downloaded, the same greedy answer.
  const json second = chat({{"url", url}});
  ASSERT_EQ(second["http_status"], 200) << second.dump();
  EXPECT_EQ(second["video_ids"], id);
  EXPECT_EQ(second["choices"][0]["message"]["content"], first["choices"][0]["message"]["content"]);
  EXPECT_EQ(second["usage"]["prompt_tokens_details"]["video_tokens"],
            first["usage"]["prompt_tokens_details"]["video_tokens"]);
  EXPECT_EQ(video_downloads(), downloads);
  EXPECT_EQ(files_of(url).size(), 1u);
  EXPECT_EQ(metric("vigil_video_url_ingests_total"), ingests + 1);
  EXPECT_EQ(metric("vigil_video_url_reuses_total"), reuses + 1);
  // Streamed (SSE): the header comes with the event stream.
  const json streamed_request = {{"messages",
                                  {{{"role", "user"},
                                    {"content",
                                     {{{"type", "video_url"}, {"video_url", {{"url", url}}}},
                                      {{"type", "text"}, {"text", "What changed?"}}}}}}},
                                 {"max_tokens", 4},
                                 {"stream", true}};
  std::ofstream(dir_->file("streamed.json")) << streamed_request.dump();
  const HttpResult streamed = curl("-N -D " + shell_quote(dir_->file("streamed.headers")) +
                                   " -H 'Content-Type: application/json' --data-binary @" +
                                   shell_quote(dir_->file("streamed.json")) + " " +
                                   shell_quote(base() + "/v1/chat/completions"));
  EXPECT_EQ(streamed.status, 200) << streamed.body;
  EXPECT_NE(streamed.body.find("data: [DONE]"), std::string::npos) << streamed.body;
  const std::vector<uint8_t> streamed_headers = testing::read_file(dir_->file("streamed.headers"));
  EXPECT_NE(std::string(streamed_headers.begin(), streamed_headers.end())
                .find("X-Vigil-Video-Ids: " + id + "\r\n"),
            std::string::npos);
  EXPECT_EQ(video_downloads(), downloads);
  EXPECT_EQ(metric("vigil_video_url_reuses_total"), reuses + 2);
  // A time window applies to the ingested URL as to a file id.
  const json window = chat({{"url", url}, {"start_seconds", 500.0}, {"end_seconds", 600.0}});
  EXPECT_EQ(window["http_status"], 400) << window.dump();
  EXPECT_EQ(video_downloads(), downloads);

  // Deleting the file ends the cache entry: the next request downloads again.
  EXPECT_EQ(curl("-X DELETE " + shell_quote(base() + "/v1/files/" + id)).status, 200);
  const json third = chat({{"url", url}});
  ASSERT_EQ(third["http_status"], 200) << third.dump();
  EXPECT_NE(third["video_ids"], id);
  EXPECT_GT(video_downloads(), downloads);
  EXPECT_EQ(metric("vigil_video_url_ingests_total"), ingests + 2);
  const std::string third_id = third["video_ids"];
  EXPECT_EQ(curl("-X DELETE " + shell_quote(base() + "/v1/files/" + third_id)).status, 200);
  EXPECT_TRUE(files_of(url).empty());
}

// URLs that cannot be ingested: a clear 400 naming the URL and the decoder's reason, and no
// session left behind.
TEST_F(VideoModelServer, ChatVideoUrlThatCannotBeIngestedIsAClearErrorAndLeavesNothing) {
  const int closed_port = testing::free_tcp_port();
  for (const std::string& url : {"http://127.0.0.1:" + std::to_string(closed_port) + "/video.mp4",
                                 video_base() + "/missing.mp4"}) {
    const json answer = chat({{"url", url}});
    EXPECT_EQ(answer["http_status"], 400) << answer.dump();
    EXPECT_EQ(answer["error"]["code"], "invalid_video_url") << answer.dump();
    const std::string message = answer["error"]["message"];
    EXPECT_NE(message.find(url), std::string::npos) << message;
    EXPECT_TRUE(files_of(url).empty()) << url;
  }
  EXPECT_TRUE(server_log_has("\"reason\":\"ingestion_failed\""));
  EXPECT_EQ(chat({{"url", "ftp://example.com/video.mp4"}})["error"]["code"], "invalid_url");
  EXPECT_EQ(metric("vigil_sessions_active"), 0);
}

// A client that leaves while its URL is being ingested: the ingestion nobody else waits for
// is stopped and its session removed.
TEST_F(VideoModelServer, ClientLeavingWhileItsVideoUrlIngestsLeavesNothing) {
  // Accepts connections and never answers: the ingestion waits on it (up to the decoder's
  // 5 s timeout), longer than the client.
  const int port = testing::free_tcp_port();
  testing::BackgroundProcess silent = silent_tcp_server(port);
  ASSERT_TRUE(testing::wait_for_tcp_port(port, 20000));
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/stalled.mp4";
  const json answer = chat({{"url", url}}, "--max-time 1");
  EXPECT_EQ(answer["http_status"], 0) << answer.dump();  // curl gave up
  EXPECT_TRUE(eventually([&] { return server_log_has("\"reason\":\"client_gone\""); }))
      << "no video_url.removed for the client that left";
  EXPECT_TRUE(files_of(url).empty());
  EXPECT_TRUE(eventually([&] { return metric("vigil_sessions_active") == 0; }));
}

// A URL whose ingestion outlasts video_url_timeout_seconds: 504 naming the URL, and the
// ingestion that no one waits for any more is stopped and removed.
TEST_F(VideoModelServer, ChatVideoUrlTimeoutIsA504AndLeavesNothing) {
  const int silent_port = testing::free_tcp_port();
  testing::BackgroundProcess silent = silent_tcp_server(silent_port);
  ASSERT_TRUE(testing::wait_for_tcp_port(silent_port, 20000));
  // A server of its own, waiting 1 s at most (less than the decoder's 5 s read timeout).
  const int port = testing::free_tcp_port();
  testing::BackgroundProcess impatient(
      std::string(VIGIL_BINARY) + " serve --model " +
      shell_quote(std::string(VIGIL_SOURCE_DIR) + "/tests/fixtures/llava_ov_tiny") + " --port " +
      std::to_string(port) + " --data-dir " + shell_quote(dir_->file("impatient")) +
      " --api-keys " + kKey + " --allow-private-urls true --video-url-timeout-seconds 1 2>>" +
      shell_quote(dir_->file("impatient.log")));
  ASSERT_TRUE(testing::wait_for_tcp_port(port, 120000));
  const std::string impatient_base = "http://127.0.0.1:" + std::to_string(port);
  const std::string url = "http://127.0.0.1:" + std::to_string(silent_port) + "/slow.mp4";
  const json request = {{"messages",
                         {{{"role", "user"},
                           {"content",
                            {{{"type", "video_url"}, {"video_url", {{"url", url}}}},
                             {{"type", "text"}, {"text", "What happens?"}}}}}}},
                        {"max_tokens", 4}};
  std::ofstream(dir_->file("impatient.json")) << request.dump();
  const HttpResult result = curl("-H 'Content-Type: application/json' --data-binary @" +
                                 shell_quote(dir_->file("impatient.json")) + " " +
                                 shell_quote(impatient_base + "/v1/chat/completions"));
  EXPECT_EQ(result.status, 504) << result.body;
  const json body = json::parse(result.body, nullptr, false);
  ASSERT_TRUE(body.is_object()) << result.body;
  EXPECT_EQ(body["error"]["code"], "video_url_timeout") << result.body;
  const std::string message = body["error"]["message"];
  EXPECT_NE(message.find(url), std::string::npos) << message;
  EXPECT_NE(message.find("(1 s)"), std::string::npos) << message;
  EXPECT_TRUE(eventually([&] {
    const json files = json::parse(curl(shell_quote(impatient_base + "/v1/files")).body);
    return files["data"].empty();
  })) << "the abandoned ingestion was not removed";
  const std::vector<uint8_t> log = testing::read_file(dir_->file("impatient.log"));
  EXPECT_NE(std::string(log.begin(), log.end()).find("\"reason\":\"timed_out\""),
            std::string::npos);
}

}  // namespace
}  // namespace vigil

// End to end: the web page that `vigil serve` embeds (GET /), driven in headless Chromium
// (Debian's chromium) by Playwright (npm playwright-core, tests/api/web_page.cjs) against the
// real binary on the tiny LLaVA-OneVision fixture: upload and ingestion progress, a streamed
// answer about an archived video, a live MPEG-TS pushed over the page's WebSocket with its
// committed progress, questions while it ingests, a cancelled answer, and clear errors for a
// missing or wrong API key. curl checks the page's routes and headers.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <vector>

#include "tests/support/test_support.h"

namespace vigil {
namespace {

using nlohmann::json;
using testing::run_command;
using testing::shell_quote;

const std::string kKey = "web-key";
const std::string kModel = "llava_ov_tiny";
const std::string kChromium = "/usr/bin/chromium";

struct HttpResult {
  int status = 0;
  std::string headers;
  std::string body;
};

class WebPage : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    port_ = testing::free_tcp_port();
    server_ = new testing::BackgroundProcess(
        std::string(VIGIL_BINARY) + " serve --model " +
        shell_quote(std::string(VIGIL_SOURCE_DIR) + "/tests/fixtures/" + kModel) + " --port " +
        std::to_string(port_) + " --data-dir " + shell_quote(dir_->file("data")) + " --api-keys " +
        kKey + " --max-upload-bytes 20000000 --read-timeout-seconds 10 --workers 2 2>>" +
        shell_quote(dir_->file("server.log")));
    ASSERT_TRUE(testing::wait_for_tcp_port(port_, 120000)) << "vigil serve did not start";
    // The first 30 s of the sample as MPEG-TS: what the page pushes live.
    ASSERT_EQ(
        run_command("ffmpeg -v error -y -i " + shell_quote(testing::opencv_sample("vtest.avi")) +
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

  void SetUp() override {
    if (!testing::file_exists(kChromium)) GTEST_SKIP() << "no " << kChromium << " (apt chromium)";
    if (!testing::file_exists(std::string(VIGIL_SOURCE_DIR) +
                              "/tools/js/node_modules/playwright-core/package.json")) {
      GTEST_SKIP() << "no playwright-core (cd tools/js && npm install --ignore-scripts)";
    }
  }

  static std::string base() { return "http://127.0.0.1:" + std::to_string(port_); }

  // curl without a key: the page is public. args are curl arguments.
  static HttpResult curl(const std::string& args) {
    const std::string body_file = dir_->file("response.body");
    const std::string header_file = dir_->file("response.headers");
    const testing::CommandResult result =
        run_command("curl -sS -o " + shell_quote(body_file) + " -D " + shell_quote(header_file) +
                    " -w '%{http_code}' " + args);
    HttpResult http;
    http.status = std::atoi(result.output.c_str());
    const std::vector<uint8_t> headers = testing::read_file(header_file);
    http.headers.assign(headers.begin(), headers.end());
    const std::vector<uint8_t> body = testing::read_file(body_file);
    http.body.assign(body.begin(), body.end());
    return http;
  }

  static bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
  }

  static testing::TempDir* dir_;
  static testing::BackgroundProcess* server_;
  static int port_;
};

testing::TempDir* WebPage::dir_ = nullptr;
testing::BackgroundProcess* WebPage::server_ = nullptr;
int WebPage::port_ = 0;

TEST_F(WebPage, IsServedPubliclyFromTheBinary) {
  const HttpResult page = curl(shell_quote(base() + "/"));
  EXPECT_EQ(page.status, 200);
  EXPECT_TRUE(contains(page.headers, "Content-Type: text/html; charset=utf-8")) << page.headers;
  EXPECT_TRUE(contains(page.headers, "Content-Security-Policy: default-src 'none'"));
  EXPECT_TRUE(contains(page.body, "<script src=\"/web/app.js\"")) << page.body.substr(0, 400);
  // Byte for byte the file in the tree: embedded at build time, no files read at runtime.
  const std::vector<uint8_t> source =
      testing::read_file(std::string(VIGIL_SOURCE_DIR) + "/api/web/index.html");
  EXPECT_EQ(page.body, std::string(source.begin(), source.end()));

  const HttpResult script = curl(shell_quote(base() + "/web/app.js"));
  EXPECT_EQ(script.status, 200);
  EXPECT_TRUE(contains(script.headers, "Content-Type: text/javascript")) << script.headers;
  const HttpResult style = curl(shell_quote(base() + "/web/style.css"));
  EXPECT_EQ(style.status, 200);
  EXPECT_TRUE(contains(style.headers, "Content-Type: text/css")) << style.headers;

  const HttpResult missing = curl(shell_quote(base() + "/web/nothing.js"));
  EXPECT_EQ(missing.status, 404);
  EXPECT_TRUE(contains(missing.body, "\"code\":\"not_found\"")) << missing.body;
  EXPECT_EQ(curl("-X POST " + shell_quote(base() + "/")).status, 405);
  // The page is public; the API behind it is not.
  EXPECT_EQ(curl(shell_quote(base() + "/v1/files")).status, 401);
}

TEST_F(WebPage, ChromiumUploadsAsksAndPushesLive) {
  const testing::CommandResult run =
      run_command("node " + std::string(VIGIL_SOURCE_DIR) + "/tests/api/web_page.cjs " + base() +
                  " " + kKey + " " + shell_quote(testing::opencv_sample("vtest.avi")) + " " +
                  shell_quote(dir_->file("live.ts")));
  const size_t last_line = run.output.find_last_of('\n', run.output.size() - 2);
  const json summary =
      json::parse(last_line == std::string::npos ? run.output : run.output.substr(last_line + 1),
                  nullptr, false);
  ASSERT_FALSE(summary.is_discarded()) << run.output;
  ASSERT_EQ(run.exit_code, 0) << summary.dump(2);
  EXPECT_TRUE(summary["console_errors"].empty()) << summary["console_errors"].dump(2);

  // The page, and what it shows before and after the key.
  const json& page = summary["page"];
  EXPECT_EQ(page["status"], 200);
  EXPECT_EQ(page["title"], "vigil");
  EXPECT_TRUE(contains(page["error_without_key"], "401 missing_api_key")) << page.dump(2);
  EXPECT_TRUE(contains(page["model_info"], "Model: " + kModel)) << page.dump(2);
  // The fixture is a LLaVA-OneVision checkpoint: vigil serves it with the video engine.
  EXPECT_TRUE(contains(page["model_info"], "(sees video)")) << page.dump(2);
  EXPECT_TRUE(contains(page["error_wrong_key"], "401 invalid_api_key")) << page.dump(2);

  // Archived: uploaded, ingested with visible progress, listed, asked.
  const json& archive = summary["archive"];
  EXPECT_EQ(archive["upload_error"], "") << archive.dump(2);
  const std::string id = archive["id"];
  EXPECT_EQ(id.rfind("file-", 0), 0u) << archive.dump(2);
  EXPECT_TRUE(contains(archive["selected_after"], id + " (vtest.avi): ready,")) << archive.dump(2);
  // The selected file's progress showed right after the upload, and its bar reached 1.
  EXPECT_TRUE(contains(archive["selected_during"], id + " (vtest.avi): ")) << archive.dump(2);
  EXPECT_TRUE(contains(archive["selected_during"], ": ingesting, frames ")) << archive.dump(2);
  const json& samples = archive["ingest_samples"];
  ASSERT_GE(samples.size(), 2u) << samples.dump();
  EXPECT_EQ(samples.back(), 1.0) << samples.dump();
  bool listed = false;
  for (const json& option : archive["options"]) listed = listed || contains(option, id);
  EXPECT_TRUE(listed) << archive["options"].dump(2);

  // An answer shows as it streams: one DOM update per delta, each longer than the last. (The
  // random tiny model samples: about one answer in a hundred samples end-of-text first and is
  // rightly empty, which the page's usage line shows as 0 answer tokens; all four together give
  // many deltas.)
  size_t updates = 0;
  const auto expect_streamed = [&updates](const json& answer) {
    EXPECT_EQ(answer["error"], "") << answer.dump(2);
    const bool ended_at_once =
        contains(answer["meta"], " + 0 answer tokens") &&
        (contains(answer["meta"], "finish: stop") || contains(answer["meta"], "status: completed"));
    if (ended_at_once) {
      EXPECT_EQ(answer["text"], "") << answer.dump(2);
      EXPECT_EQ(answer["length"], 0) << answer.dump(2);
      return;
    }
    EXPECT_FALSE(answer["text"].get<std::string>().empty()) << answer.dump(2);
    std::vector<int> lengths;
    for (const json& length : answer["growth"]) {
      if (length.get<int>() > 0) lengths.push_back(length.get<int>());  // 0: cleared
    }
    EXPECT_GE(lengths.size(), 1u) << answer.dump(2);
    updates += lengths.size();
    for (size_t i = 1; i < lengths.size(); ++i) EXPECT_GT(lengths[i], lengths[i - 1]);
    if (!lengths.empty()) {
      EXPECT_EQ(lengths.back(), answer["length"].get<int>());  // UTF-16 units, as in the page
    }
  };
  // About the video (a random tiny model: gibberish, but streamed text), and without it.
  const json& video_answer = archive["video_answer"];
  expect_streamed(video_answer);
  EXPECT_TRUE(contains(video_answer["meta"], "finish: ")) << video_answer.dump(2);
  expect_streamed(archive["text_answer"]);
  EXPECT_TRUE(contains(archive["text_answer"]["meta"], "answer tokens"));

  // Live: the page's WebSocket pushed the whole MPEG-TS; committed progress showed.
  const json& live = summary["live"];
  EXPECT_EQ(live["session"].get<std::string>().rfind("rt-", 0), 0u) << live.dump(2);
  const std::string committed_bytes = live["committed"]["bytes"];
  EXPECT_TRUE(contains(live["push_status"], "All " + committed_bytes + " pushed")) << live.dump(2);
  EXPECT_GE(live["push_samples"].size(), 10u) << live["push_samples"].dump();  // steady chunks
  EXPECT_EQ(live["push_samples"].back(), 1.0);
  EXPECT_GE(live["committed"]["frames"].get<int>(), 10) << live.dump(2);
  EXPECT_GT(live["committed"]["seconds"].get<double>(), 5.0) << live.dump(2);
  const json& live_video = live["video_answer"];
  EXPECT_GE(live_video["frames_at_ask"].get<int>(), 3);
  expect_streamed(live_video);
  EXPECT_TRUE(contains(live_video["meta"], "status: ")) << live_video.dump(2);
  // Answered while the push went on.
  EXPECT_TRUE(contains(live_video["push_status_when_answered"], "Pushed ")) << live_video.dump(2);
  const json& live_text = live["text_answer"];
  expect_streamed(live_text);
  EXPECT_TRUE(contains(live_text["meta"], "answer tokens")) << live_text.dump(2);
  EXPECT_GE(updates, 8u);
  EXPECT_TRUE(contains(live_text["push_status_when_answered"], "Pushed ")) << live_text.dump(2);
  // Cancel: sent right after the question; an answer that finished first shows the server's
  // refusal of the late cancel, and the page tried again.
  for (const json& attempt : live["cancel_attempts"]) {
    if (contains(attempt["meta"], "status: cancelled")) continue;
    EXPECT_TRUE(contains(attempt["error"], "no_active_response: no response is in progress"))
        << attempt.dump(2);
  }
  EXPECT_TRUE(contains(live["cancelled"]["meta"], "status: cancelled")) << live.dump(2);
  EXPECT_EQ(live["cancelled"]["error"], "") << live.dump(2);
  EXPECT_TRUE(contains(live["after_stop"], "Disconnected (code 1000")) << live.dump(2);
  EXPECT_TRUE(contains(live["error_wrong_key"], "The WebSocket was refused: 401 invalid_api_key"))
      << live.dump(2);

  // The page's session ended with its socket.
  bool no_streams = false;
  for (int i = 0; i < 100 && !no_streams; ++i) {
    const testing::CommandResult streams =
        run_command("curl -sS -H 'Authorization: Bearer " + kKey + "' " + base() + "/v1/streams");
    no_streams = contains(streams.output, "\"data\":[]");
    if (!no_streams) run_command("sleep 0.1");
  }
  EXPECT_TRUE(no_streams);
}

}  // namespace
}  // namespace vigil

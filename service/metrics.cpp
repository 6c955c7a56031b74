#include "service/metrics.h"

#include <cassert>
#include <cmath>
#include <sstream>

namespace vigil::service {
namespace {

void atomic_add(std::atomic<double>& target, double amount) {
  double current = target.load();
  while (!target.compare_exchange_weak(current, current + amount)) {
  }
}

std::string escape_label(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::string render_labels(const MetricLabels& labels) {
  if (labels.empty()) return "";
  std::string out = "{";
  for (const auto& [key, value] : labels) {
    if (out.size() > 1) out += ",";
    out += key + "=\"" + escape_label(value) + "\"";
  }
  return out + "}";
}

// Labels text with one more label added ("{a="1",le="0.5"}").
std::string with_label(const std::string& labels, const std::string& key,
                       const std::string& value) {
  const std::string extra = key + "=\"" + value + "\"";
  if (labels.empty()) return "{" + extra + "}";
  return labels.substr(0, labels.size() - 1) + "," + extra + "}";
}

std::string number(double value) {
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  std::ostringstream out;
  out.precision(17);
  out << value;
  return out.str();
}

}  // namespace

void Counter::add(double amount) {
  assert(amount >= 0 && "a counter only goes up");
  atomic_add(value_, amount);
}

void Gauge::add(double amount) {
  atomic_add(value_, amount);
}

Histogram::Histogram(std::vector<double> upper_bounds)
    : upper_bounds_(std::move(upper_bounds)),
      buckets_(new std::atomic<uint64_t>[upper_bounds_.size() + 1]) {
  for (size_t i = 0; i <= upper_bounds_.size(); ++i) buckets_[i].store(0);
}

void Histogram::observe(double value) {
  size_t bucket = 0;
  while (bucket < upper_bounds_.size() && value > upper_bounds_[bucket]) ++bucket;
  buckets_[bucket].fetch_add(1);
  count_.fetch_add(1);
  atomic_add(sum_, value);
}

std::vector<uint64_t> Histogram::bucket_counts() const {
  std::vector<uint64_t> counts(upper_bounds_.size() + 1);
  for (size_t i = 0; i < counts.size(); ++i) counts[i] = buckets_[i].load();
  return counts;
}

MetricsRegistry::Family& MetricsRegistry::family(const std::string& name, Type type,
                                                 const std::string& help) {
  auto [it, inserted] = families_.try_emplace(name, Family{type, help, {}});
  assert(it->second.type == type && "metric registered twice with different types");
  (void)inserted;
  return it->second;
}

Counter& MetricsRegistry::counter(const std::string& name, const std::string& help,
                                  const MetricLabels& labels) {
  std::lock_guard<std::mutex> lock(mutex_);
  Series& series = family(name, Type::kCounter, help).series[render_labels(labels)];
  if (!series.counter) series.counter = std::make_unique<Counter>();
  return *series.counter;
}

Gauge& MetricsRegistry::gauge(const std::string& name, const std::string& help,
                              const MetricLabels& labels) {
  std::lock_guard<std::mutex> lock(mutex_);
  Series& series = family(name, Type::kGauge, help).series[render_labels(labels)];
  if (!series.gauge) series.gauge = std::make_unique<Gauge>();
  return *series.gauge;
}

Histogram& MetricsRegistry::histogram(const std::string& name, const std::string& help,
                                      std::vector<double> upper_bounds,
                                      const MetricLabels& labels) {
  std::lock_guard<std::mutex> lock(mutex_);
  Series& series = family(name, Type::kHistogram, help).series[render_labels(labels)];
  if (!series.histogram) series.histogram = std::make_unique<Histogram>(std::move(upper_bounds));
  return *series.histogram;
}

std::vector<double> MetricsRegistry::latency_buckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
}

std::string MetricsRegistry::render() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::string out;
  for (const auto& [name, family] : families_) {
    const char* type = family.type == Type::kCounter ? "counter"
                       : family.type == Type::kGauge ? "gauge"
                                                     : "histogram";
    out += "# HELP " + name + " " + family.help + "\n# TYPE " + name + " " + type + "\n";
    for (const auto& [labels, series] : family.series) {
      if (series.counter) out += name + labels + " " + number(series.counter->value()) + "\n";
      if (series.gauge) out += name + labels + " " + number(series.gauge->value()) + "\n";
      if (series.histogram) {
        const Histogram& h = *series.histogram;
        const std::vector<uint64_t> counts = h.bucket_counts();
        uint64_t cumulative = 0;
        for (size_t i = 0; i < counts.size(); ++i) {
          cumulative += counts[i];
          const std::string bound =
              i < h.upper_bounds().size() ? number(h.upper_bounds()[i]) : "+Inf";
          out += name + "_bucket" + with_label(labels, "le", bound) + " " +
                 std::to_string(cumulative) + "\n";
        }
        out += name + "_sum" + labels + " " + number(h.sum()) + "\n";
        out += name + "_count" + labels + " " + std::to_string(cumulative) + "\n";
      }
    }
  }
  return out;
}

ServiceMetrics::ServiceMetrics(MetricsRegistry& r)
    : registry(r),
      http_requests(r.counter("vigil_http_requests_total", "HTTP requests answered")),
      http_errors(r.counter("vigil_http_errors_total", "HTTP requests answered with >= 400")),
      websocket_messages_in(
          r.counter("vigil_realtime_messages_total", "Realtime client messages received")),
      websocket_drops(r.counter("vigil_realtime_drops_total",
                                "Realtime clients dropped (slow reader, bad frames, limits)")),
      ingest_frames(r.counter("vigil_ingest_frames_total", "Frames decoded for ingestion")),
      ingest_bytes_pushed(
          r.counter("vigil_ingest_pushed_bytes_total", "Video bytes pushed by realtime clients")),
      tokens_dropped(r.counter("vigil_tokens_dropped_total", "Video tokens dropped by token drop")),
      prompt_tokens(r.counter("vigil_prompt_tokens_total", "Prompt tokens of answers")),
      completion_tokens(r.counter("vigil_completion_tokens_total", "Tokens generated")),
      answers_cancelled(r.counter("vigil_answers_cancelled_total", "Answers cancelled")),
      errors(r.counter("vigil_engine_errors_total", "Engine errors (ingestion or answering)")),
      alerts(r.counter("vigil_realtime_alerts_total",
                       "alert.triggered events sent to realtime clients (scene changes)")),
      video_url_ingests(r.counter("vigil_video_url_ingests_total",
                                  "Chat video_url URLs ingested on demand (sessions started)")),
      video_url_reuses(
          r.counter("vigil_video_url_reuses_total",
                    "Chat video_url URLs answered from a session already holding them")),
      ingest_frames_per_second(
          r.gauge("vigil_ingest_frames_per_second", "Frames ingested per second, all sessions")),
      question_queue_depth(
          r.gauge("vigil_queue_depth", "Work waiting for a worker", {{"queue", "question"}})),
      ingest_queue_depth(
          r.gauge("vigil_queue_depth", "Work waiting for a worker", {{"queue", "ingest"}})),
      sessions_active(r.gauge("vigil_sessions_active", "Sessions not closed")),
      streams_active(r.gauge("vigil_streams_active", "Live streams and realtime sessions open")),
      connections_open(r.gauge("vigil_connections_open", "Open HTTP and WebSocket connections")),
      memory_bytes_gpu(
          r.gauge("vigil_memory_bytes", "Video memory bytes per tier", {{"tier", "gpu"}})),
      memory_bytes_host(
          r.gauge("vigil_memory_bytes", "Video memory bytes per tier", {{"tier", "host"}})),
      memory_bytes_disk(
          r.gauge("vigil_memory_bytes", "Video memory bytes per tier", {{"tier", "disk"}})),
      time_to_first_token(r.histogram("vigil_time_to_first_token_seconds",
                                      "Time from accepting a question to its first token",
                                      MetricsRegistry::latency_buckets())),
      time_per_output_token(r.histogram("vigil_time_per_output_token_seconds",
                                        "Time per generated token after the first",
                                        MetricsRegistry::latency_buckets())),
      request_duration(r.histogram("vigil_http_request_duration_seconds",
                                   "HTTP request handling time (to the last byte queued)",
                                   MetricsRegistry::latency_buckets())) {}

}  // namespace vigil::service

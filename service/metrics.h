// Prometheus metrics: counters, gauges and histograms, registered once by name and labels, with
// the text exposition format (version 0.0.4) that GET /metrics serves. Every name is prefixed
// "vigil_".
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace vigil::service {

using MetricLabels = std::map<std::string, std::string>;

// Thread-safe, lock-free updates.
class Counter {
 public:
  void add(double amount = 1);
  double value() const { return value_.load(); }

 private:
  std::atomic<double> value_{0};
};

class Gauge {
 public:
  void set(double value) { value_.store(value); }
  void add(double amount);
  double value() const { return value_.load(); }

 private:
  std::atomic<double> value_{0};
};

// Cumulative buckets with upper bounds in ascending order (+Inf is implicit).
class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  void observe(double value);
  const std::vector<double>& upper_bounds() const { return upper_bounds_; }
  std::vector<uint64_t> bucket_counts() const;  // per bucket (not cumulative), +Inf last
  uint64_t count() const { return count_.load(); }
  double sum() const { return sum_.load(); }

 private:
  const std::vector<double> upper_bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;
  std::atomic<uint64_t> count_{0};
  std::atomic<double> sum_{0};
};

// Owns every metric; the references it hands out stay valid for its lifetime. Registering
// the same name and labels twice returns the same metric; the same name with another type is
// a bug (asserted).
class MetricsRegistry {
 public:
  Counter& counter(const std::string& name, const std::string& help,
                   const MetricLabels& labels = {});
  Gauge& gauge(const std::string& name, const std::string& help, const MetricLabels& labels = {});
  Histogram& histogram(const std::string& name, const std::string& help,
                       std::vector<double> upper_bounds, const MetricLabels& labels = {});

  // Latency buckets in seconds, 1 ms .. 60 s.
  static std::vector<double> latency_buckets();

  // The text exposition of every metric, families sorted by name.
  std::string render() const;

 private:
  enum class Type { kCounter, kGauge, kHistogram };
  struct Series {
    std::unique_ptr<Counter> counter;
    std::unique_ptr<Gauge> gauge;
    std::unique_ptr<Histogram> histogram;
  };
  struct Family {
    Type type;
    std::string help;
    std::map<std::string, Series> series;  // by rendered label set
  };
  Family& family(const std::string& name, Type type, const std::string& help);

  mutable std::mutex mutex_;
  std::map<std::string, Family> families_;
};

// The metrics the service exports, registered once at start and shared by its parts.
struct ServiceMetrics {
  explicit ServiceMetrics(MetricsRegistry& registry);
  MetricsRegistry& registry;
  Counter& http_requests;          // requests answered (any status)
  Counter& http_errors;            // requests answered with status >= 400
  Counter& websocket_messages_in;  // realtime client messages
  Counter& websocket_drops;        // realtime clients dropped (slow reader, bad frames)
  Counter& ingest_frames;          // frames decoded and handed to the engine
  Counter& ingest_bytes_pushed;    // bytes pushed by realtime clients
  Counter& tokens_dropped;         // video tokens the engine dropped (token drop)
  Counter& prompt_tokens;
  Counter& completion_tokens;
  Counter& answers_cancelled;
  Counter& errors;                  // errors of the engine (ingestion or answers)
  Counter& alerts;                  // alert.triggered events sent to realtime clients
  Counter& video_url_ingests;       // chat video_url URLs ingested on demand (new sessions)
  Counter& video_url_reuses;        // chat video_url URLs answered from an existing session
  Gauge& ingest_frames_per_second;  // over the last few seconds, all sessions
  Gauge& question_queue_depth;
  Gauge& ingest_queue_depth;
  Gauge& sessions_active;   // not closed
  Gauge& streams_active;    // live streams + realtime sessions
  Gauge& connections_open;  // HTTP + WebSocket
  Gauge& memory_bytes_gpu;  // video memory per tier
  Gauge& memory_bytes_host;
  Gauge& memory_bytes_disk;
  Histogram& time_to_first_token;    // seconds
  Histogram& time_per_output_token;  // seconds
  Histogram& request_duration;       // seconds, HTTP
};

}  // namespace vigil::service

// Prometheus metrics: counters, gauges and histograms that any thread updates
// without a lock, and their text exposition (format 0.0.4) for GET /metrics.
//
// Families have fixed label names; a family's samples, one per set of label
// values, are made on first use and live as long as the family, so a
// reference to one may be kept. Updating a sample is lock-free (atomics);
// only making a new sample, and collecting, take the family's mutex.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace hephy {

// What a family holds at one moment, as the text format writes it. Samples of
// a histogram are its series: NAME_bucket{...,le="B"} (cumulative), NAME_sum
// and NAME_count.
struct MetricSample {
  std::string suffix;  // "", "_bucket", "_sum", "_count"
  std::vector<std::pair<std::string, std::string>> labels;
  double value = 0;
};

struct MetricFamilySnapshot {
  std::string name;
  std::string help;
  std::string type;  // "counter", "gauge" or "histogram"
  std::vector<MetricSample> samples;
};

// The text exposition format 0.0.4: for each family "# HELP", "# TYPE" and
// its samples, one a line, each line ending in '\n'. HELP text escapes '\'
// and newlines; label values also '"'. Values are integers when whole,
// "+Inf", "-Inf" and "NaN" when not finite.
std::string RenderMetrics(const std::vector<MetricFamilySnapshot>& families);
// The Content-Type of RenderMetrics' text.
inline constexpr char kMetricsContentType[] = "text/plain; version=0.0.4; charset=utf-8";

class Counter {
 public:
  void Increment(uint64_t by = 1) { value_.fetch_add(by, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

class Gauge {
 public:
  void Add(int64_t delta) { value_.fetch_add(delta, std::memory_order_relaxed); }
  void Set(int64_t value) { value_.store(value, std::memory_order_relaxed); }
  int64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> value_{0};
};

// Observations counted in buckets by upper bound (a value equal to a bound
// counts in that bucket), plus their sum.
class Histogram {
 public:
  // `bounds`: finite, strictly increasing; +Inf is implied.
  explicit Histogram(const std::vector<double>* bounds);
  void Observe(double value);
  // Cumulative counts per bound, then the +Inf bucket (= the count).
  std::vector<uint64_t> CumulativeCounts() const;
  double sum() const { return sum_.load(std::memory_order_relaxed); }

 private:
  const std::vector<double>* bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // per bucket, not cumulative; +Inf last
  std::atomic<double> sum_{0};
};

// One metric name with its help text, label names and samples. Throws
// std::invalid_argument for label values of the wrong number.
template <typename Sample>
class MetricFamily {
 public:
  MetricFamily(std::string name, std::string help, std::vector<std::string> label_names)
      : name_(std::move(name)), help_(std::move(help)), label_names_(std::move(label_names)) {}
  virtual ~MetricFamily() = default;
  MetricFamily(const MetricFamily&) = delete;
  MetricFamily& operator=(const MetricFamily&) = delete;

  // The sample for these label values (in the order of the label names).
  Sample& With(const std::vector<std::string>& values);

  const std::string& name() const { return name_; }

 protected:
  // The samples and their label values, in label-value order.
  template <typename Visit>
  void ForEach(Visit&& visit) const {
    std::lock_guard lock(mutex_);
    for (const auto& [values, sample] : samples_) visit(Labels(values), *sample);
  }
  std::vector<std::pair<std::string, std::string>> Labels(
      const std::vector<std::string>& values) const;
  // A new sample at zero.
  virtual std::unique_ptr<Sample> Make() const = 0;

  const std::string name_;
  const std::string help_;
  const std::vector<std::string> label_names_;

 private:
  mutable std::mutex mutex_;
  std::map<std::vector<std::string>, std::unique_ptr<Sample>> samples_;
};

class CounterFamily : public MetricFamily<Counter> {
 public:
  using MetricFamily::MetricFamily;
  MetricFamilySnapshot Collect() const;

 private:
  std::unique_ptr<Counter> Make() const override { return std::make_unique<Counter>(); }
};

class GaugeFamily : public MetricFamily<Gauge> {
 public:
  using MetricFamily::MetricFamily;
  MetricFamilySnapshot Collect() const;

 private:
  std::unique_ptr<Gauge> Make() const override { return std::make_unique<Gauge>(); }
};

class HistogramFamily : public MetricFamily<Histogram> {
 public:
  // `bounds`: the buckets' upper bounds, finite and strictly increasing
  // (else std::invalid_argument); "le" is a label name of its own.
  HistogramFamily(std::string name, std::string help, std::vector<std::string> label_names,
                  std::vector<double> bounds);
  MetricFamilySnapshot Collect() const;

 private:
  std::unique_ptr<Histogram> Make() const override;
  const std::vector<double> bounds_;
};

// Adds one to a gauge for as long as it lives: the things in progress.
class GaugeScope {
 public:
  explicit GaugeScope(Gauge& gauge) : gauge_(gauge) { gauge_.Add(1); }
  ~GaugeScope() { gauge_.Add(-1); }
  GaugeScope(const GaugeScope&) = delete;
  GaugeScope& operator=(const GaugeScope&) = delete;

 private:
  Gauge& gauge_;
};

// hephyd's own metrics, updated where the events happen (the SSH server, the
// push receiver, the build runner, the registry client) and rendered by
// GET /metrics. Build counts by status are not here: the API reads them from
// the database at scrape time, so they survive restarts.
struct HephyMetrics {
  // Every series that is known in advance is there from the start, at 0.
  HephyMetrics();

  // result: accepted | rejected (the pre-receive hook's verdict).
  CounterFamily pushes{"hephy_pushes_total",
                       "Pushes whose pre-receive hook ran, by the hook's verdict.",
                       {"result"}};
  HistogramFamily job_duration{
      "hephy_build_job_duration_seconds",
      "Time a platform job ran (build and push), observed when it ends, whatever its outcome.",
      {"platform"},
      {1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600}};
  // result: hit (reused from the layer cache) | miss (built).
  CounterFamily layer_cache_steps{
      "hephy_layer_cache_steps_total",
      "Dockerfile steps of buildah jobs with a layer cache, by whether the cache had them.",
      {"result"}};
  GaugeFamily layer_cache_bytes{
      "hephy_layer_cache_bytes", "Disk space the buildah layer cache holds, as last measured.", {}};
  GaugeFamily ssh_sessions{"hephy_ssh_sessions_active", "SSH connections being served.", {}};
  CounterFamily registry_errors{
      "hephy_registry_request_errors_total",
      "Registry operations of hephyd's registry client that failed for good (after retries).",
      {}};

  std::vector<MetricFamilySnapshot> Collect() const;
};

// The one instance of the process. Process-wide because the events happen
// deep in parts (SSH sessions, the registry client) that share no object but
// the config; passing a registry through all of them would couple each to
// the HTTP API. Counters start at zero with the process, as Prometheus
// expects of counters.
HephyMetrics& Metrics();

// Observes `elapsed` in seconds.
void ObserveDuration(Histogram& histogram, std::chrono::steady_clock::duration elapsed);

}  // namespace hephy

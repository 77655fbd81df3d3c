#include "util/metrics.h"

#include <charconv>
#include <cmath>
#include <stdexcept>

namespace hephy {
namespace {

std::string FormatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char text[64];
  // Shortest text that reads back as the same double: "3", "0.25", "1e+21".
  const auto [end, ec] = std::to_chars(text, text + sizeof text, value);
  return ec == std::errc() ? std::string(text, end) : std::to_string(value);
}

// HELP text escapes '\' and newlines; label values '"' too.
std::string Escape(const std::string& text, bool quote) {
  std::string out;
  for (const char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quote) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

std::string RenderMetrics(const std::vector<MetricFamilySnapshot>& families) {
  std::string out;
  for (const auto& family : families) {
    out += "# HELP " + family.name + " " + Escape(family.help, false) + "\n";
    out += "# TYPE " + family.name + " " + family.type + "\n";
    for (const auto& sample : family.samples) {
      out += family.name + sample.suffix;
      if (!sample.labels.empty()) {
        out += '{';
        for (size_t i = 0; i < sample.labels.size(); ++i) {
          if (i > 0) out += ',';
          out += sample.labels[i].first + "=\"" + Escape(sample.labels[i].second, true) + "\"";
        }
        out += '}';
      }
      out += " " + FormatValue(sample.value) + "\n";
    }
  }
  return out;
}

Histogram::Histogram(const std::vector<double>* bounds)
    : bounds_(bounds), counts_(new std::atomic<uint64_t>[bounds->size() + 1]) {
  for (size_t i = 0; i <= bounds_->size(); ++i) counts_[i].store(0);
}

void Histogram::Observe(double value) {
  size_t bucket = 0;
  while (bucket < bounds_->size() && value > (*bounds_)[bucket]) ++bucket;
  counts_[bucket].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

std::vector<uint64_t> Histogram::CumulativeCounts() const {
  // Read bucket by bucket while others observe: the buckets stay cumulative
  // and the +Inf bucket equals the count, because both are derived here.
  std::vector<uint64_t> cumulative;
  uint64_t total = 0;
  for (size_t i = 0; i <= bounds_->size(); ++i) {
    total += counts_[i].load(std::memory_order_relaxed);
    cumulative.push_back(total);
  }
  return cumulative;
}

template <typename Sample>
Sample& MetricFamily<Sample>::With(const std::vector<std::string>& values) {
  if (values.size() != label_names_.size()) {
    throw std::invalid_argument(name_ + ": " + std::to_string(label_names_.size()) +
                                " label value(s) expected, got " + std::to_string(values.size()));
  }
  std::lock_guard lock(mutex_);
  auto& sample = samples_[values];
  if (!sample) sample = Make();
  return *sample;
}

template <typename Sample>
std::vector<std::pair<std::string, std::string>> MetricFamily<Sample>::Labels(
    const std::vector<std::string>& values) const {
  std::vector<std::pair<std::string, std::string>> labels;
  for (size_t i = 0; i < values.size(); ++i) labels.emplace_back(label_names_[i], values[i]);
  return labels;
}

template class MetricFamily<Counter>;
template class MetricFamily<Gauge>;
template class MetricFamily<Histogram>;

MetricFamilySnapshot CounterFamily::Collect() const {
  MetricFamilySnapshot snapshot{name_, help_, "counter", {}};
  ForEach([&](auto labels, const Counter& counter) {
    snapshot.samples.push_back({"", std::move(labels), static_cast<double>(counter.value())});
  });
  return snapshot;
}

MetricFamilySnapshot GaugeFamily::Collect() const {
  MetricFamilySnapshot snapshot{name_, help_, "gauge", {}};
  ForEach([&](auto labels, const Gauge& gauge) {
    snapshot.samples.push_back({"", std::move(labels), static_cast<double>(gauge.value())});
  });
  return snapshot;
}

HistogramFamily::HistogramFamily(std::string name, std::string help,
                                 std::vector<std::string> label_names, std::vector<double> bounds)
    : MetricFamily(std::move(name), std::move(help), std::move(label_names)),
      bounds_(std::move(bounds)) {
  for (size_t i = 0; i < bounds_.size(); ++i) {
    if (!std::isfinite(bounds_[i]) || (i > 0 && bounds_[i] <= bounds_[i - 1])) {
      throw std::invalid_argument(name_ + ": bucket bounds must be finite and increasing");
    }
  }
}

std::unique_ptr<Histogram> HistogramFamily::Make() const {
  return std::make_unique<Histogram>(&bounds_);
}

MetricFamilySnapshot HistogramFamily::Collect() const {
  MetricFamilySnapshot snapshot{name_, help_, "histogram", {}};
  ForEach([&](const auto& labels, const Histogram& histogram) {
    const auto counts = histogram.CumulativeCounts();
    for (size_t i = 0; i < counts.size(); ++i) {
      auto bucket_labels = labels;
      bucket_labels.emplace_back(
          "le", i < bounds_.size() ? FormatValue(bounds_[i]) : std::string("+Inf"));
      snapshot.samples.push_back(
          {"_bucket", std::move(bucket_labels), static_cast<double>(counts[i])});
    }
    snapshot.samples.push_back({"_sum", labels, histogram.sum()});
    snapshot.samples.push_back({"_count", labels, static_cast<double>(counts.back())});
  });
  return snapshot;
}

HephyMetrics::HephyMetrics() {
  pushes.With({"accepted"});
  pushes.With({"rejected"});
  ssh_sessions.With({});
  registry_errors.With({});
  layer_cache_steps.With({"hit"});
  layer_cache_steps.With({"miss"});
  layer_cache_bytes.With({});
}

std::vector<MetricFamilySnapshot> HephyMetrics::Collect() const {
  return {pushes.Collect(),          job_duration.Collect(),      ssh_sessions.Collect(),
          registry_errors.Collect(), layer_cache_steps.Collect(), layer_cache_bytes.Collect()};
}

HephyMetrics& Metrics() {
  static HephyMetrics metrics;
  return metrics;
}

void ObserveDuration(Histogram& histogram, std::chrono::steady_clock::duration elapsed) {
  histogram.Observe(std::chrono::duration<double>(elapsed).count());
}

}  // namespace hephy

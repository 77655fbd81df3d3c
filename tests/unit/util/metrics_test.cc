#include "util/metrics.h"

#include <gtest/gtest.h>

#include <limits>
#include <stdexcept>
#include <thread>

namespace hephy {
namespace {

TEST(Metrics, CountersRenderWithHelpTypeAndLabels) {
  CounterFamily pushes("hephy_pushes_total", "Pushes, by verdict.", {"result"});
  pushes.With({"accepted"}).Increment();
  pushes.With({"accepted"}).Increment(2);
  pushes.With({"rejected"});
  EXPECT_EQ(RenderMetrics({pushes.Collect()}),
            "# HELP hephy_pushes_total Pushes, by verdict.\n"
            "# TYPE hephy_pushes_total counter\n"
            "hephy_pushes_total{result=\"accepted\"} 3\n"
            "hephy_pushes_total{result=\"rejected\"} 0\n");
}

TEST(Metrics, GaugeWithoutLabelsGoesUpAndDown) {
  GaugeFamily sessions("hephy_ssh_sessions_active", "Sessions.", {});
  {
    const GaugeScope one(sessions.With({}));
    const GaugeScope two(sessions.With({}));
    EXPECT_EQ(sessions.With({}).value(), 2);
  }
  EXPECT_EQ(RenderMetrics({sessions.Collect()}),
            "# HELP hephy_ssh_sessions_active Sessions.\n"
            "# TYPE hephy_ssh_sessions_active gauge\n"
            "hephy_ssh_sessions_active 0\n");
}

TEST(Metrics, HistogramBucketsAreCumulativeAndEndInInfWithSumAndCount) {
  HistogramFamily jobs("job_seconds", "Job time.", {"platform"}, {1, 5, 0.5e2});
  auto& amd64 = jobs.With({"linux/amd64"});
  amd64.Observe(0.25);
  amd64.Observe(1);  // on a bound: counts in that bucket
  amd64.Observe(3);
  amd64.Observe(3600);
  ObserveDuration(jobs.With({"linux/arm64"}), std::chrono::milliseconds(4500));
  EXPECT_EQ(RenderMetrics({jobs.Collect()}),
            "# HELP job_seconds Job time.\n"
            "# TYPE job_seconds histogram\n"
            "job_seconds_bucket{platform=\"linux/amd64\",le=\"1\"} 2\n"
            "job_seconds_bucket{platform=\"linux/amd64\",le=\"5\"} 3\n"
            "job_seconds_bucket{platform=\"linux/amd64\",le=\"50\"} 3\n"
            "job_seconds_bucket{platform=\"linux/amd64\",le=\"+Inf\"} 4\n"
            "job_seconds_sum{platform=\"linux/amd64\"} 3604.25\n"
            "job_seconds_count{platform=\"linux/amd64\"} 4\n"
            "job_seconds_bucket{platform=\"linux/arm64\",le=\"1\"} 0\n"
            "job_seconds_bucket{platform=\"linux/arm64\",le=\"5\"} 1\n"
            "job_seconds_bucket{platform=\"linux/arm64\",le=\"50\"} 1\n"
            "job_seconds_bucket{platform=\"linux/arm64\",le=\"+Inf\"} 1\n"
            "job_seconds_sum{platform=\"linux/arm64\"} 4.5\n"
            "job_seconds_count{platform=\"linux/arm64\"} 1\n");
}

TEST(Metrics, LabelValuesAndHelpAreEscaped) {
  CounterFamily odd("odd_total", "Back\\slash and\nnewline \"quoted\".", {"path"});
  odd.With({"C:\\dir\n\"x\""}).Increment();
  EXPECT_EQ(RenderMetrics({odd.Collect()}),
            "# HELP odd_total Back\\\\slash and\\nnewline \"quoted\".\n"
            "# TYPE odd_total counter\n"
            "odd_total{path=\"C:\\\\dir\\n\\\"x\\\"\"} 1\n");
}

TEST(Metrics, ValuesThatAreNotWholeOrFinite) {
  MetricFamilySnapshot family{"x", "X.", "gauge", {}};
  family.samples.push_back({"", {{"k", "a"}}, 0.1});
  family.samples.push_back({"", {{"k", "b"}}, std::numeric_limits<double>::infinity()});
  family.samples.push_back({"", {{"k", "c"}}, -std::numeric_limits<double>::infinity()});
  family.samples.push_back({"", {{"k", "d"}}, std::numeric_limits<double>::quiet_NaN()});
  family.samples.push_back({"", {{"k", "e"}}, 12345678901.0});
  EXPECT_EQ(RenderMetrics({family}),
            "# HELP x X.\n# TYPE x gauge\n"
            "x{k=\"a\"} 0.1\nx{k=\"b\"} +Inf\nx{k=\"c\"} -Inf\nx{k=\"d\"} NaN\n"
            "x{k=\"e\"} 12345678901\n");
}

TEST(Metrics, WrongNumberOfLabelValuesIsRefused) {
  CounterFamily pushes("p_total", "P.", {"result"});
  EXPECT_THROW(pushes.With({}), std::invalid_argument);
  EXPECT_THROW(pushes.With({"a", "b"}), std::invalid_argument);
  EXPECT_THROW(HistogramFamily("h", "H.", {}, {5, 1}), std::invalid_argument);
}

TEST(Metrics, ConcurrentUpdatesAreAllCounted) {
  CounterFamily counter("c_total", "C.", {});
  HistogramFamily histogram("h", "H.", {}, {1});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        counter.With({}).Increment();
        histogram.With({}).Observe(i % 2 == 0 ? 0.5 : 2);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(counter.With({}).value(), 40000u);
  EXPECT_EQ(histogram.With({}).CumulativeCounts(), (std::vector<uint64_t>{20000, 40000}));
  EXPECT_DOUBLE_EQ(histogram.With({}).sum(), 20000 * 0.5 + 20000 * 2.0);
}

TEST(Metrics, HephydsMetricsAreThereFromTheStart) {
  const std::string text = RenderMetrics(Metrics().Collect());
  for (const char* line :
       {"# TYPE hephy_pushes_total counter\n", "hephy_pushes_total{result=\"accepted\"} ",
        "hephy_pushes_total{result=\"rejected\"} ",
        "# TYPE hephy_build_job_duration_seconds histogram\n",
        "# TYPE hephy_ssh_sessions_active gauge\n", "hephy_ssh_sessions_active ",
        "# TYPE hephy_registry_request_errors_total counter\n",
        "hephy_registry_request_errors_total "}) {
    EXPECT_NE(text.find(line), std::string::npos) << line << "\n" << text;
  }
}

}  // namespace
}  // namespace hephy

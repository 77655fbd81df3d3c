// The kaniko-kubernetes executor against a fake API server speaking the
// real wire protocol: scripted pods stand in for the kubelet, and one of
// them runs real buildah against a real registry as its "Kaniko".
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <future>
#include <regex>
#include <thread>

#include "executors/buildah_executor.h"
#include "executors/kaniko_kubernetes_executor.h"
#include "executors/kube_pod_spec.h"
#include "fake_kube_api.h"
#include "hephy/registry_client.h"
#include "test_dir.h"
#include "test_registry.h"

namespace hephy {
namespace {

using nlohmann::json;
using Outcome = PlatformJobResult::Outcome;
using std::chrono::milliseconds;

const std::string kDigest = "sha256:" + std::string(64, 'a');
constexpr char kNamespace[] = "builds";

// The value of the init container's environment variable `name`.
std::string InitEnv(const json& pod, const std::string& name) {
  for (const auto& var : pod["spec"]["initContainers"][0]["env"]) {
    if (var["name"] == name) return var["value"];
  }
  return "";
}

class KanikoKubernetesTest : public ::testing::Test {
 protected:
  KanikoKubernetesTest() {
    std::filesystem::create_directories(context());
    std::ofstream(context() / "Dockerfile") << "FROM scratch\nCOPY hello.txt /hello.txt\n";
    std::ofstream(context() / "hello.txt") << "hello\n";
    config_.builder.kubernetes.namespace_name = kNamespace;
    config_.builder.kubernetes.context_url = "http://hephyd.test:8080/";
    config_.builder.kaniko.image = "registry.test/kaniko:v1";
  }

  std::filesystem::path context() const { return dir_.path() / "context"; }

  KanikoKubernetesExecutor& executor() {
    if (!executor_) executor_.emplace(config_, api_.Cluster(), contexts_);
    return *executor_;
  }

  PlatformJobSpec Spec(const std::string& platform = "linux/arm64") {
    PlatformJobSpec spec;
    spec.build_id = 12;
    spec.platform = platform;
    spec.context_dir = context();
    spec.destination = "127.0.0.1:5000/app:app-1-" + ParsePlatform(platform).architecture;
    spec.insecure_registry = true;
    spec.timeout = std::chrono::minutes(30);
    return spec;
  }

  // Plays a kubelet that fetches the context with the pod's token, runs
  // Kaniko printing `lines`, and ends it with `exit_code` and `message`.
  void RunPodsToTheEnd(std::vector<std::string> lines, int exit_code, std::string message) {
    api_.OnPodCreated([=, this](FakePod pod) {
      pod.SetCondition("PodScheduled", "True");
      pod.SetRunning("fetch-context");
      pod.SetTerminated("fetch-context", Fetch(pod) ? 0 : 1);
      pod.SetRunning("kaniko");
      for (const auto& line : lines) pod.AppendLog("kaniko", line);
      pod.SetTerminated("kaniko", exit_code, "", message);
    });
  }

  // Redeems the pod's context token as hephyd's HTTP server would.
  bool Fetch(const FakePod& pod) {
    const json object = pod.Object();
    const std::string url = InitEnv(object, "HEPHY_CONTEXT_URL");
    const std::string job = url.substr(url.rfind('/') + 1);
    return contexts_.Redeem(job, InitEnv(object, "HEPHY_CONTEXT_TOKEN")) == context();
  }

  std::vector<RecordedRequest> Requests(const std::string& method, const std::string& path) {
    std::vector<RecordedRequest> found;
    for (auto& request : api_.Requests()) {
      if (request.method == method && request.path == path) found.push_back(request);
    }
    return found;
  }

  bool PodGone(const std::string& name) {
    return !api_.Pod(kNamespace, name).has_value() &&
           Requests("DELETE", std::string("/api/v1/namespaces/") + kNamespace + "/pods/" + name)
                   .size() == 1;
  }

  TestDir dir_;
  FakeKubeApi api_;
  BuildContexts contexts_;
  Config config_;
  std::optional<KanikoKubernetesExecutor> executor_;
};

TEST_F(KanikoKubernetesTest, BuildsInAPodStreamingItsLogAndReadsTheDigest) {
  RunPodsToTheEnd({"INFO[0000] Retrieving image manifest", "INFO[0001] COPY hello.txt /hello.txt",
                   "INFO[0002] Pushing image"},
                  0, kDigest + "\n");
  auto job = executor().Prepare(Spec());
  std::vector<std::string> lines;
  const PlatformJobResult result = job->Run([&](std::string_view l) { lines.emplace_back(l); });

  ASSERT_EQ(result.outcome, Outcome::kSucceeded) << result.error;
  EXPECT_EQ(result.digest, kDigest);
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_EQ(lines, (std::vector<std::string>{"INFO[0000] Retrieving image manifest",
                                             "INFO[0001] COPY hello.txt /hello.txt",
                                             "INFO[0002] Pushing image"}));
  const auto logs = Requests("GET", "/api/v1/namespaces/builds/pods/hephy-12-arm64/log");
  ASSERT_EQ(logs.size(), 1u);
  EXPECT_EQ(logs[0].query.at("container"), "kaniko");
  EXPECT_EQ(logs[0].query.at("follow"), "true");
  EXPECT_TRUE(PodGone("hephy-12-arm64"));
}

TEST_F(KanikoKubernetesTest, SendsThePodSpecOfThePlatform) {
  RunPodsToTheEnd({}, 0, kDigest);
  for (const std::string platform : {"linux/arm64", "linux/amd64"}) {
    const PlatformJobSpec spec = Spec(platform);
    ASSERT_EQ(executor().Prepare(spec)->Run([](std::string_view) {}).outcome, Outcome::kSucceeded);
    const std::string name = KubePodName(spec);
    json sent;
    for (const auto& request : Requests("POST", "/api/v1/namespaces/builds/pods")) {
      const json pod = json::parse(request.body);
      if (pod["metadata"]["name"] == name) sent = pod;
    }
    ASSERT_TRUE(sent.is_object()) << "no pod " << name << " created";
    const std::string token = InitEnv(sent, "HEPHY_CONTEXT_TOKEN");
    EXPECT_EQ(token.size(), 64u);
    EXPECT_EQ(sent, KubePod(config_.builder.kubernetes, config_.builder.kaniko, spec,
                            {.name = name,
                             .context_url = "http://hephyd.test:8080/api/v1/contexts/" +
                                            KubeContextJobName(spec),
                             .context_token = token}));
    const std::string arch = ParsePlatform(platform).architecture;
    EXPECT_EQ(sent["spec"]["nodeSelector"]["kubernetes.io/arch"], arch);
    EXPECT_EQ(sent["metadata"]["labels"]["hephy/platform"], arch);
    EXPECT_EQ(sent["spec"]["activeDeadlineSeconds"], 30 * 60);
    EXPECT_EQ(sent["spec"]["containers"][0]["args"][3], "--customPlatform=" + platform);
    EXPECT_TRUE(PodGone(name));
  }
  EXPECT_TRUE(api_.Objects("secrets", kNamespace).empty());
  EXPECT_TRUE(Requests("POST", "/api/v1/namespaces/builds/secrets").empty());
}

TEST_F(KanikoKubernetesTest, TheContextTokenWorksOnceForItsOwnJobUntilTheJobEnds) {
  std::promise<std::vector<bool>> redeemed;
  std::string job_name, token;
  api_.OnPodCreated([&](FakePod pod) {
    const json object = pod.Object();
    const std::string url = InitEnv(object, "HEPHY_CONTEXT_URL");
    job_name = url.substr(url.rfind('/') + 1);
    token = InitEnv(object, "HEPHY_CONTEXT_TOKEN");
    const bool other_job = contexts_.Redeem("13-linux-arm64", token).has_value();
    const bool first = contexts_.Redeem(job_name, token) == context();
    const bool second = contexts_.Redeem(job_name, token).has_value();
    redeemed.set_value({other_job, first, second});
    pod.SetTerminated("fetch-context", 0);
    pod.SetRunning("kaniko");
    pod.SetTerminated("kaniko", 0, "", kDigest);
  });
  const PlatformJobResult result = executor().Prepare(Spec())->Run([](std::string_view) {});
  ASSERT_EQ(result.outcome, Outcome::kSucceeded) << result.error;
  EXPECT_EQ(job_name, "12-linux-arm64");
  EXPECT_EQ(redeemed.get_future().get(), (std::vector<bool>{false, true, false}));

  // A token never used is revoked when its job ends.
  api_.OnPodCreated([&](FakePod pod) {
    token = InitEnv(pod.Object(), "HEPHY_CONTEXT_TOKEN");
    pod.SetTerminated("fetch-context", 0);
    pod.SetRunning("kaniko");
    pod.SetTerminated("kaniko", 1);
  });
  PlatformJobSpec spec = Spec();
  spec.build_id = 14;
  EXPECT_EQ(executor().Prepare(spec)->Run([](std::string_view) {}).outcome, Outcome::kFailed);
  EXPECT_FALSE(contexts_.Redeem("14-linux-arm64", token).has_value());
}

TEST_F(KanikoKubernetesTest, AFailedKanikoFailsTheJobWithItsExitStatus) {
  RunPodsToTheEnd({"error building image: RUN false: exit status 1"}, 1, "");
  std::vector<std::string> lines;
  const PlatformJobResult result =
      executor().Prepare(Spec())->Run([&](std::string_view l) { lines.emplace_back(l); });
  EXPECT_EQ(result.outcome, Outcome::kFailed);
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(result.error, "kaniko exited with status 1");
  EXPECT_EQ(lines, std::vector<std::string>{"error building image: RUN false: exit status 1"});
  EXPECT_TRUE(PodGone("hephy-12-arm64"));
}

TEST_F(KanikoKubernetesTest, ATerminationMessageThatIsNoDigestFailsTheJob) {
  RunPodsToTheEnd({}, 0, "not a digest");
  const PlatformJobResult result = executor().Prepare(Spec())->Run([](std::string_view) {});
  EXPECT_EQ(result.outcome, Outcome::kFailed);
  EXPECT_EQ(result.error,
            "kaniko succeeded but its termination message is not an image digest: 'not a digest'");
  EXPECT_TRUE(PodGone("hephy-12-arm64"));
}

TEST_F(KanikoKubernetesTest, WithoutAGraceAnUnschedulablePodFailsAtOnceSayingWhy) {
  config_.builder.kubernetes.start_timeout = std::chrono::minutes(5);
  config_.builder.kubernetes.unschedulable_grace = std::chrono::seconds(0);
  api_.OnPodCreated([](FakePod pod) {
    pod.SetCondition("PodScheduled", "False", "Unschedulable",
                     "0/3 nodes are available: 3 node(s) didn't match Pod's node "
                     "affinity/selector.");
  });
  const auto start = std::chrono::steady_clock::now();
  const PlatformJobResult result = executor().Prepare(Spec())->Run([](std::string_view) {});
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::minutes(1));
  EXPECT_EQ(result.outcome, Outcome::kFailed);
  EXPECT_EQ(result.error,
            "pod hephy-12-arm64 cannot be scheduled: 0/3 nodes are available: 3 node(s) didn't "
            "match Pod's node affinity/selector. (is there a node with "
            "kubernetes.io/arch=arm64?)");
  EXPECT_TRUE(PodGone("hephy-12-arm64"));
}

// A cluster autoscaler adds a node for a pod no node could take: the job
// waits for it (longer than start_timeout), telling the pusher, and builds.
TEST_F(KanikoKubernetesTest, AnUnschedulablePodWaitsForANodeAndBuildsOnceItHasOne) {
  config_.builder.kubernetes.start_timeout = std::chrono::minutes(1);
  config_.builder.kubernetes.unschedulable_grace = std::chrono::minutes(5);
  // The context token is fetched once the pod has its node: later than
  // start_timeout after the job began.
  std::atomic<int> minutes_passed = 0;
  contexts_.SetClockForTest([&] {
    return std::chrono::steady_clock::now() + std::chrono::minutes(minutes_passed.load());
  });
  std::promise<void> told;
  std::shared_future<void> told_future = told.get_future().share();
  api_.OnPodCreated([&](FakePod pod) {
    const std::string full =
        "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector.";
    pod.SetCondition("PodScheduled", "False", "Unschedulable", full);
    // The scheduler tries again: the same message is not told twice.
    pod.SetCondition("PodScheduled", "False", "Unschedulable", full);
    if (told_future.wait_for(std::chrono::seconds(30)) != std::future_status::ready) return;
    pod.SetCondition("PodScheduled", "False", "Unschedulable",
                     "0/4 nodes are available: 1 node(s) had untolerated taint "
                     "{node.kubernetes.io/not-ready: }, 3 node(s) didn't match Pod's node "
                     "affinity/selector.");
    minutes_passed = 3;
    pod.Update([](json& object) { object["spec"]["nodeName"] = "arm64-node-4"; });
    pod.SetCondition("PodScheduled", "True");
    pod.SetRunning("fetch-context");
    pod.SetTerminated("fetch-context", Fetch(pod) ? 0 : 1);
    pod.SetRunning("kaniko");
    pod.AppendLog("kaniko", "INFO[0000] Retrieving image manifest");
    pod.SetTerminated("kaniko", 0, "", kDigest);
  });
  std::vector<std::string> lines;
  const PlatformJobResult result = executor().Prepare(Spec())->Run([&](std::string_view line) {
    lines.emplace_back(line);
    if (line.starts_with("hephy: waiting for a node")) told.set_value();
  });
  ASSERT_EQ(result.outcome, Outcome::kSucceeded) << result.error;
  EXPECT_EQ(result.digest, kDigest);
  ASSERT_EQ(lines.size(), 4u) << ::testing::PrintToString(lines);
  // Giving up in 5m, or a second less on a slow machine.
  EXPECT_TRUE(std::regex_match(
      lines[0], std::regex("hephy: waiting for a node \\(0/3 nodes are available: 3 node\\(s\\) "
                           "didn't match Pod's node affinity/selector\\.\\); a cluster "
                           "autoscaler may add one, giving up in (5m|4m5[0-9]s)")))
      << lines[0];
  EXPECT_TRUE(std::regex_match(
      lines[1], std::regex("hephy: still waiting for a node \\(0/4 nodes are available: 1 "
                           "node\\(s\\) had untolerated taint .*\\), giving up in (5m|4m[0-9]+s)")))
      << lines[1];
  EXPECT_TRUE(std::regex_match(
      lines[2],
      std::regex("hephy: the pod got a node \\(arm64-node-4\\) after waiting [0-9]+s for one")))
      << lines[2];
  EXPECT_EQ(lines[3], "INFO[0000] Retrieving image manifest");
  EXPECT_TRUE(PodGone("hephy-12-arm64"));
}

TEST_F(KanikoKubernetesTest, APodNoNodeTakesWithinTheGraceFailsNamingIt) {
  // The grace replaces start_timeout while the pod waits for a node.
  config_.builder.kubernetes.start_timeout = std::chrono::seconds(1);
  config_.builder.kubernetes.unschedulable_grace = std::chrono::seconds(2);
  api_.OnPodCreated([](FakePod pod) {
    pod.SetCondition("PodScheduled", "False", "Unschedulable",
                     "0/3 nodes are available: 3 Insufficient memory.");
  });
  std::vector<std::string> lines;
  const auto start = std::chrono::steady_clock::now();
  const PlatformJobResult result =
      executor().Prepare(Spec())->Run([&](std::string_view l) { lines.emplace_back(l); });
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_GE(took, std::chrono::seconds(2));
  EXPECT_LT(took, std::chrono::seconds(30));
  EXPECT_EQ(result.outcome, Outcome::kFailed);
  EXPECT_EQ(result.error,
            "pod hephy-12-arm64 cannot be scheduled: 0/3 nodes are available: 3 Insufficient "
            "memory. (is there a node with kubernetes.io/arch=arm64?); no node took it within 2s "
            "(builder.kubernetes.unschedulable_grace)");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_TRUE(
      lines[0].starts_with("hephy: waiting for a node (0/3 nodes are available: 3 "
                           "Insufficient memory.); a cluster autoscaler may add one, "
                           "giving up in "))
      << lines[0];
  EXPECT_TRUE(PodGone("hephy-12-arm64"));
}

TEST_F(KanikoKubernetesTest, StartTimeoutStartsOverOnceThePodHasANode) {
  config_.builder.kubernetes.start_timeout = std::chrono::seconds(1);
  config_.builder.kubernetes.unschedulable_grace = std::chrono::minutes(10);
  std::promise<void> told;
  std::shared_future<void> told_future = told.get_future().share();
  api_.OnPodCreated([&](FakePod pod) {
    pod.SetCondition("PodScheduled", "False", "Unschedulable", "0/1 nodes are available.");
    if (told_future.wait_for(std::chrono::seconds(30)) != std::future_status::ready) return;
    pod.SetCondition("PodScheduled", "True");
    pod.SetRunning("fetch-context");  // and never ends
  });
  std::vector<std::string> lines;
  const PlatformJobResult result = executor().Prepare(Spec())->Run([&](std::string_view line) {
    lines.emplace_back(line);
    if (line.starts_with("hephy: waiting for a node")) told.set_value();
  });
  EXPECT_EQ(result.outcome, Outcome::kFailed);
  EXPECT_EQ(result.error,
            "pod hephy-12-arm64 did not start its kaniko container within 1s of getting a node "
            "(builder.kubernetes.start_timeout); it is Pending, kaniko PodInitializing");
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_TRUE(lines[1].starts_with("hephy: the pod got a node after waiting ")) << lines[1];
}

TEST_F(KanikoKubernetesTest, TheJobsTimeoutCutsTheWaitForANodeShort) {
  config_.builder.kubernetes.unschedulable_grace = std::chrono::minutes(10);
  api_.OnPodCreated([](FakePod pod) {
    pod.SetCondition("PodScheduled", "False", "Unschedulable", "0/1 nodes are available.");
  });
  PlatformJobSpec spec = Spec();
  spec.timeout = std::chrono::seconds(2);
  std::vector<std::string> lines;
  const PlatformJobResult result =
      executor().Prepare(spec)->Run([&](std::string_view l) { lines.emplace_back(l); });
  EXPECT_EQ(result.outcome, Outcome::kTimedOut);
  EXPECT_EQ(result.error, "timed out (builder.timeout)");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_TRUE(
      std::regex_match(lines[0], std::regex(".*, giving up in [12]s \\(builder.timeout\\)")))
      << lines[0];
  EXPECT_TRUE(PodGone("hephy-12-arm64"));
}

TEST_F(KanikoKubernetesTest, CancelEndsTheWaitForANodeAtOnce) {
  config_.builder.kubernetes.unschedulable_grace = std::chrono::minutes(10);
  api_.OnPodCreated([](FakePod pod) {
    pod.SetCondition("PodScheduled", "False", "Unschedulable", "0/1 nodes are available.");
  });
  auto job = executor().Prepare(Spec());
  std::promise<void> waiting;
  std::future<PlatformJobResult> result = std::async(std::launch::async, [&] {
    return job->Run([&](std::string_view line) {
      if (line.starts_with("hephy: waiting for a node")) waiting.set_value();
    });
  });
  waiting.get_future().wait();
  const auto cancelled = std::chrono::steady_clock::now();
  job->Cancel();
  const PlatformJobResult ended = result.get();
  EXPECT_LT(std::chrono::steady_clock::now() - cancelled, std::chrono::seconds(2));
  EXPECT_EQ(ended.outcome, Outcome::kCancelled);
  EXPECT_TRUE(PodGone("hephy-12-arm64"));
}

TEST_F(KanikoKubernetesTest, AKanikoImageThatCannotBePulledFailsNamingIt) {
  api_.OnPodCreated([](FakePod pod) {
    pod.SetTerminated("fetch-context", 0);
    pod.SetWaiting("kaniko", "ImagePullBackOff",
                   "Back-off pulling image \"registry.test/kaniko:v1\"");
  });
  const PlatformJobResult result = executor().Prepare(Spec())->Run([](std::string_view) {});
  EXPECT_EQ(result.outcome, Outcome::kFailed);
  EXPECT_EQ(result.error,
            "the kaniko container (image registry.test/kaniko:v1) cannot start "
            "(ImagePullBackOff): Back-off pulling image \"registry.test/kaniko:v1\"");
  EXPECT_TRUE(PodGone("hephy-12-arm64"));
}

TEST_F(KanikoKubernetesTest, AFailedContextFetchFailsWithTheInitContainersOutput) {
  api_.OnPodCreated([](FakePod pod) {
    pod.SetRunning("fetch-context");
    pod.SetTerminated("fetch-context", 1, "",
                      "wget: server returned error: HTTP/1.1 403 Forbidden\ncannot fetch the build "
                      "context from http://hephyd.test:8080/api/v1/contexts/12-linux-arm64\n");
  });
  const PlatformJobResult result = executor().Prepare(Spec())->Run([](std::string_view) {});
  EXPECT_EQ(result.outcome, Outcome::kFailed);
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(result.error,
            "the init container fetch-context (fetching the build context) exited with status 1: "
            "wget: server returned error: HTTP/1.1 403 Forbidden\ncannot fetch the build context "
            "from http://hephyd.test:8080/api/v1/contexts/12-linux-arm64");
  EXPECT_TRUE(PodGone("hephy-12-arm64"));
}

TEST_F(KanikoKubernetesTest, CancelStopsFollowingAtOnceAndDeletesThePod) {
  api_.OnPodCreated([](FakePod pod) {
    pod.SetTerminated("fetch-context", 0);
    pod.SetRunning("kaniko");
    // A build that never ends by itself: nothing terminates the container.
    pod.AppendLog("kaniko", "INFO[0000] RUN sleep 3600");
  });
  auto job = executor().Prepare(Spec());
  std::promise<void> printing;
  std::future<PlatformJobResult> result = std::async(std::launch::async, [&] {
    bool first = true;
    return job->Run([&](std::string_view) {
      if (std::exchange(first, false)) printing.set_value();
    });
  });
  printing.get_future().wait();
  const auto cancelled = std::chrono::steady_clock::now();
  job->Cancel();
  const PlatformJobResult ended = result.get();
  EXPECT_LT(std::chrono::steady_clock::now() - cancelled, std::chrono::seconds(2));
  EXPECT_EQ(ended.outcome, Outcome::kCancelled);
  EXPECT_TRUE(PodGone("hephy-12-arm64"));
}

TEST_F(KanikoKubernetesTest, ACancelBeforeRunCreatesNothing) {
  auto job = executor().Prepare(Spec());
  job->Cancel();
  EXPECT_EQ(job->Run([](std::string_view) {}).outcome, Outcome::kCancelled);
  EXPECT_TRUE(api_.Requests().empty());
}

TEST_F(KanikoKubernetesTest, TheJobsOwnTimerTimesItOut) {
  api_.OnPodCreated([](FakePod pod) {
    pod.SetTerminated("fetch-context", 0);
    pod.SetRunning("kaniko");
  });
  PlatformJobSpec spec = Spec();
  spec.timeout = std::chrono::seconds(1);
  const PlatformJobResult result = executor().Prepare(spec)->Run([](std::string_view) {});
  EXPECT_EQ(result.outcome, Outcome::kTimedOut);
  EXPECT_EQ(result.error, "timed out (builder.timeout)");
  EXPECT_TRUE(PodGone("hephy-12-arm64"));
}

TEST_F(KanikoKubernetesTest, ThePodsDeadlineTimesItOut) {
  api_.OnPodCreated([](FakePod pod) {
    pod.SetTerminated("fetch-context", 0);
    pod.SetRunning("kaniko");
    pod.AppendLog("kaniko", "INFO[0000] RUN make");
    // As the kubelet past activeDeadlineSeconds: the pod fails, its
    // container killed.
    pod.Update([](json& object) {
      for (auto& status : object["status"]["containerStatuses"]) {
        status["state"] = {{"terminated", {{"exitCode", 137}, {"reason", "Error"}}}};
      }
      object["status"]["phase"] = "Failed";
      object["status"]["reason"] = "DeadlineExceeded";
      object["status"]["message"] = "Pod was active on the node longer than the specified deadline";
    });
  });
  const PlatformJobResult result = executor().Prepare(Spec())->Run([](std::string_view) {});
  EXPECT_EQ(result.outcome, Outcome::kTimedOut);
  EXPECT_EQ(result.error, "timed out (builder.timeout)");
  EXPECT_TRUE(PodGone("hephy-12-arm64"));
}

TEST_F(KanikoKubernetesTest, APodThatDoesNotStartInTimeFailsSayingWhatItWaitsFor) {
  config_.builder.kubernetes.start_timeout = std::chrono::seconds(1);
  api_.OnPodCreated([](FakePod pod) { pod.SetRunning("fetch-context"); });
  const PlatformJobResult result = executor().Prepare(Spec())->Run([](std::string_view) {});
  EXPECT_EQ(result.outcome, Outcome::kFailed);
  EXPECT_EQ(result.error,
            "pod hephy-12-arm64 did not start its kaniko container within 1s "
            "(builder.kubernetes.start_timeout); it is Pending, kaniko PodInitializing");
  EXPECT_TRUE(PodGone("hephy-12-arm64"));
}

TEST_F(KanikoKubernetesTest, AWatchTheServerEndsIsResumedFromTheLastVersion) {
  bool first_watch = true;
  api_.Intercept([&](const RecordedRequest& request) -> std::optional<FakeKubeApi::Answer> {
    if (request.query.contains("watch") && std::exchange(first_watch, false)) {
      return FakeKubeApi::Answer{200, json::object()};
    }
    return std::nullopt;
  });
  RunPodsToTheEnd({"one line"}, 0, kDigest);
  const PlatformJobResult result = executor().Prepare(Spec())->Run([](std::string_view) {});
  ASSERT_EQ(result.outcome, Outcome::kSucceeded) << result.error;
  std::vector<std::string> versions;
  for (const auto& request : Requests("GET", "/api/v1/namespaces/builds/pods")) {
    if (request.query.contains("watch")) versions.push_back(request.query.at("resourceVersion"));
  }
  ASSERT_GE(versions.size(), 2u);
  EXPECT_EQ(versions[0], versions[1]);
}

// The log stream breaks off mid-way, then ends while Kaniko still runs:
// each time hephyd reopens it from the second of the last line received,
// and every line reaches the build log once, in order, without the
// timestamps it asked for.
TEST_F(KanikoKubernetesTest, ABrokenLogStreamIsResumedLosingAndDoublingNoLine) {
  api_.CutNextLog({.after_lines = 4, .broken = true});
  api_.CutNextLog({.after_lines = 3, .broken = false});
  const auto t0 = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  const auto at = [&](int ms) { return t0 + std::chrono::milliseconds(ms); };
  const std::string log_path = "/api/v1/namespaces/builds/pods/hephy-12-arm64/log";
  api_.OnPodCreated([&](FakePod pod) {
    pod.SetCondition("PodScheduled", "True");
    pod.SetTerminated("fetch-context", Fetch(pod) ? 0 : 1);
    pod.SetRunning("kaniko");
    pod.AppendLog("kaniko", "INFO[0000] one", at(100));
    pod.AppendLog("kaniko", "INFO[0000] two", at(200));
    pod.AppendLog("kaniko", "INFO[0001] three", at(1100));
    // The same line twice at the same instant: both are the build's.
    pod.AppendLog("kaniko", "dup", at(1500));
    pod.AppendLog("kaniko", "dup", at(1500));
    pod.AppendLog("kaniko", "INFO[0002] six", at(2100));
    // Kaniko goes on only once the log has been opened three times.
    if (!api_.WaitFor([&] { return Requests("GET", log_path).size() >= 3; },
                      std::chrono::seconds(60))) {
      return;
    }
    pod.AppendLog("kaniko", "INFO[0003] seven", at(3100));
    pod.SetTerminated("kaniko", 0, "", kDigest);
  });
  std::vector<std::string> lines;
  const PlatformJobResult result =
      executor().Prepare(Spec())->Run([&](std::string_view l) { lines.emplace_back(l); });
  ASSERT_EQ(result.outcome, Outcome::kSucceeded) << result.error;
  EXPECT_EQ(lines, (std::vector<std::string>{"INFO[0000] one", "INFO[0000] two", "INFO[0001] three",
                                             "dup", "dup", "INFO[0002] six", "INFO[0003] seven"}));
  const auto logs = Requests("GET", log_path);
  ASSERT_EQ(logs.size(), 3u);
  std::vector<std::string> since;
  for (const auto& request : logs) {
    EXPECT_EQ(request.query.at("timestamps"), "true");
    EXPECT_EQ(request.query.at("follow"), "true");
    since.push_back(request.query.contains("sinceTime") ? request.query.at("sinceTime") : "");
  }
  // The first stream broke after "dup" (at t0 + 1.5s), the second after
  // the other "dup".
  const std::string second = fake_kube::LogTime(t0 + std::chrono::seconds(1));
  EXPECT_EQ(since, (std::vector<std::string>{"", second, second}));
  EXPECT_TRUE(PodGone("hephy-12-arm64"));
}

// Two log streams in a row end before a line while Kaniko runs: after
// reading the pod the second time, hephyd pauses before the third, and a
// cancel ends the pause at once.
TEST_F(KanikoKubernetesTest, CancelEndsThePauseBeforeReopeningTheLogAtOnce) {
  api_.CutNextLog({.after_lines = 0, .broken = false});
  api_.CutNextLog({.after_lines = 0, .broken = false});
  const std::string pod_path = "/api/v1/namespaces/builds/pods/hephy-12-arm64";
  api_.OnPodCreated([](FakePod pod) {
    pod.SetTerminated("fetch-context", 0);
    pod.SetRunning("kaniko");
    pod.AppendLog("kaniko", "INFO[0000] RUN sleep 3600");
  });
  auto job = executor().Prepare(Spec());
  std::future<PlatformJobResult> result =
      std::async(std::launch::async, [&] { return job->Run([](std::string_view) {}); });
  ASSERT_TRUE(api_.WaitFor([&] { return Requests("GET", pod_path).size() >= 2; },
                           std::chrono::seconds(30)));
  const auto cancelled = std::chrono::steady_clock::now();
  job->Cancel();
  const PlatformJobResult ended = result.get();
  EXPECT_LT(std::chrono::steady_clock::now() - cancelled, std::chrono::milliseconds(500));
  EXPECT_EQ(ended.outcome, Outcome::kCancelled);
  EXPECT_EQ(Requests("GET", pod_path + "/log").size(), 2u);
  EXPECT_TRUE(PodGone("hephy-12-arm64"));
}

TEST_F(KanikoKubernetesTest, CredentialsGoInASecretOfTheJobDeletedWithThePod) {
  RunPodsToTheEnd({}, 0, kDigest);
  PlatformJobSpec spec = Spec();
  spec.registry_credentials = RegistryCredentials{.username = "pusher", .password = "pw"};
  std::vector<json> secrets_while_running;
  api_.OnPodCreated([&](FakePod pod) {
    secrets_while_running = api_.Objects("secrets", kNamespace);
    pod.SetTerminated("fetch-context", 0);
    pod.SetRunning("kaniko");
    pod.SetTerminated("kaniko", 0, "", kDigest);
  });
  ASSERT_EQ(executor().Prepare(spec)->Run([](std::string_view) {}).outcome, Outcome::kSucceeded);
  ASSERT_EQ(secrets_while_running.size(), 1u);
  EXPECT_EQ(secrets_while_running[0]["metadata"]["name"], "hephy-12-arm64-registry");
  EXPECT_EQ(secrets_while_running[0]["data"],
            KubeJobSecret({}, spec, "hephy-12-arm64-registry", "")["data"]);
  EXPECT_TRUE(api_.Objects("secrets", kNamespace).empty());
  EXPECT_EQ(Requests("DELETE", "/api/v1/namespaces/builds/secrets/hephy-12-arm64-registry").size(),
            1u);
  EXPECT_TRUE(PodGone("hephy-12-arm64"));
}

TEST_F(KanikoKubernetesTest, DeletesWithoutGraceInTheBackground) {
  RunPodsToTheEnd({}, 0, kDigest);
  ASSERT_EQ(executor().Prepare(Spec())->Run([](std::string_view) {}).outcome, Outcome::kSucceeded);
  const auto deletes = Requests("DELETE", "/api/v1/namespaces/builds/pods/hephy-12-arm64");
  ASSERT_EQ(deletes.size(), 1u);
  const json options = json::parse(deletes[0].body);
  EXPECT_EQ(options["gracePeriodSeconds"], 0);
  EXPECT_EQ(options["propagationPolicy"], "Background");
}

TEST_F(KanikoKubernetesTest, AForbiddenRequestNamesTheMissingPermission) {
  api_.Intercept([](const RecordedRequest& request) -> std::optional<FakeKubeApi::Answer> {
    if (request.method != "POST") return std::nullopt;
    return FakeKubeApi::Answer{
        403, FakeKubeApi::Status(403, "Forbidden",
                                 "pods is forbidden: User \"system:serviceaccount:hephy:hephyd\" "
                                 "cannot create resource \"pods\" in API group \"\" in the "
                                 "namespace \"builds\"")};
  });
  const PlatformJobResult result = executor().Prepare(Spec())->Run([](std::string_view) {});
  EXPECT_EQ(result.outcome, Outcome::kFailed);
  EXPECT_NE(result.error.find("pods is forbidden"), std::string::npos) << result.error;
  EXPECT_NE(result.error.find(
                "(hephyd's account needs the RBAC permission to create pods in namespace builds)"),
            std::string::npos)
      << result.error;
}

TEST_F(KanikoKubernetesTest, StopOrphansDeletesOnlyWhatHephydLabelled) {
  KubeClient client(api_.Cluster());
  const auto create = [&](const std::string& resource, const std::string& name, bool ours) {
    json object = {{"apiVersion", "v1"},
                   {"kind", resource == "pods" ? "Pod" : "Secret"},
                   {"metadata", {{"name", name}, {"labels", {{"app", "other"}}}}}};
    if (ours) object["metadata"]["labels"]["app.kubernetes.io/managed-by"] = "hephyd";
    if (resource == "pods") {
      object["spec"] = {{"containers", {{{"name", "kaniko"}, {"image", "k"}}}}};
    }
    client.Request("POST", "/api/v1/namespaces/builds/" + resource, object);
  };
  create("pods", "hephy-7-amd64", true);
  create("pods", "hephy-7-arm64", true);
  create("pods", "someone-elses", false);
  create("secrets", "hephy-7-amd64-registry", true);
  create("secrets", "someone-elses", false);

  EXPECT_EQ(executor().StopOrphans(), 2);
  std::vector<std::string> left;
  for (const std::string resource : {"pods", "secrets"}) {
    for (const auto& object : api_.Objects(resource, kNamespace)) {
      left.push_back(resource + "/" + object["metadata"]["name"].get<std::string>());
    }
  }
  EXPECT_EQ(left, (std::vector<std::string>{"pods/someone-elses", "secrets/someone-elses"}));
}

TEST_F(KanikoKubernetesTest, RequiresAContextUrl) {
  config_.builder.kubernetes.context_url.clear();
  try {
    executor();
    FAIL() << "no error";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("builder.kubernetes.context_url"), std::string::npos);
  }
}

// The scripted "Kaniko" builds and pushes a real image with buildah; the
// digest hephyd reports is the one the registry holds.
TEST_F(KanikoKubernetesTest, TheReportedDigestIsThePushedImages) {
  TestRegistry registry;
  BuildahExecutor buildah(BuildahConfig{}, dir_.path() / "builds");
  PlatformJobSpec spec = Spec("linux/amd64");
  spec.destination = registry.url() + "/app:app-1-amd64";
  api_.OnPodCreated([&](FakePod pod) {
    pod.SetTerminated("fetch-context", Fetch(pod) ? 0 : 1);
    pod.SetRunning("kaniko");
    PlatformJobSpec kaniko = spec;
    kaniko.work_dir = dir_.path() / "builds" / "kaniko";
    kaniko.network = NetworkMode::kNone;  // a COPY-only stand-in for the pod
    std::filesystem::create_directories(kaniko.work_dir);
    const PlatformJobResult built = buildah.Prepare(kaniko)->Run(
        [&](std::string_view line) { pod.AppendLog("kaniko", std::string(line)); });
    pod.SetTerminated("kaniko", built.outcome == Outcome::kSucceeded ? 0 : 1, "", built.digest);
  });
  std::vector<std::string> lines;
  const PlatformJobResult result =
      executor().Prepare(spec)->Run([&](std::string_view l) { lines.emplace_back(l); });
  ASSERT_EQ(result.outcome, Outcome::kSucceeded) << result.error;
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines.front(), "STEP 1/2: FROM scratch");
  EXPECT_EQ(RegistryClient(registry.url(), true).HeadManifest("app", "app-1-amd64"), result.digest);
}

}  // namespace
}  // namespace hephy

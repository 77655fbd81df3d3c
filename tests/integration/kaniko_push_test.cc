// A push built by kaniko-kubernetes, end to end: real git over real ssh to a
// real hephyd whose executor talks HTTPS to a Kubernetes API (a wire-level
// fake: no cluster runs here). The fake's "kubelet" plays each build pod:
// its init container fetches the context from hephyd's HTTP server with the
// pod's one-time token, and its "Kaniko" builds and pushes the image with
// real buildah to a real registry, printing its log through the pod log and
// its digest as the termination message. So the index hephyd stitches is
// real.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "build/image_tags.h"
#include "executors/buildah_executor.h"
#include "executors/kube_client.h"
#include "fake_kube_api.h"
#include "hephy/registry_client.h"
#include "net/http_connection.h"
#include "test_daemon.h"
#include "test_registry.h"

namespace hephy {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr char kNamespace[] = "hephy-builds";
constexpr char kToken[] = "kube-token-for-hephyd";

// The value of `--NAME=VALUE` among a container's args.
std::string Arg(const json& args, const std::string& name) {
  for (const auto& arg : args) {
    const std::string text = arg;
    if (text.starts_with("--" + name + "=")) return text.substr(name.size() + 3);
  }
  return "";
}

std::string Env(const json& container, const std::string& name) {
  for (const auto& var : container["env"]) {
    if (var["name"] == name) return var["value"];
  }
  return "";
}

// GET of a context URL with its token, as the init container's wget does.
HttpResponse FetchContext(const std::string& url, const std::string& token) {
  const std::string rest = url.substr(std::string("http://").size());
  const auto slash = rest.find('/');
  HttpConnection connection(ParseHostPort(rest.substr(0, slash), 80), 10s, 64 << 20);
  return connection.Send({"GET", rest.substr(slash), {{"Authorization", "Bearer " + token}}, ""});
}

class KanikoPushTest : public ::testing::Test {
 protected:
  KanikoPushTest() : api_({.tls_dir = scratch_.path() / "kube-ca", .token = kToken}) {}

  // hephyd with executor kaniko-kubernetes, its kubeconfig naming the fake
  // API over TLS, pods fetching contexts from hephyd's HTTP port, and
  // `kubernetes` (YAML lines) added to builder.kubernetes.
  void Start(const std::string& kubernetes = "") {
    const uint16_t http_port = FreeLoopbackPort();
    const auto kubeconfig = scratch_.path() / "kubeconfig";
    std::ofstream(kubeconfig) << "apiVersion: v1\nkind: Config\n"
                              << "clusters:\n- name: test\n  cluster:\n    server: " << api_.url()
                              << "\n    certificate-authority: " << api_.ca_certificate().string()
                              << "\nusers:\n- name: hephyd\n  user:\n    token: " << kToken
                              << "\ncontexts:\n- name: test\n  context: {cluster: test, user: "
                                 "hephyd, namespace: "
                              << kNamespace << "}\ncurrent-context: test\n";
    daemon_ = std::make_unique<TestDaemon>(
        "builder:\n  executor: kaniko-kubernetes\n  timeout: 10m\n  kubernetes:\n"
        "    kubeconfig: " +
            kubeconfig.string() + "\n    context_url: http://127.0.0.1:" +
            std::to_string(http_port) + "\n    node_selector: {pool: builders}\n" + kubernetes,
        registry_.url(), "", "  listen: 127.0.0.1:" + std::to_string(http_port) + "\n");
    alice_ = daemon_->AddUser("alice");
    daemon_->Start();
    src_ = daemon_->dir() / "src";
    MakeRepo(src_);
    std::ofstream(src_ / "hello.txt") << "hello from a pod\n";
    GitOk(src_, {"add", "hello.txt"});
    CommitFile(src_, "Dockerfile", "FROM scratch\nCOPY hello.txt /hello.txt\n", "app");
  }

  // Plays a build pod that succeeds: the context is fetched once with the
  // pod's token, and buildah builds and pushes what Kaniko would.
  void RunPod(FakePod pod) {
    const json spec = pod.Object()["spec"];
    {
      std::lock_guard lock(mutex_);
      pods_[pod.name()] = spec;
    }
    const json& init = spec["initContainers"][0];
    pod.SetRunning(init["name"]);
    const std::string url = Env(init, "HEPHY_CONTEXT_URL");
    const std::string token = Env(init, "HEPHY_CONTEXT_TOKEN");
    const HttpResponse context = FetchContext(url, token);
    const auto dir = scratch_.path() / pod.name();
    std::filesystem::create_directories(dir / "context");
    const RunResult untar =
        hephy::Run({.argv = {"tar", "-x", "-C", (dir / "context").string()}}, context.body);
    if (context.status != 200 || untar.exit_code != 0) {
      pod.SetTerminated(init["name"], 1, "Error", "cannot fetch the context");
      return;
    }
    {
      std::lock_guard lock(mutex_);
      used_contexts_.push_back({url, token});
    }
    pod.SetTerminated(init["name"], 0, "Completed");

    const json& kaniko = spec["containers"][0];
    pod.SetRunning("kaniko");
    PlatformJobSpec job;
    job.platform = Arg(kaniko["args"], "customPlatform");
    job.context_dir = dir / "context";
    job.dockerfile = std::filesystem::path(Arg(kaniko["args"], "dockerfile"))
                         .lexically_relative("/workspace")
                         .string();
    job.destination = Arg(kaniko["args"], "destination");
    job.insecure_registry = true;
    job.work_dir = dir / "job";
    job.network = NetworkMode::kNone;  // a COPY-only stand-in for the pod
    std::filesystem::create_directories(job.work_dir);
    BuildahExecutor buildah({}, scratch_.path());
    const auto result = buildah.Prepare(job)->Run(
        [&](std::string_view line) { pod.AppendLog("kaniko", std::string(line)); });
    if (result.outcome == PlatformJobResult::Outcome::kSucceeded) {
      pod.SetTerminated("kaniko", 0, "Completed", result.digest);
    } else {
      pod.SetTerminated("kaniko", 1, "Error", result.error);
    }
  }

  RunResult Push() { return daemon_->Git(alice_, {"push", daemon_->Url("web.git"), "main"}, src_); }

  std::string Head() { return GitOk(src_, {"rev-parse", "HEAD"}).substr(0, 40); }

  TestDir scratch_;
  TestRegistry registry_;
  FakeKubeApi api_;
  std::unique_ptr<TestDaemon> daemon_;
  TestKey alice_;
  std::filesystem::path src_;
  std::mutex mutex_;
  std::map<std::string, json> pods_;
  std::vector<std::pair<std::string, std::string>> used_contexts_;
};

TEST_F(KanikoPushTest, EachPlatformIsAPodWhoseImagesHephydStitches) {
  api_.OnPodCreated([this](FakePod pod) { RunPod(pod); });
  Start();
  const RunResult r = Push();
  ASSERT_EQ(r.exit_code, 0) << r.err;

  // Each platform's Kaniko log reached the pusher, prefixed.
  for (const std::string platform : {"linux/amd64", "linux/arm64"}) {
    EXPECT_NE(r.err.find("remote: [" + platform + "] STEP 2/2: COPY hello.txt /hello.txt"),
              std::string::npos)
        << r.err;
  }

  // One pod per platform, pinned to nodes of its architecture.
  {
    std::lock_guard lock(mutex_);
    ASSERT_EQ(pods_.size(), 2u);
    for (const std::string arch : {"amd64", "arm64"}) {
      const auto pod = std::find_if(pods_.begin(), pods_.end(), [&](const auto& entry) {
        return entry.second["nodeSelector"]["kubernetes.io/arch"] == arch;
      });
      ASSERT_NE(pod, pods_.end()) << arch;
      EXPECT_EQ(pod->second["nodeSelector"]["kubernetes.io/os"], "linux");
      EXPECT_EQ(pod->second["nodeSelector"]["pool"], "builders");
      EXPECT_EQ(pod->second["activeDeadlineSeconds"], 600);
      EXPECT_EQ(pod->second["restartPolicy"], "Never");
    }
  }

  // The index lists the images the pods pushed, by the digests from their
  // termination messages.
  const std::string tag = TagsFor("web", Head(), std::chrono::system_clock::now(), {}).default_tag;
  RegistryClient registry(registry_.url(), true);
  const json index = json::parse(registry.GetManifest("web", tag).body);
  ASSERT_EQ(index["manifests"].size(), 2u);
  for (const auto& child : index["manifests"]) {
    const std::string arch = child["platform"]["architecture"];
    EXPECT_EQ(registry.HeadManifest("web", tag + "-" + arch), child["digest"].get<std::string>());
  }

  // Every pod is deleted, and no context token works twice.
  EXPECT_TRUE(api_.WaitFor([&] { return api_.Objects("pods", kNamespace).empty(); }, 10s));
  std::lock_guard lock(mutex_);
  ASSERT_EQ(used_contexts_.size(), 2u);
  for (const auto& [url, token] : used_contexts_) {
    EXPECT_EQ(FetchContext(url, token).status, 404) << url;
  }
}

TEST_F(KanikoPushTest, AnUnschedulablePlatformRejectsThePushAndDeletesEveryPod) {
  api_.OnPodCreated([this](FakePod pod) {
    if (pod.Object()["spec"]["nodeSelector"]["kubernetes.io/arch"] == "arm64") {
      pod.SetCondition("PodScheduled", "False", "Unschedulable",
                       "0/3 nodes are available: 3 node(s) didn't match Pod's node "
                       "affinity/selector.");
      return;
    }
    // The other platform's pod starts and then waits: the failure cancels it.
    pod.SetRunning("fetch-context");
    pod.WaitDeleted(60s);
  });
  Start("    unschedulable_grace: 1s\n");
  const RunResult r = Push();
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("0/3 nodes are available"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("no node took it within 1s (builder.kubernetes.unschedulable_grace)"),
            std::string::npos)
      << r.err;
  EXPECT_TRUE(api_.WaitFor([&] { return api_.Objects("pods", kNamespace).empty(); }, 10s));
  const RunResult show = daemon_->Cli({"builds", "show", "1", "--json"});
  EXPECT_EQ(json::parse(show.out)["status"], "failed") << show.out;
}

// A cluster autoscaler adds an arm64 node after a while: the pusher is told
// what the build waits for, and the push goes through.
TEST_F(KanikoPushTest, ThePusherSeesTheWaitForANode) {
  api_.OnPodCreated([this](FakePod pod) {
    if (pod.Object()["spec"]["nodeSelector"]["kubernetes.io/arch"] == "arm64") {
      pod.SetCondition("PodScheduled", "False", "Unschedulable",
                       "0/3 nodes are available: 3 node(s) didn't match Pod's node "
                       "affinity/selector.");
      if (!daemon_->WaitForLog(" waits for a node: 0/3 nodes are available")) return;
      pod.Update([](json& object) { object["spec"]["nodeName"] = "arm64-node-1"; });
      pod.SetCondition("PodScheduled", "True");
    }
    RunPod(pod);
  });
  Start();
  const RunResult r = Push();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("remote: [linux/arm64] hephy: waiting for a node (0/3 nodes are "
                       "available: 3 node(s) didn't match Pod's node affinity/selector.); a "
                       "cluster autoscaler may add one, giving up in "),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("remote: [linux/arm64] hephy: the pod got a node (arm64-node-1) after "
                       "waiting "),
            std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find("[linux/amd64] hephy: waiting for a node"), std::string::npos) << r.err;
}

// The API server breaks a log stream off: the pusher and the build log
// still get every line of both platforms once.
TEST_F(KanikoPushTest, ABrokenLogStreamLosesAndDoublesNoLine) {
  api_.CutNextLog({.after_lines = 1, .broken = true});
  api_.OnPodCreated([this](FakePod pod) { RunPod(pod); });
  Start();
  const RunResult r = Push();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const RunResult logs = daemon_->Cli({"logs", "1"});
  ASSERT_EQ(logs.exit_code, 0) << logs.err;
  const auto count = [](const std::string& text, const std::string& needle) {
    size_t n = 0;
    for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
      ++n;
    }
    return n;
  };
  for (const std::string platform : {"linux/amd64", "linux/arm64"}) {
    for (const std::string step : {"STEP 1/2: FROM scratch", "STEP 2/2: COPY hello.txt"}) {
      EXPECT_EQ(count(r.err, "remote: [" + platform + "] " + step), 1u) << platform << r.err;
      EXPECT_EQ(count(logs.out, "[" + platform + "] " + step), 1u) << platform << logs.out;
    }
  }
  size_t log_requests = 0;
  for (const auto& request : api_.Requests()) log_requests += request.path.ends_with("/log");
  EXPECT_GE(log_requests, 3u);
}

TEST_F(KanikoPushTest, PodsACrashedHephydLeftAreDeletedAtStart) {
  KubeClient client(api_.Cluster());
  client.Request(
      "POST", std::string("/api/v1/namespaces/") + kNamespace + "/pods",
      json{{"metadata",
            {{"name", "hephy-7-amd64"}, {"labels", {{"app.kubernetes.io/managed-by", "hephyd"}}}}},
           {"spec", {{"containers", {{{"name", "kaniko"}, {"image", "k"}}}}}}});
  client.Request("POST", std::string("/api/v1/namespaces/") + kNamespace + "/pods",
                 json{{"metadata", {{"name", "someone-else"}}},
                      {"spec", {{"containers", {{{"name", "app"}, {"image", "a"}}}}}}});
  Start();
  EXPECT_TRUE(daemon_->WaitForLog("stopped 1 build job(s) left running"));
  const auto pods = api_.Objects("pods", kNamespace);
  ASSERT_EQ(pods.size(), 1u);
  EXPECT_EQ(pods[0]["metadata"]["name"], "someone-else");
}

}  // namespace
}  // namespace hephy

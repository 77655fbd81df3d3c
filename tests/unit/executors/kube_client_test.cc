#include "executors/kube_client.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <fstream>
#include <mutex>
#include <thread>

#include "error_of.h"
#include "fake_http_server.h"
#include "fake_kube_api.h"
#include "net/http_connection.h"
#include "test_dir.h"

namespace hephy {
namespace {

using nlohmann::json;
using std::chrono::seconds;

constexpr auto kWait = seconds(10);

json PodManifest(const std::string& name, json labels = json::object()) {
  return {{"apiVersion", "v1"},
          {"kind", "Pod"},
          {"metadata", {{"name", name}, {"labels", labels}}},
          {"spec",
           {{"restartPolicy", "Never"},
            {"initContainers", {{{"name", "context"}, {"image", "busybox"}}}},
            {"containers", {{{"name", "kaniko"}, {"image", "kaniko"}}}}}}};
}

// Lines a Stream hands on, as they arrive, for a test thread to wait on.
class Lines {
 public:
  bool Add(std::string_view line) {
    const std::lock_guard lock(mutex_);
    lines_.emplace_back(line);
    arrived_.notify_all();
    return true;
  }
  bool WaitFor(size_t count) {
    std::unique_lock lock(mutex_);
    return arrived_.wait_for(lock, kWait, [&] { return lines_.size() >= count; });
  }
  std::vector<std::string> Get() {
    const std::lock_guard lock(mutex_);
    return lines_;
  }
  json Event(size_t i) { return json::parse(Get().at(i)); }

 private:
  std::mutex mutex_;
  std::condition_variable arrived_;
  std::vector<std::string> lines_;
};

const std::string kPods = "/api/v1/namespaces/builds/pods";

TEST(KubeClient, CreatesGetsListsAndDeletesPods) {
  FakeKubeApi api;
  KubeClient client(api.Cluster());
  const json created =
      client.Request("POST", kPods, PodManifest("p1", {{"app", "web"}, {"job", "1"}}));
  EXPECT_EQ(created["metadata"]["namespace"], "builds");
  EXPECT_FALSE(created["metadata"]["uid"].get<std::string>().empty());
  EXPECT_FALSE(created["metadata"]["resourceVersion"].get<std::string>().empty());
  EXPECT_EQ(created["status"]["phase"], "Pending");
  client.Request("POST", kPods, PodManifest("p2", {{"app", "web"}, {"job", "2"}}));

  EXPECT_EQ(client.Request("GET", kPods + "/p1")["metadata"]["uid"], created["metadata"]["uid"]);
  const json list =
      client.Request("GET", kPods + "?labelSelector=" + KubeQueryEscape("app=web,job=1"));
  EXPECT_EQ(list["kind"], "PodList");
  ASSERT_EQ(list["items"].size(), 1u);
  EXPECT_EQ(list["items"][0]["metadata"]["name"], "p1");
  EXPECT_EQ(client.Request("GET", kPods + "?labelSelector=app%3Dweb")["items"].size(), 2u);

  const json deleted = client.Request("DELETE", kPods + "/p1?gracePeriodSeconds=0");
  EXPECT_EQ(deleted["metadata"]["name"], "p1");
  try {
    client.Request("GET", kPods + "/p1");
    FAIL() << "no KubeError";
  } catch (const KubeError& e) {
    EXPECT_EQ(e.status(), 404);
    EXPECT_EQ(e.reason(), "NotFound");
    EXPECT_STREQ(e.what(),
                 "GET /api/v1/namespaces/builds/pods/p1: 404 Not Found: pods \"p1\" not found");
  }
}

// The KubeError a request throws.
template <class F>
KubeError KubeErrorOf(F f) {
  try {
    f();
  } catch (const KubeError& e) {
    return e;
  }
  ADD_FAILURE() << "no KubeError thrown";
  return KubeError(0, "", "");
}

TEST(KubeClient, ErrorStatusesBecomeKubeErrorsWithTheirReason) {
  FakeKubeApi api;
  KubeClient client(api.Cluster());
  client.Request("POST", kPods, PodManifest("p"));
  const KubeError duplicate = KubeErrorOf([&] { client.Request("POST", kPods, PodManifest("p")); });
  EXPECT_EQ(duplicate.status(), 409);
  EXPECT_EQ(duplicate.reason(), "AlreadyExists");
  json nameless = PodManifest("");
  nameless["metadata"].erase("name");
  const KubeError invalid = KubeErrorOf([&] { client.Request("POST", kPods, nameless); });
  EXPECT_EQ(invalid.status(), 422);
  EXPECT_EQ(invalid.reason(), "Invalid");

  const std::string forbidden =
      "pods is forbidden: User \"system:serviceaccount:hephy:hephyd\" cannot create resource "
      "\"pods\" in API group \"\" in the namespace \"x\"";
  api.Intercept([&](const RecordedRequest& r) -> std::optional<FakeKubeApi::Answer> {
    if (r.method != "POST") return std::nullopt;
    return FakeKubeApi::Answer{403, FakeKubeApi::Status(403, "Forbidden", forbidden)};
  });
  const KubeError refused =
      KubeErrorOf([&] { client.Request("POST", "/api/v1/namespaces/x/pods", PodManifest("q")); });
  EXPECT_EQ(refused.status(), 403);
  EXPECT_EQ(refused.reason(), "Forbidden");
  EXPECT_EQ(std::string(refused.what()),
            "POST /api/v1/namespaces/x/pods: 403 Forbidden: " + forbidden);
}

TEST(KubeClient, SendsTheBearerTokenAndJson) {
  FakeKubeApi api({.token = "s3cret"});
  KubeClient client(api.Cluster());
  client.Request("POST", kPods, PodManifest("p"));
  const RecordedRequest sent = api.Requests().at(0);
  EXPECT_EQ(sent.headers.at("authorization"), "Bearer s3cret");
  EXPECT_EQ(sent.headers.at("accept"), "application/json");
  EXPECT_EQ(sent.headers.at("content-type"), "application/json");
  EXPECT_EQ(sent.headers.at("user-agent"), "hephyd/" HEPHY_VERSION);
  EXPECT_EQ(json::parse(sent.body)["metadata"]["name"], "p");

  KubeCluster anonymous = api.Cluster();
  anonymous.token.clear();
  const KubeError unauthorized =
      KubeErrorOf([&] { KubeClient(anonymous).Request("GET", kPods + "/p"); });
  EXPECT_EQ(unauthorized.status(), 401);
  EXPECT_EQ(unauthorized.reason(), "Unauthorized");
}

TEST(KubeClient, ReadsTheTokenFileAgainForEveryRequest) {
  TestDir dir;
  FakeKubeApi api;
  KubeCluster cluster = api.Cluster();
  cluster.token_file = dir.path() / "token";
  std::ofstream(cluster.token_file) << "first\n";
  KubeClient client(cluster);
  client.Request("GET", kPods);
  std::ofstream(cluster.token_file) << "second\n";
  client.Request("GET", kPods);
  EXPECT_EQ(api.Requests().at(0).headers.at("authorization"), "Bearer first");
  EXPECT_EQ(api.Requests().at(1).headers.at("authorization"), "Bearer second");
}

TEST(KubeClient, WatchEventsArriveOneByOneAsThePodChanges) {
  FakeKubeApi api;
  KubeClient client(api.Cluster());
  const json created = client.Request("POST", kPods, PodManifest("p"));
  FakePod pod = *api.Pod("builds", "p");
  Lines lines;
  bool ended = false;
  std::thread watching([&] {
    ended = client.Stream(
        kPods + "?watch=true&fieldSelector=" + KubeQueryEscape("metadata.name=p") +
            "&resourceVersion=" + created["metadata"]["resourceVersion"].get<std::string>(),
        [&](std::string_view line) { return lines.Add(line); }, {});
  });
  // Each change is made only once the previous one was received: a stream
  // handed on at its end would stall here.
  pod.SetCondition("PodScheduled", "False", "Unschedulable",
                   "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector.");
  ASSERT_TRUE(lines.WaitFor(1));
  pod.SetRunning("context");
  ASSERT_TRUE(lines.WaitFor(2));
  // A request on another thread while the stream is open.
  client.Request("DELETE", kPods + "/p");
  watching.join();
  EXPECT_TRUE(ended);
  ASSERT_EQ(lines.Get().size(), 3u);
  EXPECT_EQ(lines.Event(0)["type"], "MODIFIED");
  EXPECT_EQ(lines.Event(0)["object"]["status"]["conditions"][0]["reason"], "Unschedulable");
  EXPECT_EQ(
      lines.Event(1)["object"]["status"]["containerStatuses"][0]["state"]["waiting"]["reason"],
      "PodInitializing");
  EXPECT_EQ(lines.Event(2)["type"], "DELETED");
}

TEST(KubeClient, AFollowedLogArrivesLineByLineUntilTheContainerEnds) {
  FakeKubeApi api;
  KubeClient client(api.Cluster());
  client.Request("POST", kPods, PodManifest("p"));
  FakePod pod = *api.Pod("builds", "p");
  pod.SetRunning("kaniko");
  Lines lines;
  bool ended = false;
  std::thread following([&] {
    ended = client.Stream(kPods + "/p/log?container=kaniko&follow=true",
                          [&](std::string_view line) { return lines.Add(line); }, {});
  });
  for (size_t i = 1; i <= 3; ++i) {
    pod.AppendLog("kaniko", "STEP " + std::to_string(i));
    ASSERT_TRUE(lines.WaitFor(i)) << "line " << i << " did not arrive on its own";
  }
  pod.SetTerminated("kaniko", 0, "", "sha256:0123");
  following.join();
  EXPECT_TRUE(ended);
  EXPECT_EQ(lines.Get(), (std::vector<std::string>{"STEP 1", "STEP 2", "STEP 3"}));
  EXPECT_EQ(pod.Object()["status"]["phase"], "Succeeded");
}

TEST(KubeClient, TheLogOfAContainerNotStartedIsRefusedAsTheApiDoes) {
  FakeKubeApi api;
  KubeClient client(api.Cluster());
  client.Request("POST", kPods, PodManifest("p"));
  api.Pod("builds", "p")->SetRunning("context");
  const KubeError waiting = KubeErrorOf([&] {
    client.Stream(kPods + "/p/log?container=kaniko&follow=true",
                  [](std::string_view) { return true; }, {});
  });
  EXPECT_EQ(waiting.status(), 400);
  EXPECT_EQ(waiting.reason(), "BadRequest");
  EXPECT_EQ(
      std::string(waiting.what()),
      "GET /api/v1/namespaces/builds/pods/p/log?container=kaniko&follow=true: 400 Bad Request: "
      "container \"kaniko\" in pod \"p\" is waiting to start: PodInitializing");
}

TEST(KubeClient, AStopRequestEndsABlockedStreamAtOnce) {
  FakeKubeApi api;
  KubeClient client(api.Cluster());
  client.Request("POST", kPods, PodManifest("p"));
  Lines lines;
  std::stop_source stop;
  bool ended = true;
  std::thread watching([&] {
    ended = client.Stream(
        kPods + "?watch=true", [&](std::string_view line) { return lines.Add(line); },
        stop.get_token());
  });
  ASSERT_TRUE(lines.WaitFor(1));  // the ADDED event: the stream is open, and now quiet
  const auto asked = std::chrono::steady_clock::now();
  stop.request_stop();
  watching.join();
  EXPECT_LT(std::chrono::steady_clock::now() - asked, std::chrono::milliseconds(500));
  EXPECT_FALSE(ended);
  EXPECT_EQ(lines.Event(0)["type"], "ADDED");
}

TEST(KubeClient, OnLineReturningFalseEndsTheStream) {
  FakeKubeApi api;
  KubeClient client(api.Cluster());
  client.Request("POST", kPods, PodManifest("a"));
  client.Request("POST", kPods, PodManifest("b"));
  int seen = 0;
  EXPECT_FALSE(
      client.Stream(kPods + "?watch=true", [&](std::string_view) { return ++seen < 1; }, {}));
  EXPECT_EQ(seen, 1);
}

TEST(KubeClient, AScriptedPodRunsToCompletion) {
  FakeKubeApi api;
  std::atomic<bool> script_saw_deletion = false;
  api.OnPodCreated([&](FakePod pod) {
    pod.SetCondition("PodScheduled", "True");
    pod.SetRunning("context");
    pod.SetTerminated("context", 0);
    pod.SetRunning("kaniko");
    pod.AppendLog("kaniko", "INFO[0000] Pushed registry/app@sha256:abc");
    pod.SetTerminated("kaniko", 0, "", "sha256:abc");
    script_saw_deletion = pod.WaitDeleted(kWait);
  });
  KubeClient client(api.Cluster());
  client.Request("POST", kPods, PodManifest("p"));
  ASSERT_TRUE(api.WaitFor(
      [&] {
        const auto pod = api.Pod("builds", "p");
        return pod && pod->Object()["status"]["phase"] == "Succeeded";
      },
      kWait));
  EXPECT_EQ(api.Pod("builds", "p")->Container("kaniko")["image"], "kaniko");
  const json pod = client.Request("GET", kPods + "/p");
  EXPECT_EQ(pod["status"]["containerStatuses"][0]["state"]["terminated"]["message"], "sha256:abc");
  EXPECT_EQ(pod["status"]["initContainerStatuses"][0]["state"]["terminated"]["reason"],
            "Completed");
  Lines log;
  EXPECT_TRUE(client.Stream(kPods + "/p/log?container=kaniko",
                            [&](std::string_view l) { return log.Add(l); }, {}));
  EXPECT_EQ(log.Get(), std::vector<std::string>{"INFO[0000] Pushed registry/app@sha256:abc"});
  client.Request("DELETE", kPods + "/p");
  ASSERT_TRUE(api.WaitFor([&] { return script_saw_deletion.load(); }, kWait));
}

TEST(KubeClient, StoresSecretsAsGiven) {
  FakeKubeApi api;
  KubeClient client(api.Cluster());
  const std::string secrets = "/api/v1/namespaces/builds/secrets";
  client.Request("POST", secrets,
                 json{{"apiVersion", "v1"},
                      {"kind", "Secret"},
                      {"metadata", {{"name", "registry"}}},
                      {"stringData", {{"config.json", "{}"}}}});
  EXPECT_EQ(client.Request("GET", secrets + "/registry")["data"]["config.json"], "e30=");
  EXPECT_EQ(client.Request("DELETE", secrets + "/registry")["status"], "Success");
  EXPECT_EQ(KubeErrorOf([&] { client.Request("DELETE", secrets + "/registry"); }).status(), 404);
}

TEST(KubeClient, SpeaksTlsWithTheClusterCaAndABearerToken) {
  TestDir dir;
  FakeKubeApi api({.tls_dir = dir.path(), .token = "s3cret"});
  KubeClient client(api.Cluster());
  EXPECT_EQ(client.Request("POST", kPods, PodManifest("p"))["metadata"]["name"], "p");
  EXPECT_EQ(api.Requests().at(0).headers.at("authorization"), "Bearer s3cret");
}

TEST(KubeClient, SpeaksTlsWithAClientCertificate) {
  TestDir dir;
  FakeKubeApi api({.tls_dir = dir.path(), .client_certificates = true});
  KubeClient client(api.Cluster("system:serviceaccount:hephy:hephyd"));
  client.Request("GET", kPods);
  EXPECT_EQ(api.Requests().at(0).user, "system:serviceaccount:hephy:hephyd");

  const std::string refused = ErrorOf([&] { KubeClient(api.Cluster()).Request("GET", kPods); });
  EXPECT_TRUE(refused.starts_with("GET " + kPods + ": ")) << refused;
  EXPECT_NE(refused.find("certificate required"), std::string::npos) << refused;
}

TEST(KubeClient, AServerCertificateFromAnotherCaIsRefused) {
  TestDir dir;
  FakeKubeApi api({.tls_dir = dir.path() / "api"});
  TestCa other(dir.path() / "other");
  KubeCluster cluster = api.Cluster();
  std::ostringstream pem;
  pem << std::ifstream(other.certificate()).rdbuf();
  cluster.ca_pem = pem.str();
  EXPECT_EQ(ErrorOf([&] { KubeClient(cluster).Request("GET", kPods); }),
            "GET " + kPods + ": TLS handshake with " + api.url() +
                " failed: certificate verify failed (unable to get local issuer certificate)");

  cluster.insecure_skip_tls_verify = true;
  EXPECT_EQ(KubeClient(cluster).Request("GET", kPods)["kind"], "PodList");
}

TEST(KubeClient, AnUnreachableServerIsAConnectionError) {
  KubeClient client({.server = "http://127.0.0.1:1"}, seconds(5));
  try {
    client.Request("GET", kPods);
    FAIL() << "no ConnectionError";
  } catch (const ConnectionError& e) {
    EXPECT_STREQ(
        e.what(),
        ("GET " + kPods + ": cannot connect to http://127.0.0.1:1: Connection refused").c_str());
  }
}

TEST(KubeClient, AServerThatDoesNotAnswerTimesOut) {
  SilentServer silent;
  KubeClient client({.server = "http://" + silent.url()}, std::chrono::milliseconds(200));
  try {
    client.Stream(kPods + "?watch=true", [](std::string_view) { return true; }, {});
    FAIL() << "no ConnectionError";
  } catch (const ConnectionError& e) {
    EXPECT_EQ(std::string(e.what()), "GET " + kPods + "?watch=true: no response within 200 ms");
  }
}

TEST(KubeClient, RefusesAServerUrlItCannotUse) {
  EXPECT_EQ(ErrorOf([] { KubeClient({.server = "ftp://kube:21"}); }),
            "Kubernetes API server 'ftp://kube:21': only http:// and https:// are supported");
  EXPECT_EQ(ErrorOf([] { KubeClient({.server = "https://kube:x"}); }),
            "Kubernetes API server 'https://kube:x': 'kube:x': bad port 'x' (expected host[:port], "
            "e.g. 127.0.0.1:5000)");
  EXPECT_EQ(ErrorOf([] {
              KubeClient({.server = "https://kube", .ca_pem = "junk"});
            }).rfind("certificate authority: not PEM certificates: ", 0),
            0u);
}

TEST(KubeQueryEscape, EscapesSelectorsForAQuery) {
  EXPECT_EQ(KubeQueryEscape("app=web,job!=1"), "app%3Dweb%2Cjob%21%3D1");
  EXPECT_EQ(KubeQueryEscape("hephy.dev/build-id=a_b-c.d~"), "hephy.dev%2Fbuild-id%3Da_b-c.d~");
}

}  // namespace
}  // namespace hephy

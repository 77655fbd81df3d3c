#include "executors/kaniko_kubernetes_executor.h"

#include <atomic>
#include <condition_variable>
#include <fstream>
#include <iterator>
#include <mutex>
#include <stop_token>
#include <thread>

#include "executors/kaniko_pod_status.h"
#include "executors/kube_pod_spec.h"
#include "hephy/error.h"
#include "net/http_connection.h"
#include "registry/image_index.h"
#include "util/logging.h"

namespace hephy {
namespace {

using nlohmann::json;
using Outcome = PlatformJobResult::Outcome;

// Broken watches in a row after which the job fails.
constexpr int kWatchAttempts = 5;

// The API said 403: name the permission hephyd's account lacks, which the
// API's own message does not always make plain to an admin.
Error ExplainedApiError(const KubeError& error, const std::string& verb,
                        const std::string& resource, const std::string& namespace_name) {
  if (error.status() != 403) return error;
  return Error(std::string(error.what()) + " (hephyd's account needs the RBAC permission to " +
               verb + " " + resource + " in namespace " + namespace_name + ")");
}

// Calls `expire` at `when` on a thread of its own, unless destroyed before.
class Alarm {
 public:
  Alarm(std::chrono::steady_clock::time_point when, std::function<void()> expire)
      : thread_([when, expire = std::move(expire)](std::stop_token disarmed) {
          std::mutex mutex;
          std::condition_variable_any woken;
          std::unique_lock lock(mutex);
          woken.wait_until(lock, disarmed, when, [] { return false; });
          if (!disarmed.stop_requested()) expire();
        }) {}

 private:
  std::jthread thread_;
};

class KanikoPodJob : public PlatformJob {
 public:
  KanikoPodJob(const KubernetesConfig& config, const KanikoConfig& kaniko, KubeClient& client,
               BuildContexts& contexts, const std::string& namespace_name, PlatformJobSpec spec,
               std::string ca_pem)
      : config_(config),
        kaniko_(kaniko),
        client_(client),
        contexts_(contexts),
        namespace_(namespace_name),
        spec_(std::move(spec)),
        ca_pem_(std::move(ca_pem)),
        name_(KubePodName(spec_)),
        context_job_(KubeContextJobName(spec_)),
        secret_(NeedsJobSecret(config_, spec_) ? name_ + "-registry" : ""),
        status_{.pod_name = name_,
                .kaniko_image = kaniko_.image,
                .init_image = config_.init_image,
                .arch = ParsePlatform(spec_.platform).architecture} {}

  PlatformJobResult Run(const std::function<void(std::string_view)>& on_line) override {
    if (stop_.stop_requested()) return Stopped();
    const Alarm job_timer(std::chrono::steady_clock::now() + spec_.timeout,
                          [this] { Stop(StopReason::kTimedOut); });
    PlatformJobResult result;
    try {
      result = Build(on_line);
    } catch (const std::exception& error) {
      result = stop_.stop_requested() ? Stopped() : FailedJob(error.what());
    }
    CleanUp();
    return result;
  }

  void Cancel() override { Stop(StopReason::kCancelled); }

 private:
  enum class StopReason { kNone, kCancelled, kTimedOut, kStartTimeout };

  PlatformJobResult Build(const std::function<void(std::string_view)>& on_line) {
    const std::string context_url = ContextUrlBase() + "/api/v1/contexts/" + context_job_;
    const std::string token =
        contexts_.Issue(context_job_, spec_.context_dir, config_.start_timeout);
    if (!secret_.empty()) {
      secret_created_ = true;  // before the request: it may be made even if the answer is lost
      Api("create", "secrets", [&] {
        return client_.Request("POST", Collection("secrets"),
                               KubeJobSecret(config_, spec_, secret_, ca_pem_));
      });
    }
    pod_created_ = true;
    json pod = Api("create", "pods", [&] {
      return client_.Request("POST", Collection("pods"),
                             KubePod(config_, kaniko_, spec_,
                                     {.name = name_,
                                      .context_url = context_url,
                                      .context_token = token,
                                      .job_secret = secret_}));
    });

    PodDecision started;
    {
      const Alarm start_timer(std::chrono::steady_clock::now() + config_.start_timeout,
                              [this] { Stop(StopReason::kStartTimeout); });
      started = Watch(std::move(pod), [this](const json& p) { return status_.Start(p); });
    }
    if (started.kind == PodDecision::kEnd) return started.result;

    Api("get", "pods/log", [&] {
      client_.Stream(
          Collection("pods") + "/" + name_ + "/log?container=" + kKanikoContainer + "&follow=true",
          [&](std::string_view line) {
            on_line(line);
            return true;
          },
          stop_.get_token());
      return json();
    });
    if (stop_.stop_requested()) return Stopped();
    return Watch(last_pod_, [this](const json& p) { return status_.End(p); }).result;
  }

  // Follows the pod from `pod` on (watch events, from its resourceVersion)
  // until `decide` says other than wait, or the job is stopped. A watch the
  // server ends is resumed from the last version seen; one that has expired
  // (410 Gone) from a fresh read of the pod.
  PodDecision Watch(json pod, const std::function<PodDecision(const json&)>& decide) {
    size_t events_seen = 0;
    int broken = 0;  // watches in a row that broke without an event
    for (;;) {
      last_pod_ = pod;
      if (stop_.stop_requested()) return {PodDecision::kEnd, Stopped()};
      PodDecision decision = decide(pod);
      if (decision.kind != PodDecision::kWait) return decision;
      std::optional<PodDecision> decided;
      bool expired = false;
      std::string failure;
      const std::string target = Collection("pods") + "?watch=true&fieldSelector=" +
                                 KubeQueryEscape("metadata.name=" + name_) +
                                 "&resourceVersion=" + PodText(pod, "/metadata/resourceVersion");
      const size_t events_before = events_seen;
      try {
        Api("watch", "pods", [&] {
          client_.Stream(
              target,
              [&](std::string_view line) {
                const json event = json::parse(line, nullptr, false);
                if (!event.is_object()) return true;
                const std::string type = PodText(event, "/type");
                const json& object = event.contains("object") ? event["object"] : json();
                if (type == "ERROR") {
                  if (object.is_object() && object.contains("code") && object.at("code") == 410) {
                    expired = true;
                  } else {
                    failure = "watching pod " + name_ + " failed: " + PodText(object, "/message");
                  }
                  return false;
                }
                if (type == "DELETED") {
                  failure = "pod " + name_ + " was deleted while the job ran";
                  return false;
                }
                if (type != "ADDED" && type != "MODIFIED") return true;
                ++events_seen;
                pod = object;
                last_pod_ = pod;
                PodDecision next = decide(pod);
                if (next.kind == PodDecision::kWait) return true;
                decided = std::move(next);
                return false;
              },
              stop_.get_token());
          return json();
        });
      } catch (const ConnectionError& error) {
        // An API server restarting breaks watches; give up only when
        // reconnecting brings nothing, time after time.
        broken = events_seen == events_before ? broken + 1 : 1;
        if (broken >= kWatchAttempts) throw;
      }
      if (decided) return *decided;
      if (stop_.stop_requested()) return {PodDecision::kEnd, Stopped()};
      if (!failure.empty()) return {PodDecision::kEnd, FailedJob(failure)};
      if (expired) {
        pod = Api("get", "pods", [&] { return client_.Request("GET", PodPath()); });
      }
    }
  }

  void Stop(StopReason reason) {
    StopReason none = StopReason::kNone;
    stop_reason_.compare_exchange_strong(none, reason);
    stop_.request_stop();
  }

  PlatformJobResult Stopped() const {
    PlatformJobResult result;
    switch (stop_reason_.load()) {
      case StopReason::kTimedOut:
        return TimedOutJob();
      case StopReason::kStartTimeout:
        return FailedJob("pod " + name_ + " did not start its kaniko container within " +
                         std::to_string(config_.start_timeout.count()) +
                         "s (builder.kubernetes.start_timeout)" + status_.PendingState(last_pod_));
      case StopReason::kNone:
      case StopReason::kCancelled:
        break;
    }
    result.outcome = Outcome::kCancelled;
    result.error = "cancelled";
    return result;
  }

  // Runs one API call; a 403 is explained in terms of the Role hephyd needs.
  json Api(const std::string& verb, const std::string& resource,
           const std::function<json()>& call) const {
    try {
      return call();
    } catch (const KubeError& error) {
      throw ExplainedApiError(error, verb, resource, namespace_);
    }
  }

  // Never throws: the job's outcome stands whatever the deletes do.
  void CleanUp() {
    contexts_.Revoke(context_job_);
    if (pod_created_) Delete("pods", name_);
    if (secret_created_) Delete("secrets", secret_);
  }

  void Delete(const std::string& resource, const std::string& name) {
    const json options = {{"apiVersion", "v1"},
                          {"kind", "DeleteOptions"},
                          {"gracePeriodSeconds", 0},
                          {"propagationPolicy", "Background"}};
    try {
      client_.Request("DELETE", Collection(resource) + "/" + name, options);
    } catch (const KubeError& error) {
      if (error.status() == 404) return;
      ComponentLogger("kubernetes")
          ->warn("cannot delete {} {}: {}", resource, name,
                 ExplainedApiError(error, "delete", resource, namespace_).what());
    } catch (const std::exception& error) {
      ComponentLogger("kubernetes")->warn("cannot delete {} {}: {}", resource, name, error.what());
    }
  }

  std::string ContextUrlBase() const {
    std::string url = config_.context_url;
    while (url.ends_with('/')) url.pop_back();
    return url;
  }
  std::string Collection(const std::string& resource) const {
    return "/api/v1/namespaces/" + namespace_ + "/" + resource;
  }
  std::string PodPath() const { return Collection("pods") + "/" + name_; }

  const KubernetesConfig& config_;
  const KanikoConfig& kaniko_;
  KubeClient& client_;
  BuildContexts& contexts_;
  const std::string namespace_;
  const PlatformJobSpec spec_;
  const std::string ca_pem_;
  const std::string name_;
  const std::string context_job_;
  const std::string secret_;  // empty: none of the job's own
  const KanikoPodStatus status_;
  std::stop_source stop_;
  std::atomic<StopReason> stop_reason_ = StopReason::kNone;
  bool pod_created_ = false;
  bool secret_created_ = false;
  json last_pod_;
};

KubeCluster ClusterOf(const KubernetesConfig& config) {
  if (config.kubeconfig.empty()) return InClusterKube();
  return KubeconfigKube(config.kubeconfig, config.context);
}

std::string ReadCa(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error("registry.ca_file " + file.string() + ": cannot read it for the build pods");
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

KanikoKubernetesExecutor::KanikoKubernetesExecutor(const Config& config, BuildContexts& contexts)
    : KanikoKubernetesExecutor(config, ClusterOf(config.builder.kubernetes), contexts) {}

KanikoKubernetesExecutor::KanikoKubernetesExecutor(const Config& config, KubeCluster cluster,
                                                   BuildContexts& contexts)
    : config_(config.builder.kubernetes), kaniko_(config.builder.kaniko), contexts_(contexts) {
  if (config_.context_url.empty()) {
    throw Error(
        "builder.kubernetes.context_url: required by the kaniko-kubernetes executor (the URL "
        "at which build pods reach hephyd's HTTP server, e.g. http://hephyd.hephy.svc:8080)");
  }
  namespace_ = !config_.namespace_name.empty()      ? config_.namespace_name
               : !cluster.default_namespace.empty() ? cluster.default_namespace
                                                    : "default";
  client_ = std::make_unique<KubeClient>(std::move(cluster));
}

KanikoKubernetesExecutor::~KanikoKubernetesExecutor() = default;

std::unique_ptr<PlatformJob> KanikoKubernetesExecutor::Prepare(const PlatformJobSpec& spec) {
  const bool private_ca = !spec.insecure_registry && !spec.registry_ca_file.empty();
  return std::make_unique<KanikoPodJob>(config_, kaniko_, *client_, contexts_, namespace_, spec,
                                        private_ca ? ReadCa(spec.registry_ca_file) : "");
}

int KanikoKubernetesExecutor::StopOrphans() {
  const std::string selector =
      "?labelSelector=" + KubeQueryEscape(std::string(kManagedByLabel) + "=" + kManagedByValue);
  const json options = {{"apiVersion", "v1"},
                        {"kind", "DeleteOptions"},
                        {"gracePeriodSeconds", 0},
                        {"propagationPolicy", "Background"}};
  int stopped = 0;
  for (const std::string resource : {"pods", "secrets"}) {
    const std::string collection = "/api/v1/namespaces/" + namespace_ + "/" + resource;
    json list;
    try {
      list = client_->Request("GET", collection + selector);
    } catch (const KubeError& error) {
      throw ExplainedApiError(error, "list", resource, namespace_);
    }
    const bool listed = list.is_object() && list.contains("items") && list.at("items").is_array();
    for (const auto& item : listed ? list.at("items") : json::array()) {
      const std::string name = PodText(item, "/metadata/name");
      try {
        client_->Request("DELETE", collection + "/" + name, options);
        if (resource == "pods") ++stopped;
      } catch (const KubeError& error) {
        if (error.status() == 404) continue;  // gone meanwhile
        throw ExplainedApiError(error, "delete", resource, namespace_);
      }
    }
  }
  if (stopped > 0) {
    ComponentLogger("kubernetes")
        ->info("deleted {} build pod(s) left in namespace {} by an earlier hephyd", stopped,
               namespace_);
  }
  return stopped;
}

}  // namespace hephy

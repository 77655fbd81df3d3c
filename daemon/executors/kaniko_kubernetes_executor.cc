#include "executors/kaniko_kubernetes_executor.h"

#include <atomic>
#include <condition_variable>
#include <fstream>
#include <iterator>
#include <mutex>
#include <stop_token>
#include <thread>

#include "executors/kaniko_pod_status.h"
#include "executors/kube_log_resume.h"
#include "executors/kube_pod_spec.h"
#include "hephy/error.h"
#include "net/http_connection.h"
#include "registry/image_index.h"
#include "util/duration.h"
#include "util/logging.h"

namespace hephy {
namespace {

using nlohmann::json;
using Outcome = PlatformJobResult::Outcome;

// Broken watches in a row after which the job fails.
constexpr int kWatchAttempts = 5;
// Log streams in a row that may break without bringing a new line before
// the job fails, and the pause before reopening the next: none for the
// first, then doubling up to the longest, about 45 seconds in all, which an
// API server restarting should not outlast.
constexpr int kLogAttempts = 8;
constexpr std::chrono::milliseconds kLogFirstPause{1000};
constexpr std::chrono::milliseconds kLogLongestPause{15000};

// Why a job was stopped before its end: the first reason wins.
enum class StopReason { kNone, kCancelled, kTimedOut, kStartTimeout, kUnschedulable };

// The API said 403: name the permission hephyd's account lacks, which the
// API's own message does not always make plain to an admin.
Error ExplainedApiError(const KubeError& error, const std::string& verb,
                        const std::string& resource, const std::string& namespace_name) {
  if (error.status() != 403) return error;
  return Error(std::string(error.what()) + " (hephyd's account needs the RBAC permission to " +
               verb + " " + resource + " in namespace " + namespace_name + ")");
}

// Calls `expire` with the reason it was last armed with once the time it
// was armed for has come, on a thread of its own; arming again replaces
// both; nothing is called once it is destroyed.
class Alarm {
 public:
  using Clock = std::chrono::steady_clock;

  explicit Alarm(std::function<void(StopReason)> expire)
      : expire_(std::move(expire)), thread_([this](std::stop_token disarmed) { Wait(disarmed); }) {}

  void Arm(Clock::time_point when, StopReason reason) {
    {
      const std::lock_guard lock(mutex_);
      when_ = when;
      reason_ = reason;
    }
    rearmed_.notify_all();
  }

 private:
  void Wait(std::stop_token disarmed) {
    std::unique_lock lock(mutex_);
    while (!disarmed.stop_requested()) {
      if (!when_) {
        rearmed_.wait(lock, disarmed, [this] { return when_.has_value(); });
        continue;
      }
      const Clock::time_point when = *when_;
      if (rearmed_.wait_until(lock, disarmed, when, [&] { return when_ != when; })) continue;
      if (disarmed.stop_requested()) return;
      const StopReason reason = reason_;
      lock.unlock();
      expire_(reason);
      return;
    }
  }

  const std::function<void(StopReason)> expire_;
  std::mutex mutex_;
  std::condition_variable_any rearmed_;
  std::optional<Clock::time_point> when_;
  StopReason reason_ = StopReason::kNone;
  std::jthread thread_;  // last: runs once the rest exists
};

// "1m5s": how long `duration` is, in whole seconds rounded up.
std::string Span(std::chrono::steady_clock::duration duration) {
  return FormatDuration(std::chrono::ceil<std::chrono::seconds>(duration));
}

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
    deadline_ = Alarm::Clock::now() + spec_.timeout;
    Alarm job_timer([this](StopReason reason) { Stop(reason); });
    job_timer.Arm(deadline_, StopReason::kTimedOut);
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
  PlatformJobResult Build(const std::function<void(std::string_view)>& on_line) {
    const std::string context_url = ContextUrlBase() + "/api/v1/contexts/" + context_job_;
    // The init container fetches it once the pod has started, which may
    // take start_timeout after waiting for a node.
    const std::string token = contexts_.Issue(context_job_, spec_.context_dir,
                                              config_.start_timeout + config_.unschedulable_grace);
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
      Alarm start_timer([this](StopReason reason) { Stop(reason); });
      start_timer.Arm(Alarm::Clock::now() + config_.start_timeout, StopReason::kStartTimeout);
      started =
          Watch(std::move(pod), [&](const json& p) { return Starting(p, start_timer, on_line); });
    }
    if (started.kind == PodDecision::kEnd) return started.result;

    FollowLog(on_line);
    if (stop_.stop_requested()) return Stopped();
    return Watch(last_pod_, [this](const json& p) { return status_.End(p); }).result;
  }

  // How the pod starts (KanikoPodStatus::Start). While no node can take it,
  // it waits for one up to unschedulable_grace in place of start_timeout,
  // which starts over once it has one; the pusher is told either way.
  PodDecision Starting(const json& pod, Alarm& start_timer,
                       const std::function<void(std::string_view)>& on_line) {
    PodDecision decision = status_.Start(pod);
    if (decision.kind == PodDecision::kEnd) return decision;
    const auto now = Alarm::Clock::now();
    const std::optional<std::string> unschedulable =
        decision.kind == PodDecision::kWait ? status_.Unschedulable(pod) : std::nullopt;
    if (unschedulable) {
      if (config_.unschedulable_grace.count() == 0) {
        return {PodDecision::kEnd, status_.UnschedulableFailure(*unschedulable, {})};
      }
      const bool first = !waiting_since_;
      if (first) {
        waiting_since_ = now;
        start_timer.Arm(now + config_.unschedulable_grace, StopReason::kUnschedulable);
      }
      if (first || *unschedulable != scheduler_message_) {
        scheduler_message_ = *unschedulable;
        // The job's own deadline may come first.
        const auto give_up = std::min(*waiting_since_ + config_.unschedulable_grace, deadline_);
        const std::string when =
            Span(give_up - now) + (give_up == deadline_ ? " (builder.timeout)" : "");
        on_line(first ? "hephy: waiting for a node (" + scheduler_message_ +
                            "); a cluster autoscaler may add one, giving up in " + when
                      : "hephy: still waiting for a node (" + scheduler_message_ +
                            "), giving up in " + when);
        ComponentLogger("kubernetes")
            ->info("pod {} waits for a node: {}", name_, scheduler_message_);
      }
      return decision;
    }
    if (waiting_since_ && !got_node_ &&
        (decision.kind == PodDecision::kProceed || status_.Scheduled(pod))) {
      got_node_ = true;
      start_timer.Arm(now + config_.start_timeout, StopReason::kStartTimeout);
      const std::string node = PodText(pod, "/spec/nodeName");
      on_line("hephy: the pod got a node" + (node.empty() ? "" : " (" + node + ")") +
              " after waiting " + Span(now - *waiting_since_) + " for one");
      ComponentLogger("kubernetes")
          ->info("pod {} got a node{} after waiting {}", name_,
                 node.empty() ? "" : " (" + node + ")", Span(now - *waiting_since_));
    }
    return decision;
  }

  // Streams the Kaniko container's log to `on_line` until the container
  // has ended or the job is stopped. A stream that breaks, or that the
  // server ends while the container still runs, is reopened from the last
  // line received (KubeLogResume), up to kLogAttempts times in a row
  // without a new line, pausing longer each time.
  void FollowLog(const std::function<void(std::string_view)>& on_line) {
    KubeLogResume resume;
    int failures = 0;  // streams in a row that brought no new line
    for (;;) {
      const std::string target =
          PodPath() + "/log?container=" + kKanikoContainer + "&follow=true" + resume.NextStream();
      bool progressed = false;
      std::string broken;
      try {
        Api("get", "pods/log", [&] {
          client_.Stream(
              target,
              [&](std::string_view line) {
                if (const std::optional<std::string_view> text = resume.Take(line)) {
                  progressed = true;
                  on_line(*text);
                }
                return true;
              },
              stop_.get_token());
          return json();
        });
        if (stop_.stop_requested()) return;
        // The server ends the log when the container ends, but the pod's
        // status may say so a moment later.
        const json pod = Api("get", "pods", [&] { return client_.Request("GET", PodPath()); });
        last_pod_ = pod;
        if (status_.End(pod).kind != PodDecision::kWait) return;
        broken = "the stream ended while the kaniko container runs";
      } catch (const ConnectionError& error) {
        if (stop_.stop_requested()) return;
        broken = error.what();
      }
      failures = progressed ? 1 : failures + 1;
      if (failures >= kLogAttempts) {
        throw Error("following the log of pod " + name_ + ": " + broken + " (" +
                    std::to_string(failures) + " times in a row)");
      }
      ComponentLogger("kubernetes")->debug("pod {}: reopening the log: {}", name_, broken);
      if (!Pause(failures == 1
                     ? std::chrono::milliseconds(0)
                     : std::min(kLogLongestPause, kLogFirstPause * (1 << (failures - 2))))) {
        return;
      }
    }
  }

  // Waits `pause`; false when the job was stopped meanwhile (at once).
  bool Pause(std::chrono::milliseconds pause) {
    std::mutex mutex;
    std::condition_variable_any woken;
    std::unique_lock lock(mutex);
    woken.wait_for(lock, stop_.get_token(), pause, [] { return false; });
    return !stop_.stop_requested();
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
                         FormatDuration(config_.start_timeout) +
                         (got_node_ ? " of getting a node" : "") +
                         " (builder.kubernetes.start_timeout)" + status_.PendingState(last_pod_));
      case StopReason::kUnschedulable:
        return status_.UnschedulableFailure(scheduler_message_, config_.unschedulable_grace);
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
  Alarm::Clock::time_point deadline_;  // of the job (builder.timeout)
  // Since when the pod waits for a node, and what the scheduler said last.
  std::optional<Alarm::Clock::time_point> waiting_since_;
  std::string scheduler_message_;
  bool got_node_ = false;  // after waiting for one
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

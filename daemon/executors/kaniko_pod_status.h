// How a Kaniko job's pod reads, as the Kubernetes API returns it: whether to
// wait, go on, or end the job, and the failure an admin is shown, naming the
// container, image or node that is at fault.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "hephy/executor.h"

namespace hephy {

inline constexpr char kKanikoInitContainer[] = "fetch-context";
inline constexpr char kKanikoContainer[] = "kaniko";

// What a look at the pod decided: wait for a later state, go on to the job's
// next phase, or end the job with `result`.
struct PodDecision {
  enum Kind { kWait, kProceed, kEnd } kind = kWait;
  PlatformJobResult result;
};

// One job's pod and what its messages name.
struct KanikoPodStatus {
  std::string pod_name;
  std::string kaniko_image;  // of the kaniko container
  std::string init_image;    // of the init container that fetches the context
  std::string arch;          // the node architecture the pod asks for

  // Until the Kaniko container runs: fails fast on what waiting will not
  // cure. A pod no node can take yet is waited for (see Unschedulable).
  PodDecision Start(const nlohmann::json& pod) const;
  // The scheduler's message while it reports that no node can take the pod
  // now (PodScheduled False, reason Unschedulable), which a cluster
  // autoscaler may cure by adding one; nullopt otherwise.
  std::optional<std::string> Unschedulable(const nlohmann::json& pod) const;
  // Whether the pod has a node (PodScheduled True, or spec.nodeName set).
  bool Scheduled(const nlohmann::json& pod) const;
  // The job's failure when no node took the pod: the scheduler's `message`,
  // and with a `grace` other than 0 how long it waited for one.
  PlatformJobResult UnschedulableFailure(const std::string& message,
                                         std::chrono::seconds grace) const;
  // After the log: the job's result once the Kaniko container has ended.
  PodDecision End(const nlohmann::json& pod) const;
  // "; it is Pending: fetch-context ContainerCreating", what `pod` was doing.
  std::string PendingState(const nlohmann::json& pod) const;

 private:
  std::optional<PlatformJobResult> InitFailure(const nlohmann::json& pod) const;
  PlatformJobResult PodFailure(const nlohmann::json& pod) const;
};

// The string at JSON pointer `pointer` in `object`, or "".
std::string PodText(const nlohmann::json& object, const char* pointer);

PlatformJobResult FailedJob(std::string error, std::optional<int> exit_code = std::nullopt);
PlatformJobResult TimedOutJob();

}  // namespace hephy

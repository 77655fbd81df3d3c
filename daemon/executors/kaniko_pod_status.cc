#include "executors/kaniko_pod_status.h"

#include <cctype>
#include <regex>

#include "util/duration.h"

namespace hephy {
namespace {

using nlohmann::json;
using Outcome = PlatformJobResult::Outcome;

// Waiting reasons of a container that will not start by waiting longer.
bool IsStartFailure(const std::string& reason) {
  return reason == "ErrImagePull" || reason == "ImagePullBackOff" || reason == "InvalidImageName" ||
         reason == "CreateContainerConfigError" || reason == "CreateContainerError";
}

// The status of container `name` in the pod's `list` (containerStatuses or
// initContainerStatuses), or null.
const json* ContainerStatus(const json& pod, const char* list, const std::string& name) {
  const json::json_pointer where(std::string("/status/") + list);
  if (!pod.contains(where) || !pod.at(where).is_array()) return nullptr;
  for (const auto& status : pod.at(where)) {
    if (PodText(status, "/name") == name) return &status;
  }
  return nullptr;
}

// The condition `type` of the pod's status.conditions, or null.
const json* PodCondition(const json& pod, const std::string& type) {
  const json::json_pointer where("/status/conditions");
  if (!pod.contains(where) || !pod.at(where).is_array()) return nullptr;
  for (const auto& condition : pod.at(where)) {
    if (PodText(condition, "/type") == type) return &condition;
  }
  return nullptr;
}

// " (reason): message", the parts that are there.
std::string ReasonAndMessage(const std::string& reason, const std::string& message) {
  std::string text;
  if (!reason.empty()) text += " (" + reason + ")";
  if (!message.empty()) text += ": " + message;
  return text;
}

std::string TrimmedMessage(std::string message) {
  while (!message.empty() && std::isspace(static_cast<unsigned char>(message.back()))) {
    message.pop_back();
  }
  const auto start = message.find_first_not_of(" \t\r\n");
  return start == std::string::npos ? "" : message.substr(start);
}

// The terminated state of the Kaniko container: its digest file is the
// termination message.
PlatformJobResult KanikoResult(const json& terminated) {
  const json::json_pointer exit_code("/exitCode");
  const int status = terminated.is_object() && terminated.contains(exit_code) &&
                             terminated.at(exit_code).is_number_integer()
                         ? terminated.at(exit_code).get<int>()
                         : -1;
  const std::string message = TrimmedMessage(PodText(terminated, "/message"));
  if (status != 0) {
    const std::string reason = PodText(terminated, "/reason");
    return FailedJob("kaniko exited with status " + std::to_string(status) +
                         (reason.empty() || reason == "Error" ? "" : " (" + reason + ")") +
                         (message.empty() ? "" : ": " + message),
                     status);
  }
  static const std::regex kDigest("sha256:[0-9a-f]{64}");
  if (!std::regex_match(message, kDigest)) {
    return FailedJob("kaniko succeeded but its termination message is not an image digest: '" +
                         message.substr(0, 100) + "'",
                     0);
  }
  PlatformJobResult result;
  result.outcome = Outcome::kSucceeded;
  result.exit_code = 0;
  result.digest = message;
  return result;
}

}  // namespace

std::string PodText(const json& object, const char* pointer) {
  const json::json_pointer where(pointer);
  if (!object.is_object() || !object.contains(where) || !object.at(where).is_string()) return "";
  return object.at(where).get<std::string>();
}

PlatformJobResult FailedJob(std::string error, std::optional<int> exit_code) {
  PlatformJobResult result;
  result.outcome = Outcome::kFailed;
  result.exit_code = exit_code;
  result.error = std::move(error);
  return result;
}

PlatformJobResult TimedOutJob() {
  PlatformJobResult result;
  result.outcome = Outcome::kTimedOut;
  result.error = "timed out (builder.timeout)";
  return result;
}

PodDecision KanikoPodStatus::Start(const json& pod) const {
  const std::string phase = PodText(pod, "/status/phase");
  if (phase == "Failed") return {PodDecision::kEnd, PodFailure(pod)};
  if (phase == "Succeeded") return {PodDecision::kProceed, {}};
  if (auto failure = InitFailure(pod)) return {PodDecision::kEnd, *failure};
  if (const json* kaniko = ContainerStatus(pod, "containerStatuses", kKanikoContainer)) {
    const std::string reason = PodText(*kaniko, "/state/waiting/reason");
    if (IsStartFailure(reason)) {
      return {PodDecision::kEnd,
              FailedJob("the kaniko container (image " + kaniko_image + ") cannot start" +
                        ReasonAndMessage(reason, PodText(*kaniko, "/state/waiting/message")))};
    }
    if (kaniko->contains(json::json_pointer("/state/running")) ||
        kaniko->contains(json::json_pointer("/state/terminated"))) {
      return {PodDecision::kProceed, {}};
    }
  }
  return {};
}

std::optional<std::string> KanikoPodStatus::Unschedulable(const json& pod) const {
  if (Scheduled(pod)) return std::nullopt;
  const json* condition = PodCondition(pod, "PodScheduled");
  if (condition == nullptr || PodText(*condition, "/status") != "False" ||
      PodText(*condition, "/reason") != "Unschedulable") {
    return std::nullopt;
  }
  return TrimmedMessage(PodText(*condition, "/message"));
}

bool KanikoPodStatus::Scheduled(const json& pod) const {
  if (!PodText(pod, "/spec/nodeName").empty()) return true;
  const json* condition = PodCondition(pod, "PodScheduled");
  return condition != nullptr && PodText(*condition, "/status") == "True";
}

PlatformJobResult KanikoPodStatus::UnschedulableFailure(const std::string& message,
                                                        std::chrono::seconds grace) const {
  std::string error = "pod " + pod_name + " cannot be scheduled: " + message +
                      " (is there a node with kubernetes.io/arch=" + arch + "?)";
  if (grace.count() > 0) {
    error += "; no node took it within " + FormatDuration(grace) +
             " (builder.kubernetes.unschedulable_grace)";
  }
  return FailedJob(error);
}

PodDecision KanikoPodStatus::End(const json& pod) const {
  // Past its deadline the kaniko container is killed: that is a timeout,
  // not Kaniko's failure.
  if (PodText(pod, "/status/reason") == "DeadlineExceeded") {
    return {PodDecision::kEnd, TimedOutJob()};
  }
  if (const json* kaniko = ContainerStatus(pod, "containerStatuses", kKanikoContainer)) {
    if (kaniko->contains(json::json_pointer("/state/terminated"))) {
      return {PodDecision::kEnd, KanikoResult(kaniko->at(json::json_pointer("/state/terminated")))};
    }
  }
  const std::string phase = PodText(pod, "/status/phase");
  if (phase == "Failed") return {PodDecision::kEnd, PodFailure(pod)};
  if (phase == "Succeeded") {
    return {PodDecision::kEnd,
            FailedJob("pod " + pod_name + " succeeded without a kaniko container status")};
  }
  return {};
}

std::optional<PlatformJobResult> KanikoPodStatus::InitFailure(const json& pod) const {
  const json* init = ContainerStatus(pod, "initContainerStatuses", kKanikoInitContainer);
  if (init == nullptr) return std::nullopt;
  const std::string reason = PodText(*init, "/state/waiting/reason");
  if (IsStartFailure(reason)) {
    return FailedJob("the init container " + std::string(kKanikoInitContainer) + " (image " +
                     init_image + ") cannot start" +
                     ReasonAndMessage(reason, PodText(*init, "/state/waiting/message")));
  }
  const json::json_pointer exit_code("/state/terminated/exitCode");
  if (init->contains(exit_code) && init->at(exit_code).is_number_integer() &&
      init->at(exit_code).get<int>() != 0) {
    const int status = init->at(exit_code).get<int>();
    return FailedJob(
        "the init container " + std::string(kKanikoInitContainer) +
            " (fetching the build context) exited with status " + std::to_string(status) +
            ReasonAndMessage("", TrimmedMessage(PodText(*init, "/state/terminated/message"))),
        status);
  }
  return std::nullopt;
}

PlatformJobResult KanikoPodStatus::PodFailure(const json& pod) const {
  const std::string reason = PodText(pod, "/status/reason");
  if (reason == "DeadlineExceeded") return TimedOutJob();
  if (auto failure = InitFailure(pod)) return *failure;
  if (const json* kaniko = ContainerStatus(pod, "containerStatuses", kKanikoContainer)) {
    if (kaniko->contains(json::json_pointer("/state/terminated"))) {
      return KanikoResult(kaniko->at(json::json_pointer("/state/terminated")));
    }
  }
  return FailedJob("pod " + pod_name + " failed" +
                   ReasonAndMessage(reason, PodText(pod, "/status/message")));
}

std::string KanikoPodStatus::PendingState(const json& pod) const {
  std::string text = "; it is " + PodText(pod, "/status/phase");
  for (const char* list : {"initContainerStatuses", "containerStatuses"}) {
    for (const char* name : {kKanikoInitContainer, kKanikoContainer}) {
      if (const json* status = ContainerStatus(pod, list, name)) {
        const std::string reason = PodText(*status, "/state/waiting/reason");
        if (!reason.empty()) text += ", " + std::string(name) + " " + reason;
      }
    }
  }
  return text;
}

}  // namespace hephy

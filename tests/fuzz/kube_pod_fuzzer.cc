// libFuzzer target: a pod object from the Kubernetes API, as hephyd reads
// how a Kaniko job's pod is doing and how it ended (its termination message
// included).
#include <nlohmann/json.hpp>

#include "executors/kaniko_pod_status.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto pod = nlohmann::json::parse(hephy::Text(data, size), nullptr, false);
  if (pod.is_discarded()) return 0;
  const hephy::KanikoPodStatus status{"hephy-1-amd64", "kaniko:v1", "busybox:1", "amd64"};
  status.Start(pod);
  status.End(pod);
  status.PendingState(pod);
  if (const auto message = status.Unschedulable(pod)) {
    status.UnschedulableFailure(*message, std::chrono::seconds(300));
  }
  status.Scheduled(pod);
  hephy::PodText(pod, "/status/phase");
  return 0;
}

// The kaniko-kubernetes executor: one Kaniko pod per platform job on a
// Kubernetes cluster, pinned to nodes of the job's architecture. The pod
// fetches its context from hephyd's HTTP server with a one-time token
// (BuildContexts), its Kaniko container's log is followed through the API
// server and streamed to the pusher, and the image's digest comes back as
// the container's termination message. Whatever the outcome, the pod (and
// the Secret hephyd made for it) is deleted and the token revoked.
#pragma once

#include <memory>
#include <string>

#include "executors/build_contexts.h"
#include "executors/kube_client.h"
#include "hephy/config.h"
#include "hephy/executor.h"

namespace hephy {

class KanikoKubernetesExecutor : public Executor {
 public:
  // Talks to the cluster of builder.kubernetes.kubeconfig, or the one it
  // runs in when that is empty. Throws Error when builder.kubernetes.context_url
  // is empty or the cluster's credentials cannot be used.
  KanikoKubernetesExecutor(const Config& config, BuildContexts& contexts);
  // The same with the cluster given (tests).
  KanikoKubernetesExecutor(const Config& config, KubeCluster cluster, BuildContexts& contexts);
  ~KanikoKubernetesExecutor() override;

  std::unique_ptr<PlatformJob> Prepare(const PlatformJobSpec& spec) override;
  // Deletes every pod and Secret labelled app.kubernetes.io/managed-by=hephyd
  // in the build namespace (one hephyd per namespace: it cannot tell another
  // hephyd's pods from its own orphans). Returns how many pods it deleted.
  // Throws Error when the pods cannot be listed.
  int StopOrphans() override;

  // The namespace the pods go to: builder.kubernetes.namespace, else the
  // credentials' own, else "default".
  const std::string& namespace_name() const { return namespace_; }

 private:
  KubernetesConfig config_;
  KanikoConfig kaniko_;
  BuildContexts& contexts_;
  std::unique_ptr<KubeClient> client_;
  std::string namespace_;
};

}  // namespace hephy

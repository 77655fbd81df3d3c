// The Kubernetes objects of one kaniko-kubernetes platform job, as JSON for
// the v1 API: its Pod (an init container fetching the context, the Kaniko
// container building and pushing) and the Secret hephyd creates for it when
// the pod needs the registry's credentials or CA and config names no Secret.
// Pure functions of their arguments: everything the cluster will run is
// decided here, and tested field by field.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "hephy/config.h"
#include "hephy/executor.h"

namespace hephy {

// The label every object hephyd creates carries, and its value: how orphans
// of a crashed hephyd are found.
inline constexpr char kManagedByLabel[] = "app.kubernetes.io/managed-by";
inline constexpr char kManagedByValue[] = "hephyd";

// Where the Kaniko container finds the job's context, its credentials and
// the registry's CA.
inline constexpr char kWorkspaceDir[] = "/workspace";
inline constexpr char kDockerConfigDir[] = "/kaniko/.docker";
inline constexpr char kRegistryCaDir[] = "/kaniko/hephy-registry-ca";

// "hephy-12-arm64", "hephy-12-arm-v7", and the os too when it is not linux
// ("hephy-12-windows-amd64"): a DNS-1123 label naming the job's pod.
std::string KubePodName(const PlatformJobSpec& spec);

// "12-linux-arm64": the job's name for BuildContexts and its URL.
std::string KubeContextJobName(const PlatformJobSpec& spec);

// The labels of the job's objects: managed-by, hephy/build and hephy/platform
// (the arch).
std::map<std::string, std::string> KubeJobLabels(const PlatformJobSpec& spec);

// Whether hephyd creates a Secret for the job: it has registry credentials
// and builder.kubernetes.registry_secret names none, or it must trust a
// private CA (registry.ca_file).
bool NeedsJobSecret(const KubernetesConfig& config, const PlatformJobSpec& spec);

// The job's own Secret named `name`: "config.json" (the docker config with
// the job's credentials) when config names no registry_secret, "ca.crt"
// (`ca_pem`) when the job trusts a private CA.
nlohmann::json KubeJobSecret(const KubernetesConfig& config, const PlatformJobSpec& spec,
                             const std::string& name, const std::string& ca_pem);

// What a job's Pod needs besides the config and the spec.
struct KubePodInputs {
  std::string name;           // KubePodName
  std::string context_url;    // the job's context: {context_url}/api/v1/contexts/{job}
  std::string context_token;  // its one-time token (BuildContexts::Issue)
  std::string job_secret;     // the job's Secret; empty when NeedsJobSecret is false
};

// The Pod: restartPolicy Never, activeDeadlineSeconds the job's timeout,
// nodeSelector kubernetes.io/os and kubernetes.io/arch of the platform plus
// config's, config's tolerations, service account and the kaniko
// container's resources; no service-account token mounted. The init
// container runs a fixed script that reads the URL and token from its
// environment (never from argv) and unpacks the tar into the workspace.
nlohmann::json KubePod(const KubernetesConfig& config, const KanikoConfig& kaniko,
                       const PlatformJobSpec& spec, const KubePodInputs& inputs);

}  // namespace hephy

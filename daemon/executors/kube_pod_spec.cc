#include "executors/kube_pod_spec.h"

#include <algorithm>
#include <cctype>

#include "executors/kaniko_args.h"
#include "registry/docker_config.h"
#include "registry/image_index.h"
#include "util/base64.h"

namespace hephy {
namespace {

// The init container's whole program. The URL and token come from its
// environment, so that they are in no process's argv outside the pod, and
// no job input is ever parsed by a shell. Its output is the container's
// termination message on failure (FallbackToLogsOnError), which hephyd
// reports.
constexpr char kFetchContextScript[] =
    "set -eu\n"
    "archive=/workspace/.hephy-context.tar\n"
    "if ! wget -q -O \"$archive\" --header \"Authorization: Bearer $HEPHY_CONTEXT_TOKEN\" "
    "\"$HEPHY_CONTEXT_URL\"; then\n"
    "  echo \"cannot fetch the build context from $HEPHY_CONTEXT_URL\" >&2\n"
    "  exit 1\n"
    "fi\n"
    "tar -x -f \"$archive\" -C /workspace\n"
    "rm -f \"$archive\"\n";

// The registry part of "host[:port]/repository:tag".
std::string RegistryOf(const std::string& destination) {
  return destination.substr(0, destination.find('/'));
}

bool TrustsPrivateCa(const PlatformJobSpec& spec) {
  return !spec.insecure_registry && !spec.registry_ca_file.empty();
}

bool JobSecretHoldsCredentials(const KubernetesConfig& config, const PlatformJobSpec& spec) {
  return spec.registry_credentials.has_value() && config.registry_secret.empty();
}

// Lower case letters, digits and '-' only, as DNS-1123 labels allow.
std::string DnsLabelPart(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) {
    return std::isalnum(c) ? static_cast<char>(std::tolower(c)) : '-';
  });
  return text;
}

nlohmann::json Tolerations(const std::vector<KubeToleration>& tolerations) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& toleration : tolerations) {
    nlohmann::json entry = {{"operator", toleration.op}};
    if (!toleration.key.empty()) entry["key"] = toleration.key;
    if (!toleration.value.empty()) entry["value"] = toleration.value;
    if (!toleration.effect.empty()) entry["effect"] = toleration.effect;
    if (toleration.toleration_seconds) entry["tolerationSeconds"] = *toleration.toleration_seconds;
    list.push_back(std::move(entry));
  }
  return list;
}

nlohmann::json Resources(const KubernetesConfig& config) {
  nlohmann::json resources = nlohmann::json::object();
  if (!config.requests.empty()) resources["requests"] = config.requests;
  if (!config.limits.empty()) resources["limits"] = config.limits;
  return resources;
}

nlohmann::json InitContainer(const KubernetesConfig& config, const KubePodInputs& inputs) {
  return {
      {"name", "fetch-context"},
      {"image", config.init_image},
      {"command", {"/bin/sh", "-c", kFetchContextScript}},
      {"env",
       {{{"name", "HEPHY_CONTEXT_URL"}, {"value", inputs.context_url}},
        {{"name", "HEPHY_CONTEXT_TOKEN"}, {"value", inputs.context_token}}}},
      {"volumeMounts", {{{"name", "workspace"}, {"mountPath", kWorkspaceDir}}}},
      {"terminationMessagePolicy", "FallbackToLogsOnError"},
      // wget and tar need no privilege: nobody, writing only the workspace.
      {"securityContext",
       {{"runAsNonRoot", true},
        {"runAsUser", 65534},
        {"runAsGroup", 65534},
        {"readOnlyRootFilesystem", true},
        {"allowPrivilegeEscalation", false},
        {"capabilities", {{"drop", {"ALL"}}}}}},
  };
}

nlohmann::json KanikoContainer(const KubernetesConfig& config, const KanikoConfig& kaniko,
                               const PlatformJobSpec& spec) {
  const std::string ca_file = TrustsPrivateCa(spec) ? std::string(kRegistryCaDir) + "/ca.crt" : "";
  nlohmann::json mounts = {{{"name", "workspace"}, {"mountPath", kWorkspaceDir}}};
  if (spec.registry_credentials || !config.registry_secret.empty()) {
    mounts.push_back(
        {{"name", "docker-config"}, {"mountPath", kDockerConfigDir}, {"readOnly", true}});
  }
  if (!ca_file.empty()) {
    mounts.push_back({{"name", "registry-ca"}, {"mountPath", kRegistryCaDir}, {"readOnly", true}});
  }
  nlohmann::json container = {
      {"name", "kaniko"},
      {"image", kaniko.image},
      {"args", KanikoArgs(spec, {.context = std::string("dir://") + kWorkspaceDir,
                                 .digest_file = "/dev/termination-log",
                                 .registry_certificate = ca_file})},
      {"volumeMounts", std::move(mounts)},
      // The digest file is the termination message: it must hold the digest
      // alone, never the log's tail.
      {"terminationMessagePath", "/dev/termination-log"},
      {"terminationMessagePolicy", "File"},
      // Kaniko unpacks images and runs RUN steps as root in its own
      // container: never privileged, no way to gain more, and only the
      // capabilities unpacking files and package managers use.
      {"securityContext",
       {{"privileged", false},
        {"allowPrivilegeEscalation", false},
        {"capabilities",
         {{"drop", {"ALL"}},
          {"add",
           {"CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID",
            "SETFCAP"}}}}}},
  };
  if (auto resources = Resources(config); !resources.empty()) {
    container["resources"] = std::move(resources);
  }
  return container;
}

nlohmann::json Volumes(const KubernetesConfig& config, const PlatformJobSpec& spec,
                       const KubePodInputs& inputs) {
  nlohmann::json volumes = {{{"name", "workspace"}, {"emptyDir", nlohmann::json::object()}}};
  if (!config.registry_secret.empty() || spec.registry_credentials) {
    const std::string& secret =
        config.registry_secret.empty() ? inputs.job_secret : config.registry_secret;
    volumes.push_back({{"name", "docker-config"},
                       {"secret",
                        {{"secretName", secret},
                         {"items", {{{"key", "config.json"}, {"path", "config.json"}}}}}}});
  }
  if (TrustsPrivateCa(spec)) {
    volumes.push_back({{"name", "registry-ca"},
                       {"secret",
                        {{"secretName", inputs.job_secret},
                         {"items", {{{"key", "ca.crt"}, {"path", "ca.crt"}}}}}}});
  }
  return volumes;
}

}  // namespace

std::string KubePodName(const PlatformJobSpec& spec) {
  const Platform platform = ParsePlatform(spec.platform);
  std::string name = "hephy-" + std::to_string(spec.build_id) + "-";
  if (platform.os != "linux") name += DnsLabelPart(platform.os) + "-";
  name += DnsLabelPart(platform.architecture);
  if (!platform.variant.empty()) name += "-" + DnsLabelPart(platform.variant);
  return name;
}

std::string KubeContextJobName(const PlatformJobSpec& spec) {
  return std::to_string(spec.build_id) + "-" + DnsLabelPart(spec.platform);
}

std::map<std::string, std::string> KubeJobLabels(const PlatformJobSpec& spec) {
  return {{kManagedByLabel, kManagedByValue},
          {"hephy/build", std::to_string(spec.build_id)},
          {"hephy/platform", ParsePlatform(spec.platform).architecture}};
}

bool NeedsJobSecret(const KubernetesConfig& config, const PlatformJobSpec& spec) {
  return JobSecretHoldsCredentials(config, spec) || TrustsPrivateCa(spec);
}

nlohmann::json KubeJobSecret(const KubernetesConfig& config, const PlatformJobSpec& spec,
                             const std::string& name, const std::string& ca_pem) {
  nlohmann::json data = nlohmann::json::object();
  if (JobSecretHoldsCredentials(config, spec)) {
    data["config.json"] =
        Base64Encode(AuthFileFor(RegistryOf(spec.destination), *spec.registry_credentials));
  }
  if (TrustsPrivateCa(spec)) data["ca.crt"] = Base64Encode(ca_pem);
  return {
      {"apiVersion", "v1"},
      {"kind", "Secret"},
      {"metadata", {{"name", name}, {"labels", KubeJobLabels(spec)}}},
      {"type", "Opaque"},
      {"data", std::move(data)},
  };
}

nlohmann::json KubePod(const KubernetesConfig& config, const KanikoConfig& kaniko,
                       const PlatformJobSpec& spec, const KubePodInputs& inputs) {
  const Platform platform = ParsePlatform(spec.platform);
  nlohmann::json node_selector = config.node_selector;
  // The platform's own labels win: a pod on another architecture would
  // build an image that cannot run its RUN steps.
  node_selector["kubernetes.io/os"] = platform.os;
  node_selector["kubernetes.io/arch"] = platform.architecture;
  nlohmann::json pod_spec = {
      {"restartPolicy", "Never"},
      {"activeDeadlineSeconds", spec.timeout.count()},
      {"automountServiceAccountToken", false},
      {"enableServiceLinks", false},
      {"securityContext", {{"seccompProfile", {{"type", "RuntimeDefault"}}}}},
      {"nodeSelector", std::move(node_selector)},
      {"initContainers", {InitContainer(config, inputs)}},
      {"containers", {KanikoContainer(config, kaniko, spec)}},
      {"volumes", Volumes(config, spec, inputs)},
  };
  if (!config.tolerations.empty()) pod_spec["tolerations"] = Tolerations(config.tolerations);
  if (!config.service_account.empty()) pod_spec["serviceAccountName"] = config.service_account;
  return {
      {"apiVersion", "v1"},
      {"kind", "Pod"},
      {"metadata", {{"name", inputs.name}, {"labels", KubeJobLabels(spec)}}},
      {"spec", std::move(pod_spec)},
  };
}

}  // namespace hephy

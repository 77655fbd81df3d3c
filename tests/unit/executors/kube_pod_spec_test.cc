#include "executors/kube_pod_spec.h"

#include <gtest/gtest.h>

#include "error_of.h"
#include "executors/kaniko_args.h"
#include "registry/docker_config.h"
#include "util/base64.h"

namespace hephy {
namespace {

using nlohmann::json;

PlatformJobSpec Spec(const std::string& platform = "linux/arm64") {
  PlatformJobSpec spec;
  spec.build_id = 12;
  spec.platform = platform;
  spec.context_dir = "/data/builds/12/context";
  spec.dockerfile = "deploy/Dockerfile";
  spec.target = "runtime";
  spec.build_args = {"A=1", "B=two words"};
  spec.destination = "registry.example:5000/app:app-20251014-a1b2c3d-arm64";
  spec.timeout = std::chrono::minutes(45);
  return spec;
}

KubePodInputs Inputs(const std::string& job_secret = "") {
  return {.name = "hephy-12-arm64",
          .context_url = "http://hephyd.hephy.svc:8080/api/v1/contexts/12-linux-arm64",
          .context_token = "0123abcd",
          .job_secret = job_secret};
}

const json& Container(const json& pod, const char* list, const std::string& name) {
  for (const auto& container : pod["spec"][list]) {
    if (container["name"] == name) return container;
  }
  ADD_FAILURE() << "no container " << name << " in " << list;
  static const json none;
  return none;
}

TEST(KubePodSpec, NamesPodAfterBuildAndArchitecture) {
  EXPECT_EQ(KubePodName(Spec("linux/arm64")), "hephy-12-arm64");
  EXPECT_EQ(KubePodName(Spec("linux/amd64")), "hephy-12-amd64");
  EXPECT_EQ(KubePodName(Spec("linux/arm/v7")), "hephy-12-arm-v7");
  EXPECT_EQ(KubePodName(Spec("windows/amd64")), "hephy-12-windows-amd64");
  EXPECT_EQ(KubePodName(Spec("linux/mips64_le")), "hephy-12-mips64-le");
}

TEST(KubePodSpec, NamesContextJobAfterBuildAndPlatform) {
  EXPECT_EQ(KubeContextJobName(Spec("linux/arm64")), "12-linux-arm64");
  EXPECT_EQ(KubeContextJobName(Spec("linux/arm/v7")), "12-linux-arm-v7");
}

TEST(KubePodSpec, RejectsMalformedPlatform) { EXPECT_THROW(KubePodName(Spec("arm64")), Error); }

TEST(KubePodSpec, LabelsTheJobsObjects) {
  const json pod = KubePod({}, {}, Spec(), Inputs());
  EXPECT_EQ(pod["apiVersion"], "v1");
  EXPECT_EQ(pod["kind"], "Pod");
  EXPECT_EQ(pod["metadata"]["name"], "hephy-12-arm64");
  EXPECT_EQ(pod["metadata"]["labels"], (json{{"app.kubernetes.io/managed-by", "hephyd"},
                                             {"hephy/build", "12"},
                                             {"hephy/platform", "arm64"}}));
}

TEST(KubePodSpec, RunsOnceWithinTheJobsTimeoutWithoutAccountToken) {
  const json spec = KubePod({}, {}, Spec(), Inputs())["spec"];
  EXPECT_EQ(spec["restartPolicy"], "Never");
  EXPECT_EQ(spec["activeDeadlineSeconds"], 45 * 60);
  EXPECT_EQ(spec["automountServiceAccountToken"], false);
  EXPECT_FALSE(spec.contains("serviceAccountName"));
  EXPECT_FALSE(spec.contains("tolerations"));
}

TEST(KubePodSpec, ContainersRunWithoutPrivilegeOrTheWayToGainIt) {
  const json pod = KubePod({}, {}, Spec(), Inputs());
  EXPECT_EQ(pod["spec"]["securityContext"]["seccompProfile"]["type"], "RuntimeDefault");
  const json& kaniko = Container(pod, "containers", "kaniko")["securityContext"];
  EXPECT_EQ(kaniko["privileged"], false);
  EXPECT_EQ(kaniko["allowPrivilegeEscalation"], false);
  EXPECT_EQ(kaniko["capabilities"]["drop"], json({"ALL"}));
  for (const auto& added : kaniko["capabilities"]["add"]) {
    const std::string capability = added;
    EXPECT_TRUE(capability != "SYS_ADMIN" && capability != "NET_ADMIN" && capability != "NET_RAW" &&
                capability != "SYS_PTRACE" && capability != "SYS_MODULE")
        << capability;
  }
  const json& init = Container(pod, "initContainers", "fetch-context")["securityContext"];
  EXPECT_EQ(init["runAsNonRoot"], true);
  EXPECT_EQ(init["runAsUser"], 65534);
  EXPECT_EQ(init["allowPrivilegeEscalation"], false);
  EXPECT_EQ(init["readOnlyRootFilesystem"], true);
  EXPECT_EQ(init["capabilities"]["drop"], json({"ALL"}));
}

TEST(KubePodSpec, SelectsNodesOfThePlatformAndConfig) {
  KubernetesConfig config;
  config.node_selector = {{"pool", "builders"}, {"kubernetes.io/arch", "amd64"}};
  EXPECT_EQ(
      KubePod(config, {}, Spec("linux/arm64"), Inputs())["spec"]["nodeSelector"],
      (json{{"kubernetes.io/os", "linux"}, {"kubernetes.io/arch", "arm64"}, {"pool", "builders"}}));
  EXPECT_EQ(KubePod({}, {}, Spec("linux/amd64"), Inputs())["spec"]["nodeSelector"],
            (json{{"kubernetes.io/os", "linux"}, {"kubernetes.io/arch", "amd64"}}));
}

TEST(KubePodSpec, CarriesTolerationsAndServiceAccount) {
  KubernetesConfig config;
  config.service_account = "builder";
  config.tolerations = {
      {.key = "arch", .op = "Equal", .value = "arm64", .effect = "NoSchedule"},
      {.key = "spot", .op = "Exists", .effect = "NoExecute", .toleration_seconds = 60}};
  const json spec = KubePod(config, {}, Spec(), Inputs())["spec"];
  EXPECT_EQ(spec["serviceAccountName"], "builder");
  EXPECT_EQ(
      spec["tolerations"],
      (json{{{"key", "arch"}, {"operator", "Equal"}, {"value", "arm64"}, {"effect", "NoSchedule"}},
            {{"key", "spot"},
             {"operator", "Exists"},
             {"effect", "NoExecute"},
             {"tolerationSeconds", 60}}}));
}

TEST(KubePodSpec, InitContainerFetchesContextWithTokenFromEnvironment) {
  KubernetesConfig config;
  config.init_image = "registry.example/busybox:1";
  const json pod = KubePod(config, {}, Spec(), Inputs());
  ASSERT_EQ(pod["spec"]["initContainers"].size(), 1u);
  const json& init = Container(pod, "initContainers", "fetch-context");
  EXPECT_EQ(init["image"], "registry.example/busybox:1");
  EXPECT_EQ(init["env"],
            (json{{{"name", "HEPHY_CONTEXT_URL"},
                   {"value", "http://hephyd.hephy.svc:8080/api/v1/contexts/12-linux-arm64"}},
                  {{"name", "HEPHY_CONTEXT_TOKEN"}, {"value", "0123abcd"}}}));
  const std::string command = init["command"].dump();
  EXPECT_EQ(init["command"][0], "/bin/sh");
  EXPECT_EQ(command.find("0123abcd"), std::string::npos) << command;
  EXPECT_EQ(command.find("hephyd.hephy.svc"), std::string::npos) << command;
  EXPECT_NE(command.find("$HEPHY_CONTEXT_TOKEN"), std::string::npos) << command;
  EXPECT_NE(command.find("tar -x"), std::string::npos) << command;
  EXPECT_EQ(init["volumeMounts"], (json{{{"name", "workspace"}, {"mountPath", "/workspace"}}}));
  EXPECT_EQ(init["terminationMessagePolicy"], "FallbackToLogsOnError");
}

TEST(KubePodSpec, KanikoContainerBuildsFromWorkspaceAndReportsDigest) {
  KanikoConfig kaniko;
  kaniko.image = "registry.example/kaniko:v1";
  const PlatformJobSpec spec = Spec();
  const json pod = KubePod({}, kaniko, spec, Inputs());
  ASSERT_EQ(pod["spec"]["containers"].size(), 1u);
  const json& container = Container(pod, "containers", "kaniko");
  EXPECT_EQ(container["image"], "registry.example/kaniko:v1");
  EXPECT_EQ(container["args"], json(KanikoArgs(spec, {.context = "dir:///workspace",
                                                      .digest_file = "/dev/termination-log"})));
  EXPECT_EQ(container["terminationMessagePath"], "/dev/termination-log");
  EXPECT_EQ(container["terminationMessagePolicy"], "File");
  EXPECT_EQ(container["volumeMounts"],
            (json{{{"name", "workspace"}, {"mountPath", "/workspace"}}}));
  EXPECT_FALSE(container.contains("resources"));
  EXPECT_EQ(pod["spec"]["volumes"], (json{{{"name", "workspace"}, {"emptyDir", json::object()}}}));
}

TEST(KubePodSpec, KanikoContainerHasConfiguredResources) {
  KubernetesConfig config;
  config.requests = {{"cpu", "1"}, {"memory", "2Gi"}};
  config.limits = {{"memory", "4Gi"}};
  const json pod = KubePod(config, {}, Spec(), Inputs());
  EXPECT_EQ(
      Container(pod, "containers", "kaniko")["resources"],
      (json{{"requests", {{"cpu", "1"}, {"memory", "2Gi"}}}, {"limits", {{"memory", "4Gi"}}}}));
  EXPECT_FALSE(Container(pod, "initContainers", "fetch-context").contains("resources"));
}

TEST(KubePodSpec, NoSecretWithoutCredentials) {
  EXPECT_FALSE(NeedsJobSecret({}, Spec()));
  const json pod = KubePod({}, {}, Spec(), Inputs());
  EXPECT_EQ(pod["spec"]["volumes"].size(), 1u);
}

TEST(KubePodSpec, MountsConfiguredRegistrySecret) {
  KubernetesConfig config;
  config.registry_secret = "registry-push";
  PlatformJobSpec spec = Spec();
  spec.registry_credentials = RegistryCredentials{.username = "u", .password = "p"};
  EXPECT_FALSE(NeedsJobSecret(config, spec));
  for (const auto& job : {spec, Spec()}) {
    const json pod = KubePod(config, {}, job, Inputs());
    EXPECT_EQ(pod["spec"]["volumes"][1],
              (json{{"name", "docker-config"},
                    {"secret",
                     {{"secretName", "registry-push"},
                      {"items", {{{"key", "config.json"}, {"path", "config.json"}}}}}}}));
    EXPECT_EQ(
        Container(pod, "containers", "kaniko")["volumeMounts"][1],
        (json{{"name", "docker-config"}, {"mountPath", "/kaniko/.docker"}, {"readOnly", true}}));
  }
}

TEST(KubePodSpec, JobSecretHoldsTheJobsCredentials) {
  PlatformJobSpec spec = Spec();
  spec.registry_credentials = RegistryCredentials{.username = "u", .password = "p"};
  ASSERT_TRUE(NeedsJobSecret({}, spec));
  const json secret = KubeJobSecret({}, spec, "hephy-12-arm64-registry", "");
  EXPECT_EQ(secret["kind"], "Secret");
  EXPECT_EQ(secret["metadata"]["name"], "hephy-12-arm64-registry");
  EXPECT_EQ(secret["metadata"]["labels"], json(KubeJobLabels(spec)));
  EXPECT_EQ(secret["data"],
            (json{{"config.json", Base64Encode(AuthFileFor("registry.example:5000",
                                                           *spec.registry_credentials))}}));
  const json pod = KubePod({}, {}, spec, Inputs("hephy-12-arm64-registry"));
  EXPECT_EQ(pod["spec"]["volumes"][1]["secret"]["secretName"], "hephy-12-arm64-registry");
}

TEST(KubePodSpec, JobSecretCarriesPrivateCaForKaniko) {
  PlatformJobSpec spec = Spec();
  spec.registry_ca_file = "/etc/hephy/ca.pem";
  ASSERT_TRUE(NeedsJobSecret({}, spec));
  const json secret = KubeJobSecret({}, spec, "s", "PEM");
  EXPECT_EQ(secret["data"], (json{{"ca.crt", Base64Encode("PEM")}}));
  const json pod = KubePod({}, {}, spec, Inputs("s"));
  EXPECT_EQ(pod["spec"]["volumes"][1],
            (json{{"name", "registry-ca"},
                  {"secret",
                   {{"secretName", "s"}, {"items", {{{"key", "ca.crt"}, {"path", "ca.crt"}}}}}}}));
  const json& container = Container(pod, "containers", "kaniko");
  EXPECT_EQ(container["volumeMounts"][1], (json{{"name", "registry-ca"},
                                                {"mountPath", "/kaniko/hephy-registry-ca"},
                                                {"readOnly", true}}));
  EXPECT_EQ(container["args"],
            json(KanikoArgs(spec, {.context = "dir:///workspace",
                                   .digest_file = "/dev/termination-log",
                                   .registry_certificate = "/kaniko/hephy-registry-ca/ca.crt"})));

  spec.insecure_registry = true;  // plain HTTP: no certificate to check
  EXPECT_FALSE(NeedsJobSecret({}, spec));
}

}  // namespace
}  // namespace hephy

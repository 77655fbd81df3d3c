// The deploy kit checked offline: deploy/kubernetes/ must be a set of
// objects a cluster accepts and that fit together (names, namespaces,
// ports, mounts, the RBAC that hephyd's executor needs and nothing more),
// and its ConfigMap must be a configuration hephyd itself accepts.
#include <gtest/gtest.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "deploy_kit.h"
#include "hephy/config.h"
#include "util/process.h"

namespace hephy {
namespace {

namespace fs = std::filesystem;
using deploy_kit::Get;
using deploy_kit::kRoot;

const fs::path kKubernetesDir = kRoot / "deploy/kubernetes";

// One document of one manifest file, named in failure messages.
struct Object {
  std::string file;  // relative to the repository root
  YAML::Node doc;

  std::string kind() const { return doc["kind"].as<std::string>(""); }
  std::string name() const { return Get(doc, {"metadata", "name"}).as<std::string>(""); }
  std::string ns() const { return Get(doc, {"metadata", "namespace"}).as<std::string>(""); }
  // "deploy/kubernetes/role.yaml: Role hephyd-builds: FIELD"
  std::string At(const std::string& field) const {
    return file + ": " + kind() + " " + name() + ": " + field;
  }
};

// Kinds that live outside namespaces, among those a deploy kit may hold.
const std::set<std::string> kClusterScoped = {"Namespace", "ClusterRole", "ClusterRoleBinding",
                                              "PersistentVolume", "StorageClass"};

std::vector<Object> LoadKubernetesObjects() {
  std::vector<Object> objects;
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(kKubernetesDir)) {
    if (entry.path().extension() == ".yaml" && entry.path().filename() != "kustomization.yaml") {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  for (const auto& path : files) {
    for (const auto& doc : YAML::LoadAllFromFile(path.string())) {
      if (!doc.IsNull()) objects.push_back({fs::relative(path, kRoot).string(), doc});
    }
  }
  return objects;
}

std::set<std::string> StringSet(const YAML::Node& list) {
  std::set<std::string> out;
  for (const auto& item : list) out.insert(item.as<std::string>());
  return out;
}

std::map<std::string, std::string> StringMap(const YAML::Node& map) {
  std::map<std::string, std::string> out;
  for (const auto& item : map) out[item.first.as<std::string>()] = item.second.as<std::string>();
  return out;
}

bool Includes(const std::map<std::string, std::string>& labels,
              const std::map<std::string, std::string>& selector) {
  return std::all_of(selector.begin(), selector.end(), [&](const auto& kv) {
    auto it = labels.find(kv.first);
    return it != labels.end() && it->second == kv.second;
  });
}

bool OnPath(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    if (!dir.empty() && access((fs::path(dir) / program).c_str(), X_OK) == 0) return true;
  }
  return false;
}

class DeployManifests : public testing::Test {
 protected:
  void SetUp() override {
    objects_ = LoadKubernetesObjects();
    ASSERT_FALSE(objects_.empty()) << "no manifests in " << kKubernetesDir;
  }

  // The one object of `kind` (and `name`, if given); fails the test if there
  // is not exactly one.
  const Object& One(const std::string& kind, const std::string& name = "") {
    const Object* found = nullptr;
    int count = 0;
    for (const auto& o : objects_) {
      if (o.kind() == kind && (name.empty() || o.name() == name)) {
        found = &o;
        ++count;
      }
    }
    if (count != 1) {
      ADD_FAILURE() << "expected one " << kind << " " << name << " in " << kKubernetesDir
                    << ", found " << count;
      static const Object kNone{"(none)", YAML::Node()};
      return kNone;
    }
    return *found;
  }

  bool Has(const std::string& kind, const std::string& name, const std::string& ns) const {
    return std::any_of(objects_.begin(), objects_.end(), [&](const Object& o) {
      return o.kind() == kind && o.name() == name && o.ns() == ns;
    });
  }

  YAML::Node PodSpec() { return Get(One("Deployment").doc, {"spec", "template", "spec"}); }
  YAML::Node Container() {
    const YAML::Node containers = Get(PodSpec(), {"containers"});
    if (!containers.IsSequence() || containers.size() != 1) {
      ADD_FAILURE() << One("Deployment").At("spec.template.spec.containers: expected one");
      return YAML::Node(YAML::NodeType::Undefined);
    }
    return containers[0];
  }

  // The hephyd configuration embedded in the ConfigMap the Deployment mounts.
  Config HephydConfig() {
    const Object& map = One("ConfigMap");
    return ParseConfig(Get(map.doc, {"data", "hephy.yaml"}).as<std::string>(""),
                       map.file + " (data: hephy.yaml)", "/");
  }

  std::vector<Object> objects_;
};

TEST_F(DeployManifests, EveryObjectHasApiVersionKindAndName) {
  for (const auto& o : objects_) {
    EXPECT_TRUE(o.doc["apiVersion"].IsScalar()) << o.At("apiVersion is missing");
    EXPECT_FALSE(o.kind().empty()) << o.file << ": a document has no kind";
    EXPECT_FALSE(o.name().empty()) << o.file << ": a " << o.kind() << " has no metadata.name";
  }
}

TEST_F(DeployManifests, NamespacedObjectsLiveInTheKitsNamespaces) {
  std::set<std::string> namespaces;
  for (const auto& o : objects_) {
    if (o.kind() == "Namespace") namespaces.insert(o.name());
  }
  EXPECT_EQ(namespaces, (std::set<std::string>{"hephy", "hephy-builds"}));
  for (const auto& o : objects_) {
    if (kClusterScoped.contains(o.kind())) {
      EXPECT_TRUE(o.ns().empty()) << o.At("metadata.namespace on a cluster-scoped object");
    } else {
      EXPECT_TRUE(namespaces.contains(o.ns()))
          << o.At("metadata.namespace '" + o.ns() + "' is not a Namespace of the kit");
    }
  }
}

TEST_F(DeployManifests, GrantsNothingClusterWide) {
  for (const auto& o : objects_) {
    EXPECT_NE(o.kind(), "ClusterRole") << o.At("the kit needs no cluster-wide rights");
    EXPECT_NE(o.kind(), "ClusterRoleBinding") << o.At("the kit needs no cluster-wide rights");
  }
}

TEST_F(DeployManifests, RoleGrantsOnlyPodsTheirLogsAndSecretsInTheBuildNamespace) {
  const Object& role = One("Role");
  EXPECT_EQ(role.ns(), HephydConfig().builder.kubernetes.namespace_name)
      << role.At("metadata.namespace is not builder.kubernetes.namespace of the ConfigMap");
  std::map<std::string, std::set<std::string>> granted;
  const YAML::Node rules = role.doc["rules"];
  for (size_t i = 0; i < rules.size(); ++i) {
    const std::string at = "rules[" + std::to_string(i) + "]";
    EXPECT_EQ(StringSet(rules[i]["apiGroups"]), std::set<std::string>{""})
        << role.At(at + ".apiGroups: only the core group");
    EXPECT_FALSE(rules[i]["resourceNames"] || rules[i]["nonResourceURLs"])
        << role.At(at + ": unexpected resourceNames or nonResourceURLs");
    for (const auto& resource : rules[i]["resources"]) {
      for (const auto& verb : rules[i]["verbs"]) {
        granted[resource.as<std::string>()].insert(verb.as<std::string>());
      }
    }
  }
  const std::map<std::string, std::set<std::string>> expected = {
      {"pods", {"create", "get", "list", "watch", "delete"}},
      {"pods/log", {"get"}},
      {"secrets", {"create", "get", "delete", "list"}},
  };
  EXPECT_EQ(granted, expected) << role.At("rules grant other resources or verbs than hephyd's");
}

TEST_F(DeployManifests, RoleBindingGivesTheRoleToTheDeploymentsServiceAccount) {
  const Object& role = One("Role");
  const Object& binding = One("RoleBinding");
  const Object& deployment = One("Deployment");
  const std::string account = PodSpec()["serviceAccountName"].as<std::string>("");
  EXPECT_FALSE(account.empty()) << deployment.At("spec.template.spec.serviceAccountName");
  EXPECT_TRUE(Has("ServiceAccount", account, deployment.ns())) << deployment.At(
      "serviceAccountName '" + account + "' is no ServiceAccount of " + deployment.ns());

  EXPECT_EQ(binding.ns(), role.ns()) << binding.At("metadata.namespace");
  EXPECT_EQ(Get(binding.doc, {"roleRef", "kind"}).as<std::string>(""), "Role")
      << binding.At("roleRef.kind");
  EXPECT_EQ(Get(binding.doc, {"roleRef", "name"}).as<std::string>(""), role.name())
      << binding.At("roleRef.name");
  const YAML::Node subjects = binding.doc["subjects"];
  ASSERT_EQ(subjects.size(), 1u) << binding.At("subjects: exactly hephyd's account");
  EXPECT_EQ(subjects[0]["kind"].as<std::string>(""), "ServiceAccount")
      << binding.At("subjects[0].kind");
  EXPECT_EQ(subjects[0]["name"].as<std::string>(""), account) << binding.At("subjects[0].name");
  EXPECT_EQ(subjects[0]["namespace"].as<std::string>(""), deployment.ns())
      << binding.At("subjects[0].namespace");
}

TEST_F(DeployManifests, ConfigMapHoldsAKanikoKubernetesConfigHephydAccepts) {
  const Config config = HephydConfig();
  const Object& map = One("ConfigMap");
  EXPECT_EQ(config.builder.executor, "kaniko-kubernetes") << map.At("builder.executor");
  EXPECT_FALSE(config.registry.embedded) << map.At("registry.embedded: no registry in the pod");
  EXPECT_EQ(config.ssh.listen.host, "0.0.0.0") << map.At("ssh.listen");
  EXPECT_EQ(config.http.listen.host, "0.0.0.0") << map.At("http.listen");
  // The kubelet's probes come from the node, not from loopback.
  EXPECT_EQ(config.http.open_endpoints, OpenEndpoints::kAny) << map.At("http.open_endpoints");

  const Object& service = One("Service");
  const std::string context_url = "http://" + service.name() + "." + service.ns() +
                                  ".svc:" + std::to_string(config.http.listen.port);
  EXPECT_EQ(config.builder.kubernetes.context_url, context_url)
      << map.At("builder.kubernetes.context_url is not the Service's HTTP address");
  const std::string& build_account = config.builder.kubernetes.service_account;
  EXPECT_TRUE(Has("ServiceAccount", build_account, config.builder.kubernetes.namespace_name))
      << map.At("builder.kubernetes.service_account '" + build_account +
                "' is no ServiceAccount of the build namespace");
}

TEST_F(DeployManifests, DeploymentMountsTheConfigMapWhereItsArgumentsReadIt) {
  const Object& map = One("ConfigMap");
  const YAML::Node args = Container()["args"];
  ASSERT_TRUE(args.IsSequence() && args.size() >= 3) << One("Deployment").At("args");
  EXPECT_EQ(args[0].as<std::string>(), "--config");
  const fs::path config_file = args[1].as<std::string>();
  EXPECT_EQ(args[args.size() - 1].as<std::string>(), "serve");

  std::string volume_of_config;
  for (const auto& volume : PodSpec()["volumes"]) {
    if (Get(volume, {"configMap", "name"}).as<std::string>("") == map.name()) {
      volume_of_config = volume["name"].as<std::string>();
    }
  }
  bool mounted = false;
  for (const auto& mount : Container()["volumeMounts"]) {
    if (mount["name"].as<std::string>() == volume_of_config) {
      mounted =
          fs::path(mount["mountPath"].as<std::string>()) / config_file.filename() == config_file;
    }
  }
  EXPECT_TRUE(mounted) << One("Deployment")
                              .At("no volume of ConfigMap " + map.name() + " is mounted as " +
                                  config_file.string());
  EXPECT_TRUE(Get(map.doc, {"data", config_file.filename().string()}))
      << map.At("data has no key " + config_file.filename().string());
}

TEST_F(DeployManifests, DataDirAndRegistryCredentialsAreOnTheirVolumes) {
  const Config config = HephydConfig();
  std::map<std::string, std::string> mount_of_volume;
  for (const auto& mount : Container()["volumeMounts"]) {
    mount_of_volume[mount["name"].as<std::string>()] = mount["mountPath"].as<std::string>();
  }
  std::string data_mount, registry_mount, registry_secret;
  for (const auto& volume : PodSpec()["volumes"]) {
    const std::string name = volume["name"].as<std::string>();
    if (volume["persistentVolumeClaim"]) data_mount = mount_of_volume[name];
    if (volume["secret"]) {
      registry_mount = mount_of_volume[name];
      registry_secret = Get(volume, {"secret", "secretName"}).as<std::string>("");
    }
  }
  const Object& map = One("ConfigMap");
  ASSERT_FALSE(data_mount.empty()) << One("Deployment").At("no PersistentVolumeClaim mounted");
  // A subdirectory: hephyd sets data_dir to mode 0700, which it can only do
  // to a directory it owns, and the volume's root belongs to root.
  EXPECT_EQ(config.data_dir.parent_path(), fs::path(data_mount))
      << map.At("data_dir is not a directory on the volume mounted at " + data_mount);
  EXPECT_EQ(config.registry.docker_config, fs::path(registry_mount) / "config.json") << map.At(
      "registry.docker_config is not config.json of the Secret mounted at " + registry_mount);

  const Object& secret = One("Secret", registry_secret);
  const std::string json = Get(secret.doc, {"stringData", "config.json"}).as<std::string>("");
  ASSERT_FALSE(json.empty()) << secret.At("stringData has no config.json");
  EXPECT_TRUE(nlohmann::json::parse(json, nullptr, false).contains("auths"))
      << secret.At("stringData.config.json is no docker config.json with auths");
}

TEST_F(DeployManifests, VolumesNameObjectsOfTheKitAndMountsNameVolumes) {
  const Object& deployment = One("Deployment");
  std::set<std::string> volumes;
  for (const auto& volume : PodSpec()["volumes"]) {
    const std::string name = volume["name"].as<std::string>();
    volumes.insert(name);
    const std::string at = "volume " + name;
    if (volume["configMap"]) {
      EXPECT_TRUE(
          Has("ConfigMap", Get(volume, {"configMap", "name"}).as<std::string>(""), deployment.ns()))
          << deployment.At(at + ": configMap.name");
    }
    if (volume["secret"]) {
      EXPECT_TRUE(
          Has("Secret", Get(volume, {"secret", "secretName"}).as<std::string>(""), deployment.ns()))
          << deployment.At(at + ": secret.secretName");
    }
    if (volume["persistentVolumeClaim"]) {
      EXPECT_TRUE(Has("PersistentVolumeClaim",
                      Get(volume, {"persistentVolumeClaim", "claimName"}).as<std::string>(""),
                      deployment.ns()))
          << deployment.At(at + ": persistentVolumeClaim.claimName");
    }
  }
  for (const auto& mount : Container()["volumeMounts"]) {
    EXPECT_TRUE(volumes.contains(mount["name"].as<std::string>()))
        << deployment.At("volumeMounts: no volume named " + mount["name"].as<std::string>());
  }
}

TEST_F(DeployManifests, ServiceTargetsTheContainerPortsHephydListensOn) {
  const Config config = HephydConfig();
  const Object& service = One("Service");
  std::map<std::string, int> container_ports;  // name -> number
  for (const auto& port : Container()["ports"]) {
    container_ports[port["name"].as<std::string>("")] = port["containerPort"].as<int>();
  }
  EXPECT_EQ(container_ports, (std::map<std::string, int>{{"http", config.http.listen.port},
                                                         {"ssh", config.ssh.listen.port}}))
      << One("Deployment").At("containers[0].ports are not ssh.listen and http.listen");

  std::set<int> targets;
  for (const auto& port : Get(service.doc, {"spec", "ports"})) {
    const YAML::Node target = port["targetPort"];
    int number = 0;
    if (YAML::convert<int>::decode(target, number)) {
      targets.insert(number);
    } else if (container_ports.contains(target.as<std::string>())) {
      targets.insert(container_ports[target.as<std::string>()]);
    } else {
      ADD_FAILURE() << service.At("targetPort " + target.as<std::string>() +
                                  " is no container port");
    }
  }
  EXPECT_EQ(targets, (std::set<int>{config.ssh.listen.port, config.http.listen.port}))
      << service.At("spec.ports[].targetPort");
}

TEST_F(DeployManifests, SelectorsMatchThePodTemplatesLabels) {
  const Object& deployment = One("Deployment");
  const auto labels = StringMap(Get(deployment.doc, {"spec", "template", "metadata", "labels"}));
  const auto selector = StringMap(Get(deployment.doc, {"spec", "selector", "matchLabels"}));
  EXPECT_FALSE(selector.empty()) << deployment.At("spec.selector.matchLabels");
  EXPECT_TRUE(Includes(labels, selector)) << deployment.At("spec.selector.matchLabels");
  const Object& service = One("Service");
  EXPECT_EQ(service.ns(), deployment.ns()) << service.At("metadata.namespace");
  const auto service_selector = StringMap(Get(service.doc, {"spec", "selector"}));
  EXPECT_FALSE(service_selector.empty()) << service.At("spec.selector");
  EXPECT_TRUE(Includes(labels, service_selector)) << service.At("spec.selector");
}

TEST_F(DeployManifests, DeploymentIsOneNonRootReplicaRecreatedWithHealthProbes) {
  const Object& deployment = One("Deployment");
  EXPECT_EQ(Get(deployment.doc, {"spec", "replicas"}).as<int>(0), 1)
      << deployment.At("spec.replicas");
  // Two pods must never share the SQLite database on the volume.
  EXPECT_EQ(Get(deployment.doc, {"spec", "strategy", "type"}).as<std::string>(""), "Recreate")
      << deployment.At("spec.strategy.type");
  EXPECT_TRUE(Get(PodSpec(), {"securityContext", "runAsNonRoot"}).as<bool>(false))
      << deployment.At("securityContext.runAsNonRoot");
  const YAML::Node security = Container()["securityContext"];
  EXPECT_TRUE(security["readOnlyRootFilesystem"].as<bool>(false))
      << deployment.At("containers[0].securityContext.readOnlyRootFilesystem");
  EXPECT_FALSE(security["allowPrivilegeEscalation"].as<bool>(true))
      << deployment.At("containers[0].securityContext.allowPrivilegeEscalation");
  for (const std::string probe : {"startupProbe", "readinessProbe"}) {
    EXPECT_EQ(Get(Container(), {probe, "httpGet", "path"}).as<std::string>(""), "/healthz")
        << deployment.At("containers[0]." + probe + ".httpGet.path");
    EXPECT_EQ(Get(Container(), {probe, "httpGet", "port"}).as<std::string>(""), "http")
        << deployment.At("containers[0]." + probe + ".httpGet.port");
  }
  // /healthz is 503 while hephyd drains: that must not restart it.
  EXPECT_EQ(Get(Container(), {"livenessProbe", "tcpSocket", "port"}).as<std::string>(""), "http")
      << deployment.At("containers[0].livenessProbe");
  // The grace covers serve.drain_timeout's default (10m) and the cancelling.
  EXPECT_GE(Get(PodSpec(), {"terminationGracePeriodSeconds"}).as<int>(0), 600)
      << deployment.At("spec.template.spec.terminationGracePeriodSeconds");
  EXPECT_TRUE(Get(Container(), {"resources", "requests"}) &&
              Get(Container(), {"resources", "limits"}))
      << deployment.At("containers[0].resources");
}

// The nightly backup: `hephyd backup --into` on hephyd's own volume, on
// hephyd's node (the volume is ReadWriteOnce), as hephyd's user, into a
// volume of its own, never reached by hephyd's Service.
TEST_F(DeployManifests, BackupCronJobBacksUpHephydsVolumeOnItsNode) {
  const Object& cron = One("CronJob");
  const Object& deployment = One("Deployment");
  EXPECT_EQ(cron.ns(), deployment.ns()) << cron.At("metadata.namespace");
  EXPECT_EQ(Get(cron.doc, {"spec", "concurrencyPolicy"}).as<std::string>(""), "Forbid")
      << cron.At("spec.concurrencyPolicy");
  const YAML::Node pod = Get(cron.doc, {"spec", "jobTemplate", "spec", "template", "spec"});
  ASSERT_TRUE(pod["containers"].IsSequence() && pod["containers"].size() == 1)
      << cron.At("containers: expected one");
  const YAML::Node container = pod["containers"][0];

  // Its volumes: claim and mount path by volume name, for it and for hephyd.
  const auto mounts = [](const YAML::Node& spec, const YAML::Node& c) {
    std::map<std::string, std::string> path_of_volume, claim_of_path, config_of_path;
    for (const auto& mount : c["volumeMounts"]) {
      path_of_volume[mount["name"].as<std::string>()] = mount["mountPath"].as<std::string>();
    }
    for (const auto& volume : spec["volumes"]) {
      const std::string path = path_of_volume[volume["name"].as<std::string>()];
      if (volume["persistentVolumeClaim"]) {
        claim_of_path[path] = Get(volume, {"persistentVolumeClaim", "claimName"}).as<std::string>();
      }
      if (volume["configMap"]) {
        config_of_path[path] = Get(volume, {"configMap", "name"}).as<std::string>();
      }
    }
    return std::pair(claim_of_path, config_of_path);
  };
  const auto [claims, configs] = mounts(pod, container);
  const auto [hephyd_claims, hephyd_configs] = mounts(PodSpec(), Container());
  for (const auto& [path, claim] : hephyd_claims) {
    EXPECT_EQ(claims.contains(path) ? claims.at(path) : "", claim)
        << cron.At("does not mount hephyd's volume " + claim + " at " + path);
  }
  for (const auto& [path, claim] : claims) {
    EXPECT_TRUE(Has("PersistentVolumeClaim", claim, cron.ns()))
        << cron.At("claimName " + claim + " is no PersistentVolumeClaim of the kit");
  }

  // `--config FILE backup --into PARENT --keep N`, FILE hephyd's, PARENT a
  // volume of its own.
  std::vector<std::string> args;
  for (const auto& arg : container["args"]) args.push_back(arg.as<std::string>());
  ASSERT_GE(args.size(), 5u) << cron.At("args");
  EXPECT_EQ(args[0], "--config");
  EXPECT_EQ(args[1], Container()["args"][1].as<std::string>())
      << cron.At("args: not hephyd's config");
  const fs::path config_dir = fs::path(args[1]).parent_path();
  EXPECT_EQ(configs.contains(config_dir.string()) ? configs.at(config_dir.string()) : "",
            One("ConfigMap").name())
      << cron.At("the ConfigMap is not mounted at " + config_dir.string());
  EXPECT_EQ(args[2], "backup") << cron.At("args");
  const auto into = std::find(args.begin(), args.end(), "--into");
  ASSERT_TRUE(into != args.end() && into + 1 != args.end()) << cron.At("args: no --into");
  ASSERT_TRUE(claims.contains(*(into + 1))) << cron.At("--into " + *(into + 1) + " is no volume");
  EXPECT_FALSE(hephyd_claims.contains(*(into + 1)) ||
               std::any_of(hephyd_claims.begin(), hephyd_claims.end(),
                           [&](const auto& kv) { return kv.second == claims.at(*(into + 1)); }))
      << cron.At("backs up onto hephyd's own volume");
  // The data_dir of the ConfigMap lies on the volume it mounts.
  const Config config = HephydConfig();
  EXPECT_TRUE(claims.contains(config.data_dir.parent_path().string()))
      << cron.At("data_dir " + config.data_dir.string() + " is on no volume it mounts");

  // On hephyd's node, as hephyd's user, and not behind hephyd's Service.
  const YAML::Node affinity =
      Get(pod, {"affinity", "podAffinity", "requiredDuringSchedulingIgnoredDuringExecution"});
  ASSERT_TRUE(affinity.IsSequence() && affinity.size() == 1)
      << cron.At("affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution");
  EXPECT_EQ(affinity[0]["topologyKey"].as<std::string>(""), "kubernetes.io/hostname");
  const auto hephyd_labels =
      StringMap(Get(deployment.doc, {"spec", "template", "metadata", "labels"}));
  EXPECT_TRUE(
      Includes(hephyd_labels, StringMap(Get(affinity[0], {"labelSelector", "matchLabels"}))))
      << cron.At("podAffinity does not select hephyd's pod");
  EXPECT_EQ(Get(pod, {"securityContext", "runAsUser"}).as<int>(-1),
            Get(PodSpec(), {"securityContext", "runAsUser"}).as<int>(-2))
      << cron.At("securityContext.runAsUser is not hephyd's");
  EXPECT_TRUE(Get(container, {"securityContext", "readOnlyRootFilesystem"}).as<bool>(false))
      << cron.At("readOnlyRootFilesystem");
  const auto labels =
      StringMap(Get(cron.doc, {"spec", "jobTemplate", "spec", "template", "metadata", "labels"}));
  EXPECT_FALSE(Includes(labels, StringMap(Get(One("Service").doc, {"spec", "selector"}))))
      << cron.At("its pods match hephyd's Service selector");
}

TEST_F(DeployManifests, KustomizationListsEveryManifestButTheExample) {
  const YAML::Node kustomization = YAML::LoadFile((kKubernetesDir / "kustomization.yaml").string());
  std::set<std::string> expected;
  for (const auto& o : objects_) {
    if (!o.file.ends_with(".example.yaml")) expected.insert(fs::path(o.file).filename());
  }
  EXPECT_EQ(StringSet(kustomization["resources"]), expected)
      << "deploy/kubernetes/kustomization.yaml: resources";
}

// kubectl is no Debian 12 package (kubernetes-client is 1.20); where one is
// installed, its own kustomize must accept the kit, offline.
TEST_F(DeployManifests, KubectlKustomizeBuildsTheKit) {
  if (!OnPath("kubectl")) GTEST_SKIP() << "kubectl is not installed (not on PATH)";
  const RunResult result = hephy::Run({.argv = {"kubectl", "kustomize", kKubernetesDir.string()},
                                       .pipe_stdout = true,
                                       .pipe_stderr = true},
                                      "", std::chrono::seconds(60));
  ASSERT_EQ(result.exit_code, 0) << "kubectl kustomize deploy/kubernetes: " << result.err;
  std::set<std::string> built, expected;
  for (const auto& doc : YAML::LoadAll(result.out)) {
    built.insert(doc["kind"].as<std::string>("") + "/" +
                 Get(doc, {"metadata", "name"}).as<std::string>(""));
  }
  for (const auto& o : objects_) {
    if (!o.file.ends_with(".example.yaml")) expected.insert(o.kind() + "/" + o.name());
  }
  EXPECT_EQ(built, expected);
  const std::string image = "image: registry.example.com/hephy/hephyd:" HEPHY_VERSION;
  EXPECT_NE(result.out.find(image), std::string::npos)
      << "kustomization.yaml images did not set the Deployment's image to the version";
}

}  // namespace
}  // namespace hephy

// The deploy kit's NetworkPolicy, checked offline: build pods (which run
// pushed Dockerfiles) may reach hephyd's context port, the cluster's DNS and
// public addresses, and nothing else; nothing may reach them.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <set>
#include <string>

#include "deploy_kit.h"
#include "hephy/config.h"

namespace hephy {
namespace {

using deploy_kit::Get;
using deploy_kit::kRoot;

YAML::Node Load(const std::string& file) {
  return YAML::LoadFile((kRoot / "deploy/kubernetes" / file).string());
}

std::set<std::string> Strings(const YAML::Node& list) {
  std::set<std::string> out;
  for (const auto& item : list) out.insert(item.as<std::string>());
  return out;
}

class DeployNetworkPolicy : public testing::Test {
 protected:
  const YAML::Node policy_ = Load("networkpolicy.yaml");
  const YAML::Node deployment_ = Load("deployment.yaml");
  const Config config_ =
      ParseConfig(Get(Load("configmap.yaml"), {"data", "hephy.yaml"}).as<std::string>(""),
                  "configmap.yaml", "/");
};

TEST_F(DeployNetworkPolicy, CoversEveryPodOfTheBuildNamespaceBothWays) {
  EXPECT_EQ(policy_["kind"].as<std::string>(""), "NetworkPolicy");
  EXPECT_EQ(Get(policy_, {"metadata", "namespace"}).as<std::string>(""),
            config_.builder.kubernetes.namespace_name);
  const YAML::Node selector = Get(policy_, {"spec", "podSelector"});
  EXPECT_TRUE(selector.IsMap() && selector.size() == 0) << "spec.podSelector must select all pods";
  EXPECT_EQ(Strings(Get(policy_, {"spec", "policyTypes"})),
            (std::set<std::string>{"Ingress", "Egress"}));
  const YAML::Node ingress = Get(policy_, {"spec", "ingress"});
  EXPECT_TRUE(!ingress || ingress.size() == 0) << "build pods take no connection";
}

TEST_F(DeployNetworkPolicy, EgressIsHephydsContextPortDnsAndPublicAddressesOnly) {
  // http://HOST:PORT of the ConfigMap's context_url.
  const std::string& url = config_.builder.kubernetes.context_url;
  const int context_port = std::stoi(url.substr(url.rfind(':') + 1));
  const YAML::Node pod_labels = Get(deployment_, {"spec", "template", "metadata", "labels"});
  bool hephyd = false, dns = false, public_v4 = false, public_v6 = false;
  for (const auto& rule : Get(policy_, {"spec", "egress"})) {
    for (const auto& to : rule["to"]) {
      if (to["ipBlock"]) {
        const std::string cidr = to["ipBlock"]["cidr"].as<std::string>();
        const auto except = Strings(to["ipBlock"]["except"]);
        EXPECT_FALSE(rule["ports"]) << cidr << ": the internet on every port";
        if (cidr == "0.0.0.0/0") {
          public_v4 = true;
          for (const std::string kept : {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
                                         "100.64.0.0/10", "169.254.0.0/16", "127.0.0.0/8"}) {
            EXPECT_TRUE(except.contains(kept)) << "0.0.0.0/0 must except " << kept;
          }
        } else if (cidr == "::/0") {
          public_v6 = true;
          for (const std::string kept : {"fc00::/7", "fe80::/10", "::1/128"}) {
            EXPECT_TRUE(except.contains(kept)) << "::/0 must except " << kept;
          }
        } else {
          ADD_FAILURE() << "unexpected ipBlock " << cidr;
        }
        continue;
      }
      const std::string ns =
          Get(to, {"namespaceSelector", "matchLabels", "kubernetes.io/metadata.name"})
              .as<std::string>("");
      const YAML::Node pods = Get(to, {"podSelector", "matchLabels"});
      ASSERT_TRUE(pods && pods.size() > 0) << "a rule to namespace " << ns << " names no pods";
      std::set<int> ports;
      for (const auto& port : rule["ports"]) ports.insert(port["port"].as<int>());
      if (ns == Get(deployment_, {"metadata", "namespace"}).as<std::string>()) {
        for (const auto& label : pods) {
          EXPECT_EQ(pod_labels[label.first.as<std::string>()].as<std::string>(""),
                    label.second.as<std::string>())
              << "the rule to hephyd must select the Deployment's pods";
        }
        EXPECT_EQ(ports, std::set<int>{context_port}) << "hephyd: its context port only";
        hephyd = true;
      } else if (ns == "kube-system") {
        EXPECT_EQ(pods["k8s-app"].as<std::string>(""), "kube-dns");
        EXPECT_EQ(ports, std::set<int>{53}) << "DNS only";
        dns = true;
      } else {
        ADD_FAILURE() << "unexpected egress to namespace '" << ns << "'";
      }
    }
  }
  EXPECT_TRUE(hephyd && dns && public_v4 && public_v6)
      << "hephyd " << hephyd << ", dns " << dns << ", IPv4 " << public_v4 << ", IPv6 " << public_v6;
}

}  // namespace
}  // namespace hephy

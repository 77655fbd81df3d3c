// builder.kaniko and builder.kubernetes: the Kaniko image and executor, and
// where and how kaniko-kubernetes runs its build pods.
#include <algorithm>
#include <cctype>

#include "config/config_sections.h"

namespace hephy {
namespace {

// A Kubernetes object name (an RFC 1123 label): namespaces, secrets and
// service accounts all take one.
bool IsKubeName(const std::string& name) {
  return !name.empty() && name.size() <= 63 &&
         std::isalnum(static_cast<unsigned char>(name.front())) &&
         std::isalnum(static_cast<unsigned char>(name.back())) &&
         std::all_of(name.begin(), name.end(), [](char c) {
           return std::islower(static_cast<unsigned char>(c)) ||
                  std::isdigit(static_cast<unsigned char>(c)) || c == '-';
         });
}

KubeToleration ReadToleration(const ConfigReader& r, Node node, Key key) {
  // The fields of a Pod spec's toleration, under the same names, so that
  // one can be copied from a manifest.
  KubeToleration t;
  r.Map(node, key,
        {{"key", [&](Node v, Key vk) { t.key = r.Scalar(v, vk); }},
         {"operator",
          [&](Node v, Key vk) {
            t.op = r.Scalar(v, vk);
            if (t.op != "Equal" && t.op != "Exists") r.Fail(v, vk, "expected Equal or Exists");
          }},
         {"value", [&](Node v, Key vk) { t.value = r.Scalar(v, vk); }},
         {"effect",
          [&](Node v, Key vk) {
            t.effect = r.Scalar(v, vk);
            if (t.effect != "NoSchedule" && t.effect != "PreferNoSchedule" &&
                t.effect != "NoExecute") {
              r.Fail(v, vk, "expected NoSchedule, PreferNoSchedule or NoExecute");
            }
          }},
         {"tolerationSeconds", [&](Node v, Key vk) {
            int64_t seconds = 0;
            if (!v.IsScalar() || !YAML::convert<int64_t>::decode(v, seconds) || seconds < 0) {
              r.Fail(v, vk, "expected a number of seconds");
            }
            t.toleration_seconds = seconds;
          }}});
  if (t.op == "Exists" && !t.value.empty()) {
    r.Fail(node, key, "a toleration with operator Exists takes no value");
  }
  return t;
}

}  // namespace

void ReadKanikoSection(const ConfigReader& r, Node node, Key key, KanikoConfig& kaniko) {
  r.Map(node, key,
        {{"image",
          [&](Node v, Key vk) {
            kaniko.image = r.Scalar(v, vk);
            if (!IsPlainWord(kaniko.image)) r.Fail(v, vk, "expected an image reference");
          }},
         {"executor_path",
          [&](Node v, Key vk) {
            kaniko.executor_path = r.Scalar(v, vk);
            if (!kaniko.executor_path.is_absolute() || !IsPlainWord(kaniko.executor_path)) {
              r.Fail(v, vk, "expected an absolute path");
            }
          }},
         {"parallel", [&](Node v, Key vk) { kaniko.parallel = r.Bool(v, vk); }}});
}

void ReadKubernetesSection(const ConfigReader& r, Node node, Key key, KubernetesConfig& kube) {
  const auto name = [&](std::string& field) {
    return [&](Node v, Key vk) {
      field = r.Scalar(v, vk);
      // "" is the default, as when the key is left out.
      if (!field.empty() && !IsKubeName(field)) {
        r.Fail(v, vk,
               "invalid name '" + field +
                   "' (expected at most 63 lower-case letters, digits and '-', starting and "
                   "ending with a letter or digit)");
      }
    };
  };
  r.Map(node, key,
        {{"kubeconfig", [&](Node v, Key vk) { kube.kubeconfig = ExpandHome(r.Scalar(v, vk)); }},
         {"context", [&](Node v, Key vk) { kube.context = r.Scalar(v, vk); }},
         {"namespace", name(kube.namespace_name)},
         {"context_url",
          [&](Node v, Key vk) {
            kube.context_url = r.Scalar(v, vk);
            while (kube.context_url.ends_with('/')) kube.context_url.pop_back();
            if (kube.context_url.empty()) return;
            if ((!kube.context_url.starts_with("http://") &&
                 !kube.context_url.starts_with("https://")) ||
                !IsPlainWord(kube.context_url)) {
              r.Fail(v, vk,
                     "expected the http:// or https:// URL build pods reach hephyd's HTTP "
                     "server at, e.g. http://hephyd.hephy.svc:8080");
            }
          }},
         {"init_image",
          [&](Node v, Key vk) {
            kube.init_image = r.Scalar(v, vk);
            if (!IsPlainWord(kube.init_image)) r.Fail(v, vk, "expected an image reference");
          }},
         {"registry_secret", name(kube.registry_secret)},
         {"service_account", name(kube.service_account)},
         {"node_selector", [&](Node v, Key vk) { kube.node_selector = r.StringMap(v, vk); }},
         {"tolerations",
          [&](Node v, Key vk) {
            if (!v.IsSequence()) r.Fail(v, vk, "expected a list of tolerations");
            for (const auto& item : v) kube.tolerations.push_back(ReadToleration(r, item, vk));
          }},
         {"resources",
          [&](Node v, Key vk) {
            r.Map(v, vk,
                  {{"requests", [&](Node w, Key wk) { kube.requests = r.StringMap(w, wk); }},
                   {"limits", [&](Node w, Key wk) { kube.limits = r.StringMap(w, wk); }}});
          }},
         {"start_timeout", [&](Node v, Key vk) { kube.start_timeout = r.Duration(v, vk); }},
         {"unschedulable_grace",
          [&](Node v, Key vk) { kube.unschedulable_grace = r.Duration(v, vk, "fail at once"); }}});
}

}  // namespace hephy

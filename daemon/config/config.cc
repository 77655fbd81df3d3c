#include "hephy/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <thread>

#include "build/rebuild_schedule.h"
#include "git/libgit2.h"
#include "hephy/error.h"
#include "net/http_connection.h"
#include "util/duration.h"
#include "util/names.h"

namespace hephy {
namespace {

// Errors carry "source:line: key: reason"; yaml-cpp marks are 0-based.
class Reader {
 public:
  explicit Reader(std::string source) : source_(std::move(source)) {}

  [[noreturn]] void Fail(const YAML::Node& node, const std::string& key,
                         const std::string& reason) const {
    std::string where = source_;
    if (node.IsDefined() && node.Mark().line >= 0) {
      where += ":" + std::to_string(node.Mark().line + 1);
    }
    throw Error(where + ": " + key + ": " + reason);
  }

  std::string Scalar(const YAML::Node& node, const std::string& key) const {
    if (!node.IsScalar()) Fail(node, key, "expected a string");
    return node.Scalar();
  }

  bool Bool(const YAML::Node& node, const std::string& key) const {
    bool value = false;
    if (!node.IsScalar() || !YAML::convert<bool>::decode(node, value)) {
      Fail(node, key, "expected true or false");
    }
    return value;
  }

  int PositiveInt(const YAML::Node& node, const std::string& key) const {
    int value = 0;
    if (!node.IsScalar() || !YAML::convert<int>::decode(node, value) || value <= 0) {
      Fail(node, key, "expected a positive integer");
    }
    return value;
  }

  int NonNegativeInt(const YAML::Node& node, const std::string& key,
                     const std::string& zero_means) const {
    int value = 0;
    if (!node.IsScalar() || !YAML::convert<int>::decode(node, value) || value < 0) {
      Fail(node, key, "expected 0 (" + zero_means + ") or a positive integer");
    }
    return value;
  }

  // A duration (ParseDuration); with `zero_means`, also 0.
  std::chrono::seconds Duration(const YAML::Node& node, const std::string& key,
                                const std::string& zero_means = "") const {
    const std::string text = Scalar(node, key);
    if (!zero_means.empty() && text == "0") return std::chrono::seconds(0);
    try {
      return ParseDuration(text);
    } catch (const Error& e) {
      Fail(node, key,
           e.what() + (zero_means.empty() ? std::string() : ", or 0 (" + zero_means + ")"));
    }
  }

  std::vector<std::string> StringList(const YAML::Node& node, const std::string& key) const {
    if (!node.IsSequence()) Fail(node, key, "expected a list of strings");
    std::vector<std::string> out;
    for (const auto& item : node) out.push_back(Scalar(item, key));
    return out;
  }

  ListenAddress Listen(const YAML::Node& node, const std::string& key) const {
    try {
      return ParseListenAddress(Scalar(node, key));
    } catch (const Error& e) {
      Fail(node, key, e.what());
    }
  }

  // Walks a mapping, dispatching each key to its handler; a key without a
  // handler is an error that lists the keys that are allowed.
  void Map(const YAML::Node& node, const std::string& prefix,
           const std::map<std::string, std::function<void(const YAML::Node&, const std::string&)>>&
               handlers) const {
    if (node.IsNull()) return;
    if (!node.IsMap()) Fail(node, prefix.empty() ? "config" : prefix, "expected a mapping");
    for (const auto& entry : node) {
      const std::string name = entry.first.as<std::string>();
      const std::string key = prefix.empty() ? name : prefix + "." + name;
      auto handler = handlers.find(name);
      if (handler == handlers.end()) {
        std::string allowed;
        for (const auto& [known, unused] : handlers) {
          allowed += (allowed.empty() ? "" : ", ") + known;
        }
        Fail(entry.first, key, "unknown key (expected one of: " + allowed + ")");
      }
      handler->second(entry.second, key);
    }
  }

 private:
  std::string source_;
};

std::filesystem::path ExpandHome(const std::string& path) {
  if (path == "~" || path.starts_with("~/")) {
    const char* home = std::getenv("HOME");
    if (home != nullptr) return std::filesystem::path(home) / path.substr(path.size() > 1 ? 2 : 1);
  }
  return path;
}

// As `git check-ref-format --branch`: a valid ref under refs/heads/ that
// is neither "HEAD" nor starts with '-'.
bool IsValidBranchName(const std::string& branch) {
  git::Init();
  int valid = 0;
  return branch != "HEAD" && !branch.starts_with('-') &&
         git_reference_name_is_valid(&valid, ("refs/heads/" + branch).c_str()) == 0 && valid;
}

bool IsEnvironmentName(const std::string& name) {
  return !name.empty() && !std::isdigit(static_cast<unsigned char>(name[0])) &&
         std::all_of(name.begin(), name.end(), [](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
         });
}

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

// What a pod spec takes as an image, or an executable as a path: not empty,
// no spaces or control characters.
bool IsPlainWord(const std::string& text) {
  return !text.empty() && std::none_of(text.begin(), text.end(), [](char c) {
    return std::isspace(static_cast<unsigned char>(c)) ||
           std::iscntrl(static_cast<unsigned char>(c));
  });
}

using Node = const YAML::Node&;
using Key = const std::string&;

std::map<std::string, std::string> StringMap(const Reader& r, Node node, Key key) {
  if (!node.IsMap()) r.Fail(node, key, "expected a mapping of strings");
  std::map<std::string, std::string> out;
  for (const auto& entry : node) {
    const std::string name = entry.first.as<std::string>();
    out[name] = r.Scalar(entry.second, key + "." + name);
  }
  return out;
}

void ParseKaniko(const Reader& r, Node node, Key key, KanikoConfig& kaniko) {
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

KubeToleration ParseToleration(const Reader& r, Node node, Key key) {
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

void ParseKubernetes(const Reader& r, Node node, Key key, KubernetesConfig& kube) {
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
         {"node_selector", [&](Node v, Key vk) { kube.node_selector = StringMap(r, v, vk); }},
         {"tolerations",
          [&](Node v, Key vk) {
            if (!v.IsSequence()) r.Fail(v, vk, "expected a list of tolerations");
            for (const auto& item : v) kube.tolerations.push_back(ParseToleration(r, item, vk));
          }},
         {"resources",
          [&](Node v, Key vk) {
            r.Map(v, vk,
                  {{"requests", [&](Node w, Key wk) { kube.requests = StringMap(r, w, wk); }},
                   {"limits", [&](Node w, Key wk) { kube.limits = StringMap(r, w, wk); }}});
          }},
         {"start_timeout", [&](Node v, Key vk) { kube.start_timeout = r.Duration(v, vk); }}});
}

}  // namespace

Config ParseConfig(const std::string& yaml, const std::string& source,
                   const std::filesystem::path& base_dir) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    throw Error(source + ":" + std::to_string(e.mark.line + 1) + ": invalid YAML: " + e.msg);
  }

  Config config;
  // registry.insecure as the file says it, if it does.
  std::optional<YAML::Node> insecure_node;
  const Reader r(source);
  r.Map(
      root, "",
      {
          {"data_dir", [&](Node n, Key k) { config.data_dir = ExpandHome(r.Scalar(n, k)); }},
          {"ssh",
           [&](Node n, Key k) {
             auto& ssh = config.ssh;
             r.Map(n, k,
                   {{"listen", [&](Node v, Key vk) { ssh.listen = r.Listen(v, vk); }},
                    {"max_sessions",
                     [&](Node v, Key vk) { ssh.max_sessions = r.PositiveInt(v, vk); }},
                    {"max_startups",
                     [&](Node v, Key vk) { ssh.max_startups = r.PositiveInt(v, vk); }},
                    {"idle_timeout",
                     [&](Node v, Key vk) { ssh.idle_timeout = r.Duration(v, vk, "never"); }},
                    {"max_pushes_per_user",
                     [&](Node v, Key vk) {
                       ssh.max_pushes_per_user = r.NonNegativeInt(v, vk, "no limit");
                     }},
                    {"auth_failures", [&](Node v, Key vk) {
                       auto& f = ssh.auth_failures;
                       r.Map(v, vk,
                             {{"limit",
                               [&](Node w, Key wk) {
                                 f.limit = r.NonNegativeInt(w, wk, "no limit");
                                 // Each address keeps the times of its last failures.
                                 if (f.limit > 1000) r.Fail(w, wk, "must be at most 1000");
                               }},
                              {"window", [&](Node w, Key wk) { f.window = r.Duration(w, wk); }},
                              {"block", [&](Node w, Key wk) { f.block = r.Duration(w, wk); }}});
                     }}});
           }},
          {"http",
           [&](Node n, Key k) {
             r.Map(n, k,
                   {{"listen", [&](Node v, Key vk) { config.http.listen = r.Listen(v, vk); }},
                    {"max_connections",
                     [&](Node v, Key vk) { config.http.max_connections = r.PositiveInt(v, vk); }},
                    {"open_endpoints", [&](Node v, Key vk) {
                       const std::string value = r.Scalar(v, vk);
                       if (value == "loopback") {
                         config.http.open_endpoints = OpenEndpoints::kLoopback;
                       } else if (value == "any") {
                         config.http.open_endpoints = OpenEndpoints::kAny;
                       } else if (value == "none") {
                         config.http.open_endpoints = OpenEndpoints::kNone;
                       } else {
                         r.Fail(v, vk, "expected loopback, any or none, got '" + value + "'");
                       }
                     }}});
           }},
          {"registry",
           [&](Node n, Key k) {
             auto& reg = config.registry;
             r.Map(n, k,
                   {{"url",
                     [&](Node v, Key vk) {
                       reg.url = r.Scalar(v, vk);
                       try {
                         ParseHostPort(reg.url, 443);
                       } catch (const Error& e) {
                         r.Fail(v, vk, e.what());
                       }
                     }},
                    {"repository",
                     [&](Node v, Key vk) {
                       reg.repository = r.Scalar(v, vk);
                       if (reg.repository.empty()) r.Fail(v, vk, "must not be empty");
                     }},
                    {"insecure",
                     [&](Node v, Key vk) {
                       reg.insecure = r.Bool(v, vk);
                       insecure_node = v;
                     }},
                    {"embedded", [&](Node v, Key vk) { reg.embedded = r.Bool(v, vk); }},
                    {"ca_file", [&](Node v, Key vk) { reg.ca_file = ExpandHome(r.Scalar(v, vk)); }},
                    {"docker_config",
                     [&](Node v, Key vk) { reg.docker_config = ExpandHome(r.Scalar(v, vk)); }},
                    {"retry", [&](Node v, Key vk) {
                       r.Map(v, vk,
                             {{"attempts",
                               [&](Node a, Key ak) { reg.retry.attempts = r.PositiveInt(a, ak); }},
                              {"max_time", [&](Node t, Key tk) {
                                 try {
                                   reg.retry.max_time = ParseDuration(r.Scalar(t, tk));
                                 } catch (const Error& e) {
                                   r.Fail(t, tk, e.what());
                                 }
                               }}});
                     }}});
           }},
          {"builder",
           [&](Node n, Key k) {
             auto& b = config.builder;
             r.Map(
                 n, k,
                 {{"executor",
                   [&](Node v, Key vk) {
                     b.executor = r.Scalar(v, vk);
                     if (b.executor != "buildah" && b.executor != "kaniko-kubernetes" &&
                         b.executor != "kaniko-local") {
                       r.Fail(v, vk,
                              "unknown executor '" + b.executor +
                                  "' (expected buildah, kaniko-kubernetes or kaniko-local)");
                     }
                   }},
                  {"platforms",
                   [&](Node v, Key vk) {
                     b.platforms = r.StringList(v, vk);
                     if (b.platforms.empty()) r.Fail(v, vk, "needs at least one platform");
                     for (const auto& p : b.platforms) {
                       if (!IsValidPlatform(p)) {
                         r.Fail(v, vk, "invalid platform '" + p + "' (expected os/arch[/variant])");
                       }
                     }
                   }},
                  {"branches",
                   [&](Node v, Key vk) {
                     b.branches = r.StringList(v, vk);
                     if (b.branches.empty()) r.Fail(v, vk, "needs at least one branch");
                     for (const auto& branch : b.branches) {
                       if (!IsValidBranchName(branch)) {
                         r.Fail(v, vk, "invalid branch name '" + branch + "'");
                       }
                     }
                   }},
                  {"timeout",
                   [&](Node v, Key vk) {
                     try {
                       b.timeout = ParseDuration(r.Scalar(v, vk));
                     } catch (const Error& e) {
                       r.Fail(v, vk, e.what());
                     }
                   }},
                  {"rebuild_schedule",
                   [&](Node v, Key vk) {
                     b.rebuild_schedule = r.Scalar(v, vk);
                     try {
                       RebuildSchedule::Parse(b.rebuild_schedule);
                     } catch (const Error& e) {
                       // The reader names the key already.
                       std::string reason = e.what();
                       const std::string key = "builder.rebuild_schedule: ";
                       if (reason.starts_with(key)) reason.erase(0, key.size());
                       r.Fail(v, vk, reason);
                     }
                   }},
                  {"max_jobs",
                   [&](Node v, Key vk) {
                     int value = -1;
                     if (!v.IsScalar() || !YAML::convert<int>::decode(v, value) || value < 0) {
                       r.Fail(v, vk, "expected 0 (one per CPU core) or a positive integer");
                     }
                     b.max_jobs = value;
                   }},
                  {"kaniko", [&](Node v, Key vk) { ParseKaniko(r, v, vk, b.kaniko); }},
                  {"kubernetes", [&](Node v, Key vk) { ParseKubernetes(r, v, vk, b.kubernetes); }},
                  {"buildah", [&](Node v, Key vk) {
                     r.Map(v, vk,
                           {{"storage_driver",
                             [&](Node w, Key wk) {
                               b.buildah.storage_driver = r.Scalar(w, wk);
                               if (b.buildah.storage_driver != "vfs" &&
                                   b.buildah.storage_driver != "overlay") {
                                 r.Fail(w, wk, "expected vfs or overlay");
                               }
                             }},
                            {"isolation", [&](Node w, Key wk) {
                               b.buildah.isolation = r.Scalar(w, wk);
                               if (b.buildah.isolation != "chroot" &&
                                   b.buildah.isolation != "oci" &&
                                   b.buildah.isolation != "rootless") {
                                 r.Fail(w, wk, "expected chroot, oci or rootless");
                               }
                             }}});
                   }}});
           }},
          {"apps",
           [&](Node n, Key k) {
             r.Map(n, k, {{"auto_create", [&](Node v, Key vk) {
                             config.apps.auto_create = r.Bool(v, vk);
                           }}});
           }},
          {"upstreams",
           [&](Node n, Key k) {
             auto& u = config.upstreams;
             r.Map(n, k,
                   {{"credentials_file",
                     [&](Node v, Key vk) {
                       u.credentials_file = ExpandHome(r.Scalar(v, vk));
                       if (u.credentials_file.empty()) r.Fail(v, vk, "must not be empty");
                     }},
                    {"token_env",
                     [&](Node v, Key vk) {
                       u.token_env = r.Scalar(v, vk);
                       if (!u.token_env.empty() && !IsEnvironmentName(u.token_env)) {
                         r.Fail(v, vk,
                                "invalid environment variable name '" + u.token_env +
                                    "' (expected letters, digits and _, not starting with a "
                                    "digit)");
                       }
                     }},
                    {"ssh_key", [&](Node v, Key vk) { u.ssh_key = ExpandHome(r.Scalar(v, vk)); }},
                    {"known_hosts",
                     [&](Node v, Key vk) { u.known_hosts = ExpandHome(r.Scalar(v, vk)); }},
                    {"allow_local", [&](Node v, Key vk) { u.allow_local = r.Bool(v, vk); }}});
           }},
      });

  if (config.builder.max_jobs == 0) {
    config.builder.max_jobs = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  }
  if (config.registry.docker_config.empty()) {
    const char* dir = std::getenv("DOCKER_CONFIG");
    config.registry.docker_config = dir != nullptr && *dir != '\0'
                                        ? std::filesystem::path(dir) / "config.json"
                                        : ExpandHome("~/.docker/config.json");
  }
  auto& registry = config.registry;
  if (!insecure_node) {
    registry.insecure = registry.embedded || IsLoopbackHost(ParseHostPort(registry.url, 443).host);
  } else if (registry.embedded && !registry.insecure) {
    r.Fail(*insecure_node, "registry.insecure",
           "false needs a registry that speaks TLS, but the embedded one (registry.embedded: "
           "true, the default) serves plain HTTP on loopback; set registry.embedded: false to "
           "use an external registry over TLS, or drop registry.insecure: false");
  }
  if (config.data_dir.empty()) throw Error(source + ": data_dir: must not be empty");
  if (config.data_dir.is_relative()) config.data_dir = base_dir / config.data_dir;
  config.data_dir = config.data_dir.lexically_normal();
  if (config.builder.executor == "kaniko-kubernetes" &&
      config.builder.kubernetes.context_url.empty()) {
    throw Error(source +
                ": builder.kubernetes.context_url: required by executor kaniko-kubernetes (the "
                "URL build pods reach hephyd's HTTP server at, e.g. http://hephyd.hephy.svc:8080)");
  }
  for (auto* path : {&config.upstreams.credentials_file, &config.upstreams.ssh_key,
                     &config.upstreams.known_hosts, &config.registry.ca_file,
                     &config.registry.docker_config, &config.builder.kubernetes.kubeconfig}) {
    if (!path->empty()) *path = (config.data_dir / *path).lexically_normal();
  }
  return config;
}

Config LoadConfig(const std::optional<std::filesystem::path>& path) {
  std::optional<std::filesystem::path> file = path;
  if (!file) {
    const char* env = std::getenv("HEPHY_CONFIG");
    if (env != nullptr && *env != '\0') file = env;
  }
  const auto cwd = std::filesystem::current_path();
  if (!file) return ParseConfig("", "defaults", cwd);

  std::ifstream in(*file);
  if (!in) throw Error(file->string() + ": cannot read config file");
  std::stringstream text;
  text << in.rdbuf();
  Config config = ParseConfig(text.str(), file->string(), cwd);
  config.file = std::filesystem::absolute(*file);
  return config;
}

}  // namespace hephy

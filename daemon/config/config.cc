// The config file: its sections are read one per file (config_sections.h);
// here they are put together, with the defaults and checks that span them.
#include "hephy/config.h"

#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "config/config_sections.h"
#include "hephy/error.h"
#include "net/http_connection.h"

namespace hephy {

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
  const ConfigReader r(source);
  r.Map(root, "",
        {{"data_dir", [&](Node n, Key k) { config.data_dir = ExpandHome(r.Scalar(n, k)); }},
         {"ssh", [&](Node n, Key k) { ReadSshSection(r, n, k, config.ssh); }},
         {"http", [&](Node n, Key k) { ReadHttpSection(r, n, k, config.http); }},
         {"registry",
          [&](Node n, Key k) { ReadRegistrySection(r, n, k, config.registry, insecure_node); }},
         {"builder", [&](Node n, Key k) { ReadBuilderSection(r, n, k, config.builder); }},
         {"apps",
          [&](Node n, Key k) {
            r.Map(n, k, {{"auto_create", [&](Node v, Key vk) {
                            config.apps.auto_create = r.Bool(v, vk);
                          }}});
          }},
         {"upstreams", [&](Node n, Key k) { ReadUpstreamsSection(r, n, k, config.upstreams); }},
         {"serve", [&](Node n, Key k) { ReadServeSection(r, n, k, config.serve); }},
         {"retention", [&](Node n, Key k) { ReadRetentionSection(r, n, k, config.retention); }},
         {"push", [&](Node n, Key k) {
            r.Map(n, k, {{"color", [&](Node v, Key vk) {
                            const std::string value = r.Scalar(v, vk);
                            if (value == "auto") {
                              config.push.color = ColorMode::kAuto;
                            } else if (value == "always") {
                              config.push.color = ColorMode::kAlways;
                            } else if (value == "never") {
                              config.push.color = ColorMode::kNever;
                            } else {
                              r.Fail(v, vk, "expected auto, always or never, got '" + value + "'");
                            }
                          }}});
          }}});

  if (config.builder.max_jobs == 0) {
    config.builder.max_jobs = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  }
  if (config.builder.limits.memory == BuildLimits::kAutoMemory) {
    const uint64_t machine = static_cast<uint64_t>(sysconf(_SC_PHYS_PAGES)) *
                             static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
    config.builder.limits.memory = machine / static_cast<uint64_t>(config.builder.max_jobs + 1);
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
  if (config.http.tls_cert.empty() != config.http.tls_key.empty()) {
    throw Error(source + ": http.tls_cert and http.tls_key: set both to serve HTTPS, or neither");
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
  for (auto* path :
       {&config.upstreams.credentials_file, &config.upstreams.ssh_key,
        &config.upstreams.known_hosts, &config.registry.ca_file, &config.registry.docker_config,
        &config.builder.kubernetes.kubeconfig, &config.http.tls_cert, &config.http.tls_key}) {
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

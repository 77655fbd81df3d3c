// deploy/local/hephy.yaml, the example configuration of the README,
// checked offline against hephyd's own parser.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>

#include "deploy_kit.h"
#include "hephy/config.h"

namespace hephy {
namespace {

using deploy_kit::kRoot;

// The README's example configuration says "every key at its default": it
// must parse, and to exactly what no file gives.
TEST(DeployLocalExample, ParsesToTheBuiltInDefaults) {
  const std::string file = "deploy/local/hephy.yaml";
  std::ifstream in(kRoot / file);
  const Config e = ParseConfig(std::string(std::istreambuf_iterator<char>(in), {}), file, "/srv");
  const Config d = ParseConfig("", "(defaults)", "/srv");
  EXPECT_EQ(e.data_dir, d.data_dir) << file << ": data_dir";
  EXPECT_EQ(e.ssh.listen.ToString(), d.ssh.listen.ToString()) << file << ": ssh.listen";
  EXPECT_EQ(e.ssh.max_sessions, d.ssh.max_sessions) << file << ": ssh.max_sessions";
  EXPECT_EQ(e.ssh.max_startups, d.ssh.max_startups) << file << ": ssh.max_startups";
  EXPECT_EQ(e.ssh.idle_timeout, d.ssh.idle_timeout) << file << ": ssh.idle_timeout";
  EXPECT_EQ(e.ssh.max_pushes_per_user, d.ssh.max_pushes_per_user) << file;
  EXPECT_EQ(e.ssh.auth_failures.limit, d.ssh.auth_failures.limit) << file;
  EXPECT_EQ(e.ssh.auth_failures.window, d.ssh.auth_failures.window) << file;
  EXPECT_EQ(e.ssh.auth_failures.block, d.ssh.auth_failures.block) << file;
  EXPECT_EQ(e.http.listen.ToString(), d.http.listen.ToString()) << file << ": http.listen";
  EXPECT_EQ(e.http.max_connections, d.http.max_connections) << file;
  EXPECT_EQ(e.http.open_endpoints, d.http.open_endpoints) << file << ": http.open_endpoints";
  EXPECT_EQ(e.registry.url, d.registry.url) << file << ": registry.url";
  EXPECT_EQ(e.registry.repository, d.registry.repository) << file;
  EXPECT_EQ(e.registry.insecure, d.registry.insecure) << file << ": registry.insecure";
  EXPECT_EQ(e.registry.embedded, d.registry.embedded) << file << ": registry.embedded";
  EXPECT_EQ(e.registry.ca_file, d.registry.ca_file) << file << ": registry.ca_file";
  EXPECT_EQ(e.registry.docker_config, d.registry.docker_config) << file;
  EXPECT_EQ(e.registry.retry.attempts, d.registry.retry.attempts) << file;
  EXPECT_EQ(e.registry.retry.max_time, d.registry.retry.max_time) << file;
  const BuilderConfig& eb = e.builder;
  const BuilderConfig& db = d.builder;
  EXPECT_EQ(eb.executor, db.executor) << file << ": builder.executor";
  EXPECT_EQ(eb.platforms, db.platforms) << file << ": builder.platforms";
  EXPECT_EQ(eb.branches, db.branches) << file << ": builder.branches";
  EXPECT_EQ(eb.timeout, db.timeout) << file << ": builder.timeout";
  EXPECT_EQ(eb.max_jobs, db.max_jobs) << file << ": builder.max_jobs";
  EXPECT_EQ(eb.rebuild_schedule, db.rebuild_schedule) << file;
  EXPECT_EQ(eb.buildah.storage_driver, db.buildah.storage_driver) << file;
  EXPECT_EQ(eb.buildah.isolation, db.buildah.isolation) << file;
  EXPECT_EQ(eb.network, db.network) << file << ": builder.network";
  EXPECT_EQ(eb.limits.memory, db.limits.memory) << file << ": builder.limits.memory";
  EXPECT_EQ(eb.limits.pids, db.limits.pids) << file << ": builder.limits.pids";
  EXPECT_EQ(eb.limits.cpu_shares, db.limits.cpu_shares) << file << ": builder.limits.cpu_shares";
  EXPECT_EQ(eb.cache.enabled, db.cache.enabled) << file << ": builder.cache.enabled";
  EXPECT_EQ(eb.cache.max_size_bytes, db.cache.max_size_bytes) << file << ": builder.cache.max_size";
  EXPECT_EQ(eb.cache.max_size_percent, db.cache.max_size_percent) << file;
  EXPECT_EQ(eb.cache.ttl, db.cache.ttl) << file << ": builder.cache.ttl";
  EXPECT_EQ(eb.kaniko.image, db.kaniko.image) << file << ": builder.kaniko.image";
  EXPECT_EQ(eb.kaniko.executor_path, db.kaniko.executor_path) << file;
  EXPECT_EQ(eb.kaniko.parallel, db.kaniko.parallel) << file;
  const KubernetesConfig& ek = eb.kubernetes;
  const KubernetesConfig& dk = db.kubernetes;
  EXPECT_EQ(ek.kubeconfig, dk.kubeconfig) << file << ": builder.kubernetes.kubeconfig";
  EXPECT_EQ(ek.context, dk.context) << file;
  EXPECT_EQ(ek.namespace_name, dk.namespace_name) << file;
  EXPECT_EQ(ek.context_url, dk.context_url) << file;
  EXPECT_EQ(ek.init_image, dk.init_image) << file << ": builder.kubernetes.init_image";
  EXPECT_EQ(ek.registry_secret, dk.registry_secret) << file;
  EXPECT_EQ(ek.service_account, dk.service_account) << file;
  EXPECT_EQ(ek.node_selector, dk.node_selector) << file;
  EXPECT_EQ(ek.tolerations.size(), dk.tolerations.size()) << file;
  EXPECT_EQ(ek.requests, dk.requests) << file;
  EXPECT_EQ(ek.limits, dk.limits) << file;
  EXPECT_EQ(ek.start_timeout, dk.start_timeout) << file;
  EXPECT_EQ(ek.unschedulable_grace, dk.unschedulable_grace) << file;
  EXPECT_EQ(e.apps.auto_create, d.apps.auto_create) << file << ": apps.auto_create";
  EXPECT_EQ(e.upstreams.credentials_file, d.upstreams.credentials_file) << file;
  EXPECT_EQ(e.upstreams.token_env, d.upstreams.token_env) << file;
  EXPECT_EQ(e.upstreams.ssh_key, d.upstreams.ssh_key) << file;
  EXPECT_EQ(e.upstreams.known_hosts, d.upstreams.known_hosts) << file;
  EXPECT_EQ(e.upstreams.allow_local, d.upstreams.allow_local) << file;
  EXPECT_EQ(e.upstreams.allow_hosts, d.upstreams.allow_hosts) << file;
  EXPECT_EQ(e.upstreams.token_hosts, d.upstreams.token_hosts) << file;
  EXPECT_EQ(e.upstreams.timeout, d.upstreams.timeout) << file << ": upstreams.timeout";
  EXPECT_EQ(e.retention.builds_days, d.retention.builds_days) << file;
  EXPECT_EQ(e.retention.builds_keep, d.retention.builds_keep) << file;
  EXPECT_EQ(e.retention.images_keep, d.retention.images_keep) << file;
  EXPECT_EQ(e.retention.daily, d.retention.daily) << file;
}

}  // namespace
}  // namespace hephy

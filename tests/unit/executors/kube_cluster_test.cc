#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>

#include "error_of.h"
#include "executors/kube_client.h"
#include "test_dir.h"
#include "util/base64.h"

namespace hephy {
namespace {

namespace fs = std::filesystem;

const std::string kCaPem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
const std::string kKeyPem = "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n";

void Write(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

class KubeconfigTest : public testing::Test {
 protected:
  fs::path Config(const std::string& yaml) {
    const fs::path file = dir_.path() / "kube" / "config";
    Write(file, yaml);
    return file;
  }
  TestDir dir_;
};

TEST_F(KubeconfigTest, ReadsTheCurrentContextWithTokenAndInlineCa) {
  const fs::path file = Config(R"(apiVersion: v1
kind: Config
current-context: build
contexts:
- name: other
  context: {cluster: far, user: nobody}
- name: build
  context: {cluster: near, user: builder, namespace: hephy}
clusters:
- name: near
  cluster:
    server: https://10.0.0.1:6443
    certificate-authority-data: )" +
                               Base64Encode(kCaPem) + R"(
users:
- name: builder
  user: {token: " abc.def "}
)");
  const KubeCluster cluster = KubeconfigKube(file);
  EXPECT_EQ(cluster.server, "https://10.0.0.1:6443");
  EXPECT_EQ(cluster.ca_pem, kCaPem);
  EXPECT_EQ(cluster.token, "abc.def");
  EXPECT_TRUE(cluster.token_file.empty());
  EXPECT_EQ(cluster.default_namespace, "hephy");
  EXPECT_FALSE(cluster.insecure_skip_tls_verify);
}

TEST_F(KubeconfigTest, TakesRelativeFilesFromTheKubeconfigsDirectory) {
  Write(dir_.path() / "kube" / "certs" / "ca.crt", kCaPem);
  Write(dir_.path() / "kube" / "certs" / "client.crt", kCaPem);
  Write(dir_.path() / "kube" / "certs" / "client.key", kKeyPem);
  Write(dir_.path() / "kube" / "token", "t0k3n\n");
  const fs::path file = Config(R"(current-context: a
contexts: [{name: a, context: {cluster: c, user: u}}, {name: b, context: {cluster: c, user: v}}]
clusters: [{name: c, cluster: {server: "https://kube.example:443", certificate-authority: certs/ca.crt}}]
users:
- name: u
  user: {client-certificate: certs/client.crt, client-key: certs/client.key}
- name: v
  user: {tokenFile: token}
)");
  const KubeCluster a = KubeconfigKube(file);
  EXPECT_EQ(a.ca_pem, kCaPem);
  EXPECT_EQ(a.client_cert_pem, kCaPem);
  EXPECT_EQ(a.client_key_pem, kKeyPem);
  EXPECT_EQ(a.default_namespace, "");
  const KubeCluster b = KubeconfigKube(file, "b");
  EXPECT_EQ(b.token_file, dir_.path() / "kube" / "token");
  EXPECT_EQ(b.token, "");
}

TEST_F(KubeconfigTest, ReadsInlineClientCertificatesAndInsecureSkipTlsVerify) {
  const fs::path file = Config(R"(current-context: a
contexts: [{name: a, context: {cluster: c, user: u}}]
clusters: [{name: c, cluster: {server: "https://127.0.0.1:6443", insecure-skip-tls-verify: true}}]
users:
- name: u
  user:
    client-certificate-data: )" +
                               Base64Encode(kCaPem) +
                               R"(
    client-key-data: )" + Base64Encode(kKeyPem) +
                               R"(
)");
  const KubeCluster cluster = KubeconfigKube(file);
  EXPECT_TRUE(cluster.insecure_skip_tls_verify);
  EXPECT_EQ(cluster.client_cert_pem, kCaPem);
  EXPECT_EQ(cluster.client_key_pem, kKeyPem);
}

TEST_F(KubeconfigTest, AContextWithoutUserIsAnonymous) {
  const fs::path file = Config(R"(current-context: proxy
contexts: [{name: proxy, context: {cluster: local}}]
clusters: [{name: local, cluster: {server: "http://127.0.0.1:8001"}}]
)");
  const KubeCluster cluster = KubeconfigKube(file);
  EXPECT_EQ(cluster.server, "http://127.0.0.1:8001");
  EXPECT_EQ(cluster.token, "");
  EXPECT_EQ(cluster.client_cert_pem, "");
}

TEST_F(KubeconfigTest, RefusesExecAndAuthProviderUsersNamingFileAndUser) {
  const fs::path file = Config(R"(current-context: eks
contexts: [{name: eks, context: {cluster: c, user: aws}}, {name: gke, context: {cluster: c, user: gcp}}]
clusters: [{name: c, cluster: {server: "https://example.eks.amazonaws.com"}}]
users:
- name: aws
  user:
    exec: {apiVersion: client.authentication.k8s.io/v1beta1, command: aws, args: [eks, get-token]}
- name: gcp
  user:
    auth-provider: {name: gcp}
)");
  EXPECT_EQ(ErrorOf([&] { KubeconfigKube(file); }),
            "kubeconfig " + file.string() +
                ": user 'aws': exec credential plugins are not supported; use a token, tokenFile "
                "or client certificate (e.g. a service account token)");
  EXPECT_EQ(ErrorOf([&] { KubeconfigKube(file, "gke"); }),
            "kubeconfig " + file.string() +
                ": user 'gcp': auth-provider is not supported; use a token, tokenFile or client "
                "certificate (e.g. a service account token)");
}

TEST_F(KubeconfigTest, ErrorsNameTheFileAndTheReason) {
  const std::string base = R"(contexts: [{name: a, context: {cluster: c, user: u}}]
clusters: [{name: c, cluster: {server: "https://h:1", certificate-authority: missing.crt}}]
users: [{name: u, user: {token: x}}]
)";
  const fs::path file = Config(base);
  const std::string prefix = "kubeconfig " + file.string() + ": ";
  EXPECT_EQ(ErrorOf([&] { KubeconfigKube(file); }),
            prefix + "no current-context, and no context named to use instead");
  EXPECT_EQ(ErrorOf([&] { KubeconfigKube(file, "b"); }),
            prefix + "no context named 'b' in contexts (there are: a)");
  EXPECT_EQ(ErrorOf([&] { KubeconfigKube(file, "a"); }),
            prefix + "cluster 'c': certificate-authority " +
                (file.parent_path() / "missing.crt").string() +
                ": cannot read: No such file or directory");

  Config(R"(current-context: a
contexts: [{name: a, context: {cluster: c, user: u}}]
clusters: [{name: c, cluster: {server: "https://h:1", certificate-authority-data: "!!"}}]
)");
  EXPECT_EQ(ErrorOf([&] { KubeconfigKube(file); }),
            prefix + "cluster 'c': certificate-authority-data: not base64");

  Config(R"(current-context: a
contexts: [{name: a, context: {cluster: c, user: u}}]
clusters: [{name: c, cluster: {server: "https://h:1"}}]
users: [{name: u, user: {client-certificate-data: )" +
         Base64Encode(kCaPem) + R"(}}]
)");
  EXPECT_EQ(ErrorOf([&] { KubeconfigKube(file); }),
            prefix + "user 'u': a client certificate needs both client-certificate and client-key");

  Config(R"(current-context: a
contexts: [{name: a, context: {cluster: c, user: u}}]
clusters: [{name: c, cluster: {server: "https://h:1", certificate-authority-data: )" +
         Base64Encode("not a certificate") + R"(}}]
)");
  EXPECT_EQ(ErrorOf([&] { KubeconfigKube(file); }),
            prefix + "cluster 'c': certificate-authority-data: not PEM");

  Config("current-context: [a\n");
  const std::string invalid = ErrorOf([&] { KubeconfigKube(file); });
  EXPECT_TRUE(invalid.starts_with("kubeconfig " + file.string() + ":")) << invalid;
  EXPECT_NE(invalid.find(": invalid YAML: "), std::string::npos) << invalid;

  EXPECT_EQ(ErrorOf([&] { KubeconfigKube(dir_.path() / "absent"); }),
            "kubeconfig " + (dir_.path() / "absent").string() +
                ": cannot read: No such file or directory");
}

class InClusterTest : public testing::Test {
 protected:
  void SetUp() override {
    Write(account_ / "token", "service-account-token\n");
    Write(account_ / "ca.crt", kCaPem);
    Write(account_ / "namespace", "builds");
    setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
    setenv("KUBERNETES_SERVICE_PORT", "443", 1);
  }
  void TearDown() override {
    unsetenv("KUBERNETES_SERVICE_HOST");
    unsetenv("KUBERNETES_SERVICE_PORT");
  }
  TestDir dir_;
  fs::path account_ = dir_.path() / "serviceaccount";
};

TEST_F(InClusterTest, ReadsTheServiceAccountAndTheServiceAddress) {
  const KubeCluster cluster = InClusterKube(account_);
  EXPECT_EQ(cluster.server, "https://10.96.0.1:443");
  EXPECT_EQ(cluster.ca_pem, kCaPem);
  EXPECT_EQ(cluster.token_file, account_ / "token");
  EXPECT_EQ(cluster.token, "");
  EXPECT_EQ(cluster.default_namespace, "builds");
}

TEST_F(InClusterTest, PutsAnIpv6HostInBrackets) {
  setenv("KUBERNETES_SERVICE_HOST", "fd00:10:96::1", 1);
  EXPECT_EQ(InClusterKube(account_).server, "https://[fd00:10:96::1]:443");
}

TEST_F(InClusterTest, SaysWhatIsMissing) {
  fs::remove(account_ / "ca.crt");
  EXPECT_EQ(ErrorOf([&] { InClusterKube(account_); }),
            "service account " + (account_ / "ca.crt").string() +
                ": cannot read: No such file or directory; set builder.kubernetes.kubeconfig");
  unsetenv("KUBERNETES_SERVICE_HOST");
  EXPECT_EQ(ErrorOf([&] { InClusterKube(account_); }),
            "not running in a Kubernetes pod: KUBERNETES_SERVICE_HOST is not set; set "
            "builder.kubernetes.kubeconfig");
}

}  // namespace
}  // namespace hephy

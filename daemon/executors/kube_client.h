// hephyd's own client of the Kubernetes API (no kubectl at run time): where
// the API server is and how to prove who we are (in-cluster service account
// or a kubeconfig file), plain JSON requests, and streamed responses (watch
// events, a container's log followed) read line by line as they arrive.
// HTTPS (or plain HTTP, which kubeconfig allows for a local API server)
// over Boost.Beast.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>

#include "hephy/error.h"

namespace hephy {

// How to reach one API server, and as whom.
struct KubeCluster {
  std::string server;  // "https://10.96.0.1:443", "http://127.0.0.1:8001"
  // PEM of the CA the server's certificate must chain to; empty: the
  // system's CA store.
  std::string ca_pem;
  bool insecure_skip_tls_verify = false;  // kubeconfig's insecure-skip-tls-verify
  // Bearer token: the file is read again before every request, as the
  // kubelet rotates projected service-account tokens; else `token`.
  std::filesystem::path token_file;
  std::string token;
  // Client certificate and its key (PEM), both or neither.
  std::string client_cert_pem;
  std::string client_key_pem;
  // The namespace the credentials are for: the service account's, or the
  // kubeconfig context's; empty when neither says.
  std::string default_namespace;
};

// In-cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT, the
// service account's token, ca.crt and namespace under `account_dir`
// (/var/run/secrets/kubernetes.io/serviceaccount). Throws Error naming what
// is missing ("not running in a Kubernetes pod: KUBERNETES_SERVICE_HOST is
// not set; set builder.kubernetes.kubeconfig").
KubeCluster InClusterKube(
    const std::filesystem::path& account_dir = "/var/run/secrets/kubernetes.io/serviceaccount");

// From a kubeconfig file: the named context, or its current-context when
// `context` is empty; the cluster's server, certificate-authority(-data)
// and insecure-skip-tls-verify; the user's token, tokenFile,
// client-certificate(-data) and client-key(-data). Relative file paths are
// taken from the kubeconfig's directory. Throws Error naming the file and
// the reason (missing context, an exec or auth-provider user, which hephyd
// does not run, unreadable certificate ...).
KubeCluster KubeconfigKube(const std::filesystem::path& file, const std::string& context = "");

// The API server answered with an error status. message() is the reason
// from its Status object when there is one.
class KubeError : public Error {
 public:
  KubeError(int status, std::string reason, const std::string& what)
      : Error(what), status_(status), reason_(std::move(reason)) {}
  int status() const { return status_; }
  // The Status object's reason ("NotFound", "AlreadyExists", "Forbidden"),
  // or "" when the body was not a Status.
  const std::string& reason() const { return reason_; }

 private:
  int status_;
  std::string reason_;
};

class KubeClient {
 public:
  // `timeout` bounds connecting (with the TLS handshake), writing a request
  // and waiting for a response's head, and for plain requests its body.
  // Throws Error for a server URL, certificate or key that cannot be used.
  explicit KubeClient(KubeCluster cluster,
                      std::chrono::milliseconds timeout = std::chrono::seconds(30));
  ~KubeClient();
  KubeClient(const KubeClient&) = delete;
  KubeClient& operator=(const KubeClient&) = delete;

  // One request with an optional JSON body (Content-Type: application/json);
  // returns the parsed JSON answer of a 2xx status. Throws KubeError for any
  // other status ("POST /api/v1/namespaces/x/pods: 403 Forbidden: pods is
  // forbidden: ..."), ConnectionError (http_connection.h) when the server
  // cannot be reached or the connection breaks, Error otherwise (a refused
  // certificate, an answer that is not JSON). An empty body is JSON null.
  // Thread-safe: each call uses a connection of its own.
  nlohmann::json Request(const std::string& method, const std::string& target,
                         const std::optional<nlohmann::json>& body = std::nullopt);

  // GET whose response body is a stream (?watch=true, a log with
  // follow=true): hands each line (without its "\n" or "\r\n"; a last line
  // without one too) to `on_line` as it arrives, on the calling thread,
  // until the server ends the response, `on_line` returns false, or a stop
  // is requested on `stop` (which interrupts a connect or read in progress
  // at once). Returns true when the server ended it, false otherwise.
  // Throws as Request for a status other than 2xx, before any line, and
  // ConnectionError when the connection breaks mid-stream. No timeout
  // applies once the head has arrived: a quiet build may print nothing for
  // minutes. Thread-safe, like Request.
  bool Stream(const std::string& target, const std::function<bool(std::string_view line)>& on_line,
              std::stop_token stop);

  const KubeCluster& cluster() const { return cluster_; }

 private:
  struct Impl;
  KubeCluster cluster_;
  std::chrono::milliseconds timeout_;
  std::unique_ptr<Impl> impl_;
};

// "a=b,c=d" percent-encoded for a query: label and field selectors.
std::string KubeQueryEscape(std::string_view text);

}  // namespace hephy

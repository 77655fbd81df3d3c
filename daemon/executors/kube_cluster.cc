// Where the Kubernetes API server is and how to prove who we are: the pod's
// service account, or a kubeconfig file (daemon/executors/kube_client.h).
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "executors/kube_client.h"
#include "util/base64.h"

namespace hephy {
namespace {

namespace fs = std::filesystem;

// The whole file, or nullopt when it cannot be opened.
std::optional<std::string> ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string Trimmed(std::string text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return "";
  return text.substr(first, text.find_last_not_of(" \t\r\n") - first + 1);
}

std::string Environment(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? "" : value;
}

// One kubeconfig file being read: every error names it, and the entry (or
// line) it is about.
class Kubeconfig {
 public:
  explicit Kubeconfig(fs::path file) : file_(std::move(file)) {
    const std::optional<std::string> text = ReadFile(file_);
    if (!text) Fail("cannot read: " + std::string(std::strerror(errno)));
    try {
      root_ = YAML::Load(*text);
    } catch (const YAML::Exception& e) {
      throw Error("kubeconfig " + file_.string() + ":" + std::to_string(e.mark.line + 1) +
                  ": invalid YAML: " + e.msg);
    }
    if (!root_.IsMap())
      Fail("not a kubeconfig (expected a mapping with clusters, users, contexts)");
  }

  KubeCluster Load(const std::string& context_name) {
    std::string name = context_name;
    if (name.empty()) {
      name = String(root_["current-context"], "current-context");
      if (name.empty()) Fail("no current-context, and no context named to use instead");
    }
    const YAML::Node context = Entry("contexts", "context", name);
    const std::string where = "context '" + name + "'";
    KubeCluster out;
    out.default_namespace = String(context["namespace"], where + ": namespace");

    const std::string cluster_name = String(context["cluster"], where + ": cluster");
    if (cluster_name.empty()) Fail(where + " names no cluster");
    LoadCluster(Entry("clusters", "cluster", cluster_name), "cluster '" + cluster_name + "'", out);

    // A context without a user is anonymous, as for `kubectl proxy`.
    const std::string user_name = String(context["user"], where + ": user");
    if (!user_name.empty()) {
      LoadUser(Entry("users", "user", user_name), "user '" + user_name + "'", out);
    }
    return out;
  }

 private:
  [[noreturn]] void Fail(const std::string& why) const {
    throw Error("kubeconfig " + file_.string() + ": " + why);
  }

  std::string String(const YAML::Node& node, const std::string& what) const {
    if (!node.IsDefined() || node.IsNull()) return "";
    if (!node.IsScalar()) Fail(what + ": expected a string");
    return node.Scalar();
  }

  // The `field` mapping of the entry of list `list` called `name`.
  YAML::Node Entry(const std::string& list, const std::string& field, const std::string& name) {
    const YAML::Node entries = root_[list];
    std::string known;
    if (entries.IsSequence()) {
      for (const YAML::Node& entry : entries) {
        if (!entry.IsMap()) continue;
        const std::string entry_name = String(entry["name"], list + ": name");
        if (entry_name != name) {
          known += (known.empty() ? "" : ", ") + entry_name;
          continue;
        }
        const YAML::Node body = entry[field];
        if (!body.IsMap()) Fail(field + " '" + name + "': no '" + field + "' mapping");
        return body;
      }
    }
    Fail("no " + field + " named '" + name + "' in " + list +
         (known.empty() ? " (there are none)" : " (there are: " + known + ")"));
  }

  // A relative path in a kubeconfig is taken from the file's directory.
  fs::path Path(const std::string& text) const {
    const fs::path path(text);
    return path.is_absolute() ? path : file_.parent_path() / path;
  }

  // The PEM of `key`-data (base64) or of the file `key` names; "" when the
  // entry has neither.
  std::string Pem(const YAML::Node& entry, const std::string& where, const std::string& key) {
    const std::string data = String(entry[key + "-data"], where + ": " + key + "-data");
    const std::string file = String(entry[key], where + ": " + key);
    std::string pem;
    std::string source;
    if (!data.empty()) {
      std::string compact;
      for (const char c : data) {
        if (c != '\n' && c != '\r' && c != ' ') compact += c;
      }
      const std::optional<std::string> decoded = Base64Decode(compact);
      if (!decoded) Fail(where + ": " + key + "-data: not base64");
      pem = *decoded;
      source = key + "-data";
    } else if (!file.empty()) {
      const fs::path path = Path(file);
      const std::optional<std::string> text = ReadFile(path);
      if (!text) {
        Fail(where + ": " + key + " " + path.string() + ": cannot read: " + std::strerror(errno));
      }
      pem = *text;
      source = key + " " + path.string();
    } else {
      return "";
    }
    if (pem.find("-----BEGIN ") == std::string::npos) Fail(where + ": " + source + ": not PEM");
    return pem;
  }

  void LoadCluster(const YAML::Node& cluster, const std::string& where, KubeCluster& out) {
    out.server = String(cluster["server"], where + ": server");
    if (out.server.empty()) Fail(where + " has no server");
    if (cluster["proxy-url"].IsDefined()) Fail(where + ": proxy-url is not supported");
    out.ca_pem = Pem(cluster, where, "certificate-authority");
    const YAML::Node insecure = cluster["insecure-skip-tls-verify"];
    if (insecure.IsDefined() && !insecure.IsNull()) {
      if (!insecure.IsScalar() ||
          !YAML::convert<bool>::decode(insecure, out.insecure_skip_tls_verify)) {
        Fail(where + ": insecure-skip-tls-verify: expected true or false");
      }
    }
  }

  void LoadUser(const YAML::Node& user, const std::string& where, KubeCluster& out) {
    // Credential plugins would run programs named in the file; hephyd runs
    // none of them.
    if (user["exec"].IsDefined()) {
      Fail(where +
           ": exec credential plugins are not supported; use a token, tokenFile or "
           "client certificate (e.g. a service account token)");
    }
    if (user["auth-provider"].IsDefined()) {
      Fail(where +
           ": auth-provider is not supported; use a token, tokenFile or client "
           "certificate (e.g. a service account token)");
    }
    if (user["username"].IsDefined() || user["password"].IsDefined()) {
      Fail(where +
           ": basic authentication (username/password) is not supported by Kubernetes "
           "any more; use a token, tokenFile or client certificate");
    }
    // kubectl prefers token to tokenFile.
    out.token = Trimmed(String(user["token"], where + ": token"));
    const std::string token_file = String(user["tokenFile"], where + ": tokenFile");
    if (out.token.empty() && !token_file.empty()) {
      out.token_file = Path(token_file);
      if (!ReadFile(out.token_file)) {
        Fail(where + ": tokenFile " + out.token_file.string() +
             ": cannot read: " + std::strerror(errno));
      }
    }
    out.client_cert_pem = Pem(user, where, "client-certificate");
    out.client_key_pem = Pem(user, where, "client-key");
    if (out.client_cert_pem.empty() != out.client_key_pem.empty()) {
      Fail(where + ": a client certificate needs both client-certificate and client-key");
    }
  }

  fs::path file_;
  YAML::Node root_;
};

}  // namespace

KubeCluster InClusterKube(const fs::path& account_dir) {
  const std::string host = Environment("KUBERNETES_SERVICE_HOST");
  const std::string port = Environment("KUBERNETES_SERVICE_PORT");
  const std::string advice = "; set builder.kubernetes.kubeconfig";
  if (host.empty()) {
    throw Error("not running in a Kubernetes pod: KUBERNETES_SERVICE_HOST is not set" + advice);
  }
  if (port.empty()) {
    throw Error("not running in a Kubernetes pod: KUBERNETES_SERVICE_PORT is not set" + advice);
  }
  if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos) {
    throw Error("KUBERNETES_SERVICE_PORT: bad port '" + port + "'");
  }
  const bool v6 = host.find(':') != std::string::npos;
  KubeCluster out;
  out.server = "https://" + (v6 ? "[" + host + "]" : host) + ":" + port;

  const auto read = [&](const std::string& name) {
    const fs::path path = account_dir / name;
    std::optional<std::string> text = ReadFile(path);
    if (!text) {
      throw Error("service account " + path.string() + ": cannot read: " + std::strerror(errno) +
                  advice);
    }
    return *text;
  };
  out.token_file = account_dir / "token";
  read("token");  // read again before each request; here only to fail early
  out.ca_pem = read("ca.crt");
  if (out.ca_pem.find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
    throw Error("service account " + (account_dir / "ca.crt").string() + ": not PEM certificates");
  }
  out.default_namespace = Trimmed(read("namespace"));
  return out;
}

KubeCluster KubeconfigKube(const fs::path& file, const std::string& context) {
  return Kubeconfig(file).Load(context);
}

}  // namespace hephy

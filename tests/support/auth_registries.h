// Real docker-registries that make clients authenticate, for tests of
// hephyd's registry credentials: one with HTTP Basic authentication (over
// TLS, as clients send passwords only there), one with bearer tokens from a
// TokenIssuer. Needs the htpasswd command (apache2-utils).
#pragma once

#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "test_ca.h"
#include "test_dir.h"
#include "test_registry.h"
#include "token_issuer.h"
#include "util/process.h"

namespace hephy {

// A TlsTestRegistry that answers only requests with `user`'s Basic
// credentials; 401 with `Basic realm="<realm()>"` to others.
class BasicAuthTestRegistry {
 public:
  BasicAuthTestRegistry(const std::string& user, const std::string& password,
                        const std::vector<std::string>& sans = {"IP:127.0.0.1", "DNS:localhost"})
      : ca_(dir_.path() / "ca"),
        issued_(ca_.Issue("registry", sans)),
        htpasswd_(WriteHtpasswd(dir_.path() / "htpasswd", user, password)),
        registry_(EmbeddedRegistry::Tls{issued_.certificate, issued_.key, ca_.certificate()},
                  EmbeddedRegistry::HtpasswdAuth{realm(), htpasswd_}) {}

  // "127.0.0.1:PORT".
  std::string url() const { return registry_.url(); }
  // The test CA's certificate (PEM), which clients must trust.
  std::filesystem::path ca_file() const { return ca_.certificate(); }
  std::string realm() const { return "hephy test registry"; }

 private:
  // One bcrypt entry, the only kind docker-registry accepts. The password
  // goes on stdin rather than in argv.
  static std::filesystem::path WriteHtpasswd(const std::filesystem::path& path,
                                             const std::string& user, const std::string& password) {
    const RunResult r = Run({.argv = {"htpasswd", "-n", "-B", "-i", user}}, password + "\n");
    if (r.exit_code != 0) throw std::runtime_error("htpasswd failed: " + r.err);
    std::ofstream out(path);
    out << r.out;
    if (!out.flush()) throw std::runtime_error("cannot write " + path.string());
    return path;
  }

  TestDir dir_;
  TestCa ca_;
  TestCa::Issued issued_;
  std::filesystem::path htpasswd_;
  TestRegistry registry_;
};

// A TestRegistry (plain HTTP on 127.0.0.1) with `auth: token`: it answers
// requests without a valid token with 401 and a challenge `Bearer
// realm="<issuer().realm()>",service="<issuer().service()>"` (with
// `,scope="repository:NAME:ACTIONS"` for a repository's routes), and trusts
// the tokens of its TokenIssuer, which knows `user` and `password`.
class TokenAuthTestRegistry {
 public:
  TokenAuthTestRegistry(const std::string& user, const std::string& password)
      : issuer_(user, password),
        registry_(std::nullopt,
                  EmbeddedRegistry::TokenAuth{issuer_.realm(), issuer_.service(), issuer_.issuer(),
                                              issuer_.certificate()}) {}

  // "127.0.0.1:PORT".
  std::string url() const { return registry_.url(); }
  TokenIssuer& issuer() { return issuer_; }

 private:
  TokenIssuer issuer_;
  TestRegistry registry_;
};

}  // namespace hephy

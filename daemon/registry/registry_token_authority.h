// The embedded registry's token service, minus the HTTP: it signs the tokens
// (the docker registry token protocol, distribution's docs/spec/auth), and
// knows the two kinds of callers that are not users: hephyd itself (its
// service credentials, made at start and never written anywhere) and each
// running build (credentials made for it, valid while it runs). Users with
// API tokens and what they may do are the HTTP API's business.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hephy/registry_credentials.h"
#include "registry/token_signer.h"

namespace hephy {

// One entry of a token's "access" claim: "repository", "web", {"pull"}.
struct RegistryGrant {
  std::string type;
  std::string name;
  std::vector<std::string> actions;

  bool operator==(const RegistryGrant&) const = default;
};

// A caller that authenticated with credentials of the authority's own.
struct RegistryPrincipal {
  enum class Kind { kService, kBuild };
  Kind kind = Kind::kService;
  std::string app;                  // kBuild: the app being built
  std::optional<std::string> user;  // kBuild: whose read access its pulls have
};

class RegistryTokenAuthority {
 public:
  // The registry's auth.token.service and issuer: every token's aud and iss.
  static constexpr char kService[] = "hephyd-registry";
  static constexpr char kIssuer[] = "hephyd";
  // How long a token is good for; clients ask again when it ends.
  static constexpr std::chrono::seconds kLifetime{300};

  // The signing key and certificate live in `dir` (data_dir); see TokenSigner.
  explicit RegistryTokenAuthority(const std::filesystem::path& dir);
  RegistryTokenAuthority(const RegistryTokenAuthority&) = delete;
  RegistryTokenAuthority& operator=(const RegistryTokenAuthority&) = delete;

  const TokenSigner& signer() const { return signer_; }

  // hephyd's own: may pull, push and delete everything.
  const RegistryCredentials& service_credentials() const { return service_; }

  // Credentials for one build of `app`, whose Dockerfile pulls with `user`'s
  // read access (nullopt: no user's, as for a scheduled rebuild) and which
  // pushes to its own app's repository only. Valid until the pass is
  // destroyed. Thread-safe.
  class BuildPass {
   public:
    BuildPass(BuildPass&& other) noexcept;
    BuildPass& operator=(BuildPass&&) = delete;
    ~BuildPass();
    const RegistryCredentials& credentials() const { return credentials_; }

   private:
    friend class RegistryTokenAuthority;
    BuildPass(RegistryTokenAuthority* authority, RegistryCredentials credentials)
        : authority_(authority), credentials_(std::move(credentials)) {}
    RegistryTokenAuthority* authority_;
    RegistryCredentials credentials_;
  };
  BuildPass AdmitBuild(const std::string& app, const std::optional<std::string>& user);

  // Who `username` and `password` are, when they are the service's or a
  // running build's credentials; nullopt otherwise (a user, or nobody).
  // Their user names start with '@', which no user's name does.
  std::optional<RegistryPrincipal> Authenticate(std::string_view username,
                                                std::string_view password) const;

  struct Token {
    std::string jwt;
    std::string issued_at;  // RFC 3339, UTC
    int expires_in = 0;     // seconds
  };
  // A token for `subject` granting `access` (possibly nothing: an anonymous
  // caller's token, which the registry turns away from every repository).
  Token Issue(const std::string& subject, const std::vector<RegistryGrant>& access) const;

 private:
  struct Admitted {
    std::string password;
    RegistryPrincipal principal;
  };
  void Release(const std::string& username);

  const TokenSigner signer_;
  const RegistryCredentials service_;
  mutable std::mutex mutex_;
  std::map<std::string, Admitted, std::less<>> builds_;
  uint64_t next_build_ = 1;
};

}  // namespace hephy

// Registry credentials from a docker config.json (registry.docker_config),
// found as the docker CLI finds them, and the one-registry auth files handed
// to executors. Never logs or echoes a secret: errors name the file, the
// field or the credential helper, and the reason.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include "hephy/registry_credentials.h"

namespace hephy {

// A parsed config.json: its "auths", "credHelpers" and "credsStore"; other
// fields are ignored. A value: copy it, share it between threads (lookups are
// const; credential helpers run as separate processes).
class DockerConfig {
 public:
  // Parses `file`. A missing or empty file is an empty config (anonymous
  // access everywhere), as for docker. Throws Error naming the file (and the
  // line or field) when it cannot be read, is not JSON, has a field of the
  // wrong type, an "auth" that is not base64 "user:password", or a helper
  // name outside [A-Za-z0-9_.-]+ (it becomes part of a program name).
  static DockerConfig Load(const std::filesystem::path& file);

  // The credentials for `registry` ("host[:port]", as in registry.url), or
  // nullopt for anonymous access. As docker does:
  // - the key is "https://index.docker.io/v1/" for Docker Hub ("docker.io",
  //   "index.docker.io", "registry-1.docker.io"), else `registry` itself;
  // - credHelpers[key] names the helper, else credsStore does (the default
  //   helper for every registry); a helper's answer is final, auths is not
  //   consulted;
  // - without a helper, auths[key], else the first auths key that equals
  //   `registry` once "http://"/"https://" and any path are stripped
  //   ("https://host:5000/v2/" is host:5000). Its "auth" (base64
  //   "user:password", split at the first ':') wins over "username" and
  //   "password"; "identitytoken" is the identity token. An entry with none
  //   of these ({} is what a login through a helper leaves) is anonymous.
  // A helper runs as `docker-credential-NAME get` from PATH, argv only, with
  // the key on stdin, for at most `timeout`. "credentials not found" is
  // anonymous; user name "<token>" means the secret is an identity token.
  // Throws Error naming the registry and the helper program when the helper
  // cannot be run, times out, fails (with the start of its stderr, never its
  // stdout, which may hold the secret) or answers with something other than
  // {"Username": ..., "Secret": ...}.
  std::optional<RegistryCredentials> CredentialsFor(const std::string& registry,
                                                    std::chrono::milliseconds timeout) const;

 private:
  std::optional<RegistryCredentials> FromHelper(const std::string& helper,
                                                const std::string& registry, const std::string& key,
                                                std::chrono::milliseconds timeout) const;

  std::filesystem::path file_;
  std::map<std::string, RegistryCredentials> auths_;       // by key as written
  std::map<std::string, std::string> credential_helpers_;  // key -> NAME, "" for auths
  std::string credentials_store_;                          // NAME, or "" for none
};

// A docker config.json holding exactly `credentials` for `registry`, for
// executors that take an auth file (buildah --authfile, Kaniko's
// /kaniko/.docker/config.json): {"auths": {KEY: {"auth": base64
// "user:password"}}}, plus "identitytoken" when credentials has one; KEY as
// in CredentialsFor. `credentials` has a username or an identity token.
std::string AuthFileFor(const std::string& registry, const RegistryCredentials& credentials);

}  // namespace hephy

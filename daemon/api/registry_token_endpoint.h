// GET /v2/token: the embedded registry's token endpoint (its
// auth.token.realm), as the docker registry token protocol has it. A client
// (docker, podman, skopeo, buildah, hephyd's own) that the registry turned
// away with a Bearer challenge asks here, with HTTP Basic credentials, for a
// token for the scopes it needs ("repository:web:pull"), and gets one
// granting what its caller may do:
//
//   a user (user name and API token): pull of the apps it may read (of a
//   repository shared by every app, admins only), the catalog for admins;
//   never push or delete: only hephyd writes images;
//   a running build (RegistryTokenAuthority::AdmitBuild): pull and push of
//   its own app, pull of the apps its user may read;
//   hephyd itself: everything.
//
// No credentials get a token granting nothing; wrong ones get 401.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/http_server.h"
#include "hephy/config.h"
#include "hephy/store.h"
#include "registry/registry_token_authority.h"

namespace hephy {

struct RegistryTokenAnswer {
  HttpServerResponse response;
  std::string who;  // for the request's log line: "alice", "@build-3", "-"
};

// What a token may grant of the scopes asked for: one entry per scope with
// at least one action granted, in the order asked. Scopes are
// "TYPE:NAME:ACTIONS" (NAME may hold ':', ACTIONS comma-separated), several
// to one parameter separated by spaces.
class RegistryTokenEndpoint {
 public:
  RegistryTokenEndpoint(const Config& config, const RegistryTokenAuthority& authority)
      : config_(config), authority_(authority) {}

  // Throws ApiError 400 for a service other than the registry's, 401 for
  // credentials that are wrong or not Basic.
  RegistryTokenAnswer Answer(const HttpServerRequest& http, std::string_view query,
                             Store& store) const;

 private:
  struct Caller;
  std::vector<std::string> Allowed(const Caller& caller, const std::string& type,
                                   const std::string& name, Store& store) const;
  Caller Authenticate(const HttpServerRequest& http, Store& store) const;

  const Config& config_;
  const RegistryTokenAuthority& authority_;
};

}  // namespace hephy

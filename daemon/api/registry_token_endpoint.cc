#include "api/registry_token_endpoint.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "api/api_request.h"
#include "api/api_tokens.h"
#include "api/authorization.h"
#include "build/image_tags.h"
#include "store/rights.h"
#include "util/split.h"

namespace hephy {
namespace {

ApiError Unauthorized(const std::string& message) {
  return ApiError(401, message, {{"WWW-Authenticate", kBasicChallenge}});
}

}  // namespace

struct RegistryTokenEndpoint::Caller {
  std::optional<User> user;
  std::optional<RegistryPrincipal> principal;
  std::string name = "-";
};

RegistryTokenEndpoint::Caller RegistryTokenEndpoint::Authenticate(const HttpServerRequest& http,
                                                                  Store& store) const {
  Caller caller;
  const std::string header = http.Header("authorization");
  if (header.empty()) return caller;
  const auto authorization = ParseAuthorization(header);
  const auto basic = authorization ? BasicCredentialsOf(*authorization) : std::nullopt;
  if (!basic) {
    throw Unauthorized(
        "the registry's tokens need HTTP Basic credentials: your user name and an API token "
        "(`hephyd tokens create USER`), as `docker login` and `podman login` send them");
  }
  const std::string& username = basic->user;
  const std::string& password = basic->password;
  if (username.starts_with('@')) {
    caller.principal = authority_.Authenticate(username, password);
  } else if (LooksLikeApiToken(password)) {
    caller.user = store.FindUserByApiToken(HashApiToken(password));
    if (caller.user && caller.user->name != username) caller.user.reset();
  }
  // One answer for every failure: no hint whether the user exists.
  if (!caller.user && !caller.principal) {
    throw Unauthorized("invalid user name or API token");
  }
  caller.name = username;
  return caller;
}

std::vector<std::string> RegistryTokenEndpoint::Allowed(const Caller& caller,
                                                        const std::string& type,
                                                        const std::string& name,
                                                        Store& store) const {
  using Kind = RegistryPrincipal::Kind;
  const bool service = caller.principal && caller.principal->kind == Kind::kService;
  if (type == "registry" && name == "catalog") {
    return service || (caller.user && caller.user->admin) ? std::vector<std::string>{"*"}
                                                          : std::vector<std::string>{};
  }
  if (type != "repository") return {};
  if (service) return {"pull", "push", "delete", "*"};

  const std::string& pattern = config_.registry.repository;
  // One repository for every app: per-app rights cannot apply to it.
  const bool shared = pattern.find("{app}") == std::string::npos && name == pattern;
  const auto app_name = AppOfRepository(pattern, name);
  const auto readable_by = [&](const std::optional<User>& user) {
    if (!user || !app_name) return false;
    const auto app = store.FindApp(*app_name);
    return app && AccessOf(store, *app, *user) >= AppAccess::kRead;
  };
  if (caller.principal) {  // a build
    if (shared || app_name == caller.principal->app) return {"pull", "push"};
    // Its app's layer cache (Kaniko); no other build, nor any user, reads
    // or writes it.
    if (name == CacheRepositoryFor(pattern, caller.principal->app)) return {"pull", "push"};
    const auto user =
        caller.principal->user ? store.FindUser(*caller.principal->user) : std::nullopt;
    return readable_by(user) ? std::vector<std::string>{"pull"} : std::vector<std::string>{};
  }
  if (shared) {
    return caller.user && caller.user->admin ? std::vector<std::string>{"pull"}
                                             : std::vector<std::string>{};
  }
  return readable_by(caller.user) ? std::vector<std::string>{"pull"} : std::vector<std::string>{};
}

RegistryTokenAnswer RegistryTokenEndpoint::Answer(const HttpServerRequest& http,
                                                  std::string_view query, Store& store) const {
  const auto params = ParseRepeatedQuery(query);
  for (auto [it, end] = params.equal_range("service"); it != end; ++it) {
    if (it->second != RegistryTokenAuthority::kService) {
      throw ApiError(400, "this endpoint issues tokens for service '" +
                              std::string(RegistryTokenAuthority::kService) + "' only, not '" +
                              it->second + "'");
    }
  }
  const Caller caller = Authenticate(http, store);
  std::vector<RegistryGrant> access;
  for (auto [it, end] = params.equal_range("scope"); it != end; ++it) {
    for (const std::string_view piece : SplitOn(it->second, ' ')) {
      if (piece.empty()) continue;
      const std::string scope(piece);
      const auto first = scope.find(':');
      const auto last = scope.rfind(':');
      if (first == std::string::npos || first == last) {
        throw ApiError(400, "malformed scope '" + scope + "': expected TYPE:NAME:ACTIONS");
      }
      RegistryGrant grant{scope.substr(0, first), scope.substr(first + 1, last - first - 1), {}};
      const auto allowed = Allowed(caller, grant.type, grant.name, store);
      for (const std::string_view piece : SplitOn(std::string_view(scope).substr(last + 1), ',')) {
        const std::string action(piece);
        if (action.empty()) continue;
        if (std::find(allowed.begin(), allowed.end(), action) != allowed.end() &&
            std::find(grant.actions.begin(), grant.actions.end(), action) == grant.actions.end()) {
          grant.actions.push_back(action);
        }
      }
      if (!grant.actions.empty()) access.push_back(std::move(grant));
    }
  }
  const auto token = authority_.Issue(caller.name == "-" ? "" : caller.name, access);
  const nlohmann::json body = {{"token", token.jwt},
                               {"access_token", token.jwt},
                               {"expires_in", token.expires_in},
                               {"issued_at", token.issued_at}};
  return {{200, "application/json", {{"Cache-Control", "no-store"}}, body.dump() + "\n"},
          caller.name};
}

}  // namespace hephy

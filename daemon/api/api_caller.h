// Who calls the HTTP API: the user of the API token a request bears, what
// that user may read, and the database, opened when first needed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "api/api_request.h"
#include "api/http_server.h"
#include "hephy/config.h"
#include "hephy/store.h"
#include "store/rights.h"

namespace hephy {

// The WWW-Authenticate challenge of a 401.
inline constexpr char kBearerChallenge[] = "Bearer realm=\"hephyd\"";

class ApiCaller {
 public:
  ApiCaller(const Config& config, const HttpServerRequest& http) : config_(config), http_(http) {}

  // The database; throws ApiError 503 when it cannot be opened.
  Store& store();

  // The token's user, when the request bears a token; a token that is
  // malformed, unknown or revoked is refused (401) whatever the endpoint.
  const std::optional<User>& Authenticate();

  // The caller, who must have authenticated (else 401).
  const User& RequireUser();

  AppAccess AccessTo(const App& app) { return AccessOf(store(), app, RequireUser()); }

  // The build if the caller may read it. An unknown build and one of an app
  // the caller may not read get the same answer (404), so that existence
  // does not leak.
  Build ReadableBuild(int64_t id);

  std::string who() const { return user_ ? user_->name : "-"; }

 private:
  const Config& config_;
  const HttpServerRequest& http_;
  std::optional<Store> store_;
  std::optional<User> user_;
};

}  // namespace hephy

#include "api/api_caller.h"

#include "api/api_tokens.h"
#include "api/authorization.h"
#include "api/transport_security.h"

namespace hephy {
namespace {

ApiError Unauthorized(const std::string& message, bool bad_token) {
  return ApiError(401, message,
                  {{"WWW-Authenticate", std::string(kBearerChallenge) +
                                            (bad_token ? ", error=\"invalid_token\"" : "")}});
}

}  // namespace

Store& ApiCaller::store() {
  if (!store_) {
    try {
      store_.emplace(config_.DatabasePath());
    } catch (const std::exception& e) {
      throw ApiError(503, std::string("database unavailable: ") + e.what());
    }
  }
  return *store_;
}

const std::optional<User>& ApiCaller::Authenticate() {
  const std::string header = http_.Header("authorization");
  if (header.empty()) return user_;
  if (const auto refusal = CredentialsRefusal(config_, http_)) throw ApiError(403, *refusal);
  const auto authorization = ParseAuthorization(header);
  if (!authorization || authorization->scheme != "bearer") {
    throw Unauthorized("malformed Authorization header (expected Bearer TOKEN)", true);
  }
  const std::string& token = authorization->credentials;
  if (LooksLikeApiToken(token)) user_ = store().FindUserByApiToken(HashApiToken(token));
  if (!user_) throw Unauthorized("invalid API token", true);
  return user_;
}

const User& ApiCaller::RequireUser() {
  if (!user_) {
    throw Unauthorized(
        "this endpoint needs an API token: send Authorization: Bearer TOKEN (an admin makes one "
        "with `hephyd tokens create USER`)",
        false);
  }
  return *user_;
}

Build ApiCaller::ReadableBuild(int64_t id) {
  const auto build = store().FindBuild(id);
  const auto app = build ? store().FindApp(build->app) : std::nullopt;
  if (!build || !app || AccessTo(*app) < AppAccess::kRead) {
    throw ApiError(404, "build " + std::to_string(id) + ": no such build");
  }
  return *build;
}

}  // namespace hephy

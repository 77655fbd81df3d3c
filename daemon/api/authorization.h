// The Authorization header of a request to hephyd's HTTP server, read one
// way for every endpoint: "Bearer TOKEN" (the API) and "Basic BASE64"
// (the registry's token service, and git's credential helpers).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace hephy {

struct Authorization {
  std::string scheme;       // lower case: "bearer", "basic"
  std::string credentials;  // what follows the scheme, blanks around it trimmed
};

// nullopt for a header without a blank between scheme and credentials.
std::optional<Authorization> ParseAuthorization(std::string_view header);

// The WWW-Authenticate challenge of a 401 that wants Basic credentials (the
// registry's token service, git over HTTP).
inline constexpr char kBasicChallenge[] = "Basic realm=\"hephyd\"";

struct BasicCredentials {
  std::string user;
  std::string password;
};

// The user and password of a "basic" authorization; nullopt for another
// scheme, credentials that are not base64, or no ':' in them.
std::optional<BasicCredentials> BasicCredentialsOf(const Authorization& authorization);

}  // namespace hephy

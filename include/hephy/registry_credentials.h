// What hephyd presents to a registry: a user name and password (or token
// used as one), or an OAuth2 refresh token ("identitytoken" in a docker
// config.json). Never logged, never stored in the database, never in argv.
#pragma once

#include <string>

namespace hephy {

struct RegistryCredentials {
  std::string username;
  std::string password;
  // Exchanged for an access token with grant_type=refresh_token; when set,
  // username and password are not sent to the token service.
  std::string identity_token;

  bool operator==(const RegistryCredentials&) const = default;
};

}  // namespace hephy

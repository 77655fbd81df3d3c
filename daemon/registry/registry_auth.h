// How the registry client authenticates: it answers a registry's 401
// challenge (RFC 7235 WWW-Authenticate) with HTTP Basic credentials, or with
// a bearer token from the registry's token service (the docker token
// protocol: GET with Basic or anonymous, POST with a refresh token), and
// caches tokens per scope until they expire.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "hephy/registry_credentials.h"

namespace hephy {

class TlsContext;

struct AuthChallenge {
  std::string scheme;                         // lower case: "bearer", "basic"
  std::map<std::string, std::string> params;  // names lower case, values unquoted
};

// Every challenge of a WWW-Authenticate header value, in order; malformed
// parts are skipped.
std::vector<AuthChallenge> ParseAuthChallenges(const std::string& header);

// A token service's answer: its token ("token", else "access_token") and
// how long it lasts ("expires_in", else `default_lifetime`); nullopt when
// the body holds no token.
struct TokenAnswer {
  std::string token;
  std::chrono::seconds lifetime;
};
std::optional<TokenAnswer> ParseTokenAnswer(const std::string& body,
                                            std::chrono::seconds default_lifetime);

// "repository:NAME:pull" or "repository:NAME:pull,push".
std::string RepositoryScope(const std::string& repository, bool push);

class RegistryAuth {
 public:
  // `registry` is registry.url, `registry_tls` whether it is spoken to over
  // TLS. `credentials_source` says where the credentials came from, for
  // errors ("docker config /root/.docker/config.json"). `tls` must outlive
  // this object.
  RegistryAuth(std::string registry, bool registry_tls,
               std::optional<RegistryCredentials> credentials, std::string credentials_source,
               TlsContext& tls, std::chrono::milliseconds timeout);

  // The Authorization header for a request to the registry needing
  // `scopes`; "" when the registry has not asked for any. Fetches a token
  // when the registry uses bearer tokens and none for these scopes is cached.
  std::string HeaderFor(const std::vector<std::string>& scopes);

  // After the registry answered 401 to a request that carried `sent` (its
  // Authorization, or ""): learns the challenge and fetches what it asks
  // for. True when the request is worth sending again with HeaderFor(scopes),
  // false when that would send the same thing. Throws Error naming the
  // token service when it refuses or fails.
  bool Unauthorized(const std::string& www_authenticate, const std::vector<std::string>& scopes,
                    const std::string& sent);

  // Why a 401 stands, for the error message: which credentials were refused,
  // or that there were none.
  std::string Explain() const;

 private:
  struct Token {
    std::string value;
    std::chrono::steady_clock::time_point expires;
  };
  std::string FetchToken(const std::vector<std::string>& scopes);
  std::string BasicHeader() const;

  std::string registry_;
  bool registry_tls_;
  std::optional<RegistryCredentials> credentials_;
  std::string credentials_source_;
  TlsContext& tls_;
  std::chrono::milliseconds timeout_;
  // What the registry asked for last: nothing yet, Basic, or a Bearer
  // challenge's realm and service.
  std::optional<AuthChallenge> challenge_;
  std::map<std::string, Token> tokens_;  // by the space-joined scopes
};

}  // namespace hephy

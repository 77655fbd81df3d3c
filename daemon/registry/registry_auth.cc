#include "registry/registry_auth.h"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <set>

#include "hephy/error.h"
#include "hephy/retry_policy.h"
#include "net/http_connection.h"
#include "util/ascii.h"
#include "util/base64.h"

namespace hephy {
namespace {

constexpr size_t kMaxTokenResponse = 1024 * 1024;
constexpr std::chrono::seconds kDefaultTokenLifetime{60};  // the protocol's default

bool IsTokenChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

std::string UrlEncode(const std::string& text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : text) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_' ||
        c == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[static_cast<unsigned char>(c) >> 4];
      out += kHex[static_cast<unsigned char>(c) & 15];
    }
  }
  return out;
}

struct Url {
  bool tls = false;
  std::string authority;
  std::string target;  // path and query
};

Url ParseRealm(const std::string& realm) {
  Url url;
  std::string rest;
  if (realm.starts_with("https://")) {
    url.tls = true;
    rest = realm.substr(8);
  } else if (realm.starts_with("http://")) {
    rest = realm.substr(7);
  } else {
    throw Error("token service realm '" + realm + "' is not an http or https URL");
  }
  const auto slash = rest.find_first_of("/?");
  url.authority = rest.substr(0, slash);
  url.target = slash == std::string::npos ? "/" : rest.substr(slash);
  if (url.target.front() == '?') url.target = "/" + url.target;
  if (url.authority.empty()) throw Error("token service realm '" + realm + "' names no host");
  return url;
}

// "repository:NAME:push,pull" as "repository:NAME:pull,push": registries
// name the actions in either order.
std::string NormalScope(const std::string& scope) {
  const auto colon = scope.rfind(':');
  if (colon == std::string::npos || scope.find(':') == colon) return scope;
  std::vector<std::string> actions;
  for (size_t at = colon + 1; at <= scope.size();) {
    const auto comma = std::min(scope.find(',', at), scope.size());
    actions.push_back(scope.substr(at, comma - at));
    at = comma + 1;
  }
  std::sort(actions.begin(), actions.end());
  std::string out = scope.substr(0, colon + 1);
  for (size_t i = 0; i < actions.size(); ++i) out += (i == 0 ? "" : ",") + actions[i];
  return out;
}

// The space-joined, sorted scopes: one cache key for the same set.
std::string ScopeKey(std::vector<std::string> scopes) {
  std::sort(scopes.begin(), scopes.end());
  std::string key;
  for (const auto& scope : scopes) key += (key.empty() ? "" : " ") + scope;
  return key;
}

}  // namespace

std::vector<AuthChallenge> ParseAuthChallenges(const std::string& header) {
  std::vector<AuthChallenge> challenges;
  size_t i = 0;
  const auto skip_space = [&] {
    while (i < header.size() && (header[i] == ' ' || header[i] == '\t' || header[i] == ',')) ++i;
  };
  const auto token = [&] {
    const size_t start = i;
    while (i < header.size() && IsTokenChar(header[i])) ++i;
    return header.substr(start, i - start);
  };
  while (true) {
    skip_space();
    if (i >= header.size()) break;
    const std::string scheme = token();
    if (scheme.empty()) {
      ++i;  // not a token character: skip it
      continue;
    }
    AuthChallenge challenge{AsciiLower(scheme), {}};
    // auth-params: name=value or name="quoted", separated by commas; a token
    // not followed by '=' starts the next challenge.
    while (true) {
      skip_space();
      const size_t before = i;
      const std::string name = token();
      size_t j = i;
      while (j < header.size() && header[j] == ' ') ++j;
      if (name.empty() || j >= header.size() || header[j] != '=') {
        i = before;
        break;
      }
      i = j + 1;
      while (i < header.size() && header[i] == ' ') ++i;
      std::string value;
      if (i < header.size() && header[i] == '"') {
        for (++i; i < header.size() && header[i] != '"'; ++i) {
          if (header[i] == '\\' && i + 1 < header.size()) ++i;
          value += header[i];
        }
        // A quoted string the header ends inside is malformed: skipped.
        if (i == header.size()) break;
        ++i;  // the closing quote
      } else {
        value = token();
      }
      challenge.params[AsciiLower(name)] = value;
    }
    challenges.push_back(std::move(challenge));
  }
  return challenges;
}

std::optional<TokenAnswer> ParseTokenAnswer(const std::string& body,
                                            std::chrono::seconds default_lifetime) {
  const auto json = nlohmann::json::parse(body, nullptr, false);
  if (!json.is_object()) return std::nullopt;
  TokenAnswer answer{"", default_lifetime};
  for (const char* key : {"token", "access_token"}) {
    const auto it = json.find(key);
    if (it != json.end() && it->is_string() && !it->get<std::string>().empty()) {
      answer.token = it->get<std::string>();
      break;
    }
  }
  if (answer.token.empty()) return std::nullopt;
  // At most a year: a longer life would overflow the clock arithmetic.
  const auto expires = json.find("expires_in");
  if (expires != json.end() && expires->is_number_integer() && expires->get<long long>() > 0) {
    answer.lifetime =
        std::chrono::seconds(std::min<long long>(expires->get<long long>(), 365LL * 24 * 3600));
  }
  return answer;
}

std::string RepositoryScope(const std::string& repository, bool push) {
  return "repository:" + repository + (push ? ":pull,push" : ":pull");
}

RegistryAuth::RegistryAuth(std::string registry, bool registry_tls,
                           std::optional<RegistryCredentials> credentials,
                           std::string credentials_source, TlsContext& tls,
                           std::chrono::milliseconds timeout)
    : registry_(std::move(registry)),
      registry_tls_(registry_tls),
      credentials_(std::move(credentials)),
      credentials_source_(std::move(credentials_source)),
      tls_(tls),
      timeout_(timeout) {}

std::string RegistryAuth::BasicHeader() const {
  if (!credentials_ || credentials_->username.empty()) return "";
  return "Basic " + Base64Encode(credentials_->username + ":" + credentials_->password);
}

std::string RegistryAuth::HeaderFor(const std::vector<std::string>& scopes) {
  if (!challenge_) return "";
  if (challenge_->scheme == "basic") return BasicHeader();
  const auto cached = tokens_.find(ScopeKey(scopes));
  if (cached != tokens_.end() && std::chrono::steady_clock::now() < cached->second.expires) {
    return "Bearer " + cached->second.value;
  }
  return "Bearer " + FetchToken(scopes);
}

bool RegistryAuth::Unauthorized(const std::string& www_authenticate,
                                const std::vector<std::string>& scopes, const std::string& sent) {
  const auto challenges = ParseAuthChallenges(www_authenticate);
  const auto find = [&](const char* scheme) {
    return std::find_if(challenges.begin(), challenges.end(),
                        [&](const AuthChallenge& c) { return c.scheme == scheme; });
  };
  if (const auto bearer = find("bearer"); bearer != challenges.end()) {
    if (!bearer->params.contains("realm")) {
      throw Error("registry " + registry_ + ": a Bearer challenge without a realm");
    }
    challenge_ = *bearer;
    // The registry may name a scope the request did not know it needed.
    std::vector<std::string> wanted = scopes;
    const auto scope = bearer->params.find("scope");
    if (scope != bearer->params.end()) {
      const std::string named = NormalScope(scope->second);
      if (std::find(wanted.begin(), wanted.end(), named) == wanted.end()) wanted.push_back(named);
    }
    tokens_.erase(ScopeKey(scopes));
    const std::string token = FetchToken(wanted);
    tokens_[ScopeKey(scopes)] = tokens_[ScopeKey(wanted)];
    return "Bearer " + token != sent;
  }
  if (find("basic") != challenges.end()) {
    challenge_ = AuthChallenge{"basic", {}};
    const std::string header = BasicHeader();
    return !header.empty() && header != sent;
  }
  return false;
}

std::string RegistryAuth::Explain() const {
  if (!credentials_) return "no credentials for " + registry_ + " in " + credentials_source_;
  return "the credentials for " + registry_ + " from " + credentials_source_ + " were not accepted";
}

std::string RegistryAuth::FetchToken(const std::vector<std::string>& scopes) {
  const std::string realm = challenge_->params.at("realm");
  const std::string service =
      challenge_->params.contains("service") ? challenge_->params.at("service") : "";
  const std::string where = "registry " + registry_ + ": token service " + realm;
  const Url url = ParseRealm(realm);
  const HostPort server = ParseHostPort(url.authority, url.tls ? 443 : 80);
  // Credentials go to the token service in the clear only where the
  // registry itself is spoken to in the clear, or on this machine.
  if (!url.tls && registry_tls_ && !IsLoopbackHost(server.host)) {
    throw Error(where +
                ": refusing to send credentials over plain http to a registry served "
                "over https");
  }

  HttpRequest request;
  const bool refresh = credentials_ && !credentials_->identity_token.empty();
  if (refresh) {
    // The OAuth2 flow: the refresh token is exchanged for an access token.
    std::string form = "grant_type=refresh_token&client_id=hephyd&refresh_token=" +
                       UrlEncode(credentials_->identity_token);
    if (!service.empty()) form += "&service=" + UrlEncode(service);
    if (!scopes.empty()) form += "&scope=" + UrlEncode(ScopeKey(scopes));
    request = {"POST",
               url.target,
               {{"Content-Type", "application/x-www-form-urlencoded"}},
               std::move(form)};
  } else {
    std::string target =
        url.target + (url.target.find('?') == std::string::npos ? "?" : "&") + "client_id=hephyd";
    if (!service.empty()) target += "&service=" + UrlEncode(service);
    for (const auto& scope : scopes) target += "&scope=" + UrlEncode(scope);
    request = {"GET", std::move(target), {}, ""};
    const std::string basic = BasicHeader();
    if (!basic.empty()) request.headers.emplace_back("Authorization", basic);
  }

  HttpResponse response;
  try {
    HttpConnection connection(server, timeout_, kMaxTokenResponse, url.tls ? &tls_ : nullptr);
    response = connection.Send(request);
  } catch (const ConnectionError& e) {
    throw TransientError(where + ": " + e.what());
  } catch (const Error& e) {
    throw Error(where + ": " + e.what());
  }
  if (response.status != 200) {
    std::string why = std::to_string(response.status) + " " + response.reason;
    if (response.status == 401 || response.status == 403) why += " (" + Explain() + ")";
    if (IsRetryableStatus(response.status)) {
      throw TransientError(where + ": " + why, ParseRetryAfter(response.Header("retry-after")));
    }
    throw Error(where + ": " + why);
  }
  const auto answer = ParseTokenAnswer(response.body, kDefaultTokenLifetime);
  if (!answer) throw Error(where + ": the answer holds no token");
  // A tenth of its life early: a token must not expire on its way.
  tokens_[ScopeKey(scopes)] = {
      answer->token,
      std::chrono::steady_clock::now() + std::chrono::milliseconds(answer->lifetime) * 9 / 10};
  return answer->token;
}

}  // namespace hephy

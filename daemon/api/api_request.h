// What a request to the HTTP API asks for, read from its path and query:
// the route, the parameters, and the refusal (ApiError) when they are bad.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hephy/error.h"

namespace hephy {

// A refusal with its HTTP status (400 for a bad parameter, 404, ...) and
// the headers that go with it (WWW-Authenticate with a 401, Allow with 405).
class ApiError : public Error {
 public:
  ApiError(int status, const std::string& message,
           std::vector<std::pair<std::string, std::string>> headers = {});
  int status() const { return status_; }
  const std::vector<std::pair<std::string, std::string>>& headers() const { return headers_; }

 private:
  int status_;
  std::vector<std::pair<std::string, std::string>> headers_;
};

struct ApiRoute {
  enum class Kind {
    kHealthz,
    kMetrics,
    kApps,
    kBuilds,
    kBuild,
    kBuildLogs,
    kBuildContext,
    kRegistryToken
  };
  Kind kind;
  int64_t build_id = 0;  // kBuild, kBuildLogs
  std::string job;       // kBuildContext
};

// The route a request path (without its query) names; nullopt for none.
// Throws ApiError 400 for a build ID that is not a positive number.
std::optional<ApiRoute> ParseRoute(std::string_view path);

// A query string's parameters ("a=1&b=x%20y"), percent-decoded, '+' as a
// space. Throws ApiError 400 for a bad escape or a parameter given twice.
std::map<std::string, std::string> ParseQuery(std::string_view query);

// The same, but a parameter may repeat (the registry token endpoint's
// scope); throws ApiError 400 for a bad escape.
std::multimap<std::string, std::string> ParseRepeatedQuery(std::string_view query);

// Refuses parameters the endpoint does not know: a misspelt one would
// otherwise be ignored silently.
void ExpectOnly(const std::map<std::string, std::string>& params,
                std::initializer_list<std::string_view> known);

// The value of parameter `name`, if given.
std::optional<std::string> Param(const std::map<std::string, std::string>& params,
                                 const std::string& name);

// ?limit=: 50 when absent; throws ApiError 400 outside 1..1000.
int ParseLimit(const std::optional<std::string>& text);

// ?follow=: 1, true or empty follow; 0 or false (or absent) do not.
bool ParseFollow(const std::optional<std::string>& text);

}  // namespace hephy

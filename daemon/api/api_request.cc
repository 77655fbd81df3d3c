#include "api/api_request.h"

#include <algorithm>

namespace hephy {
namespace {

constexpr int kDefaultLimit = 50;
constexpr int kMaxLimit = 1000;

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string PercentDecode(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out += ' ';
    } else if (text[i] != '%') {
      out += text[i];
    } else {
      const int high = i + 2 < text.size() ? HexValue(text[i + 1]) : -1;
      const int low = i + 2 < text.size() ? HexValue(text[i + 2]) : -1;
      if (high < 0 || low < 0) {
        throw ApiError(400, "malformed query: bad %-escape in '" + std::string(text) + "'");
      }
      out += static_cast<char>(high * 16 + low);
      i += 2;
    }
  }
  return out;
}

}  // namespace

ApiError::ApiError(int status, const std::string& message,
                   std::vector<std::pair<std::string, std::string>> headers)
    : Error(message), status_(status), headers_(std::move(headers)) {}

std::optional<ApiRoute> ParseRoute(std::string_view path) {
  using Kind = ApiRoute::Kind;
  if (path == "/healthz") return ApiRoute{Kind::kHealthz};
  if (path == "/metrics") return ApiRoute{Kind::kMetrics};
  if (path == "/api/v1/apps") return ApiRoute{Kind::kApps};
  if (path == "/api/v1/builds") return ApiRoute{Kind::kBuilds};
  if (path == "/v2/token") return ApiRoute{Kind::kRegistryToken};
  constexpr std::string_view kContexts = "/api/v1/contexts/";
  if (path.starts_with(kContexts)) {
    const std::string_view job = path.substr(kContexts.size());
    if (job.empty() || job.size() > 128 ||
        job.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") != std::string_view::npos) {
      return std::nullopt;
    }
    return ApiRoute{.kind = Kind::kBuildContext, .job = std::string(job)};
  }
  constexpr std::string_view kBuilds = "/api/v1/builds/";
  if (!path.starts_with(kBuilds)) return std::nullopt;
  std::string_view rest = path.substr(kBuilds.size());
  const auto slash = rest.find('/');
  const std::string_view id = rest.substr(0, slash);
  Kind kind = Kind::kBuild;
  if (slash != std::string_view::npos) {
    if (rest.substr(slash) != "/logs") return std::nullopt;
    kind = Kind::kBuildLogs;
  }
  if (id.empty()) return std::nullopt;
  const bool digits = id.size() <= 18 && id.find_first_not_of("0123456789") == std::string::npos;
  const int64_t value = digits ? std::stoll(std::string(id)) : 0;
  if (value < 1) {
    throw ApiError(400, "build ID must be a positive number, got '" + std::string(id) + "'");
  }
  return ApiRoute{kind, value};
}

std::multimap<std::string, std::string> ParseRepeatedQuery(std::string_view query) {
  std::multimap<std::string, std::string> params;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (part.empty()) continue;
    const auto equals = part.find('=');
    params.emplace(PercentDecode(part.substr(0, equals)),
                   equals == std::string_view::npos ? "" : PercentDecode(part.substr(equals + 1)));
  }
  return params;
}

std::map<std::string, std::string> ParseQuery(std::string_view query) {
  std::map<std::string, std::string> params;
  for (auto& [name, value] : ParseRepeatedQuery(query)) {
    if (!params.emplace(name, std::move(value)).second) {
      throw ApiError(400, "query parameter '" + name + "' is given twice");
    }
  }
  return params;
}

void ExpectOnly(const std::map<std::string, std::string>& params,
                std::initializer_list<std::string_view> known) {
  for (const auto& [name, value] : params) {
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      std::string expected;
      for (const auto k : known) expected += (expected.empty() ? "" : ", ") + std::string(k);
      throw ApiError(400, "unknown query parameter '" + name + "'" +
                              (expected.empty() ? " (this endpoint takes none)"
                                                : " (expected " + expected + ")"));
    }
  }
}

std::optional<std::string> Param(const std::map<std::string, std::string>& params,
                                 const std::string& name) {
  const auto it = params.find(name);
  if (it == params.end()) return std::nullopt;
  return it->second;
}

int ParseLimit(const std::optional<std::string>& text) {
  if (!text) return kDefaultLimit;
  const bool digits = !text->empty() && text->size() <= 4 &&
                      text->find_first_not_of("0123456789") == std::string::npos;
  const int limit = digits ? std::stoi(*text) : 0;
  if (limit < 1 || limit > kMaxLimit) {
    throw ApiError(400, "limit must be a number from 1 to " + std::to_string(kMaxLimit) +
                            ", got '" + *text + "'");
  }
  return limit;
}

bool ParseFollow(const std::optional<std::string>& text) {
  if (!text || *text == "0" || *text == "false") return false;
  if (*text == "1" || *text == "true" || text->empty()) return true;
  throw ApiError(400, "follow must be 1 or 0 (true or false), got '" + *text + "'");
}

}  // namespace hephy

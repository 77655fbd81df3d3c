#include "upstream/upstream_credentials.h"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "hephy/error.h"
#include "net/egress_policy.h"

namespace hephy {
namespace {

struct Line {
  std::string scheme;
  std::string host;
  uint16_t port = 0;
  std::string path;  // without a trailing '/'; "" matches every path
  std::string user;
  std::string password;
};

std::optional<std::string> PercentDecode(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (i + 2 >= text.size() || !std::isxdigit(static_cast<unsigned char>(text[i + 1])) ||
        !std::isxdigit(static_cast<unsigned char>(text[i + 2]))) {
      return std::nullopt;
    }
    out += static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16));
    i += 2;
  }
  return out;
}

uint16_t DefaultPort(const std::string& scheme) { return scheme == "https" ? 443 : 80; }

// One line, or nullopt when it is not https://USER:TOKEN@HOST[:PORT][/PATH].
std::optional<Line> ParseLine(std::string_view text) {
  Line line;
  const auto separator = text.find("://");
  if (separator == std::string_view::npos) return std::nullopt;
  for (const char c : text.substr(0, separator)) {
    line.scheme += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (line.scheme != "https" && line.scheme != "http") return std::nullopt;
  std::string_view rest = text.substr(separator + 3);
  const auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  const auto at = authority.rfind('@');
  if (at == std::string_view::npos) return std::nullopt;
  const std::string_view userinfo = authority.substr(0, at);
  const auto colon = userinfo.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  const auto user = PercentDecode(userinfo.substr(0, colon));
  const auto password = PercentDecode(userinfo.substr(colon + 1));
  if (!user || !password || user->empty() || password->empty()) return std::nullopt;
  line.user = *user;
  line.password = *password;
  // Host and path as ParseUpstreamUrl reads them; "/x" stands in for an
  // absent path, which it requires.
  const std::string path = slash == std::string_view::npos ? "" : std::string(rest.substr(slash));
  UpstreamUrl url;
  try {
    url = ParseUpstreamUrl(line.scheme + "://" + std::string(authority.substr(at + 1)) +
                           (path.size() > 1 ? path : "/x"));
  } catch (const Error&) {
    return std::nullopt;
  }
  line.host = url.host;
  line.port = url.port == 0 ? DefaultPort(line.scheme) : url.port;
  line.path = path;
  while (line.path.ends_with('/')) line.path.pop_back();
  return line;
}

bool PathHasPrefix(const std::string& path, const std::string& prefix) {
  return prefix.empty() || path == prefix ||
         (path.starts_with(prefix) && path[prefix.size()] == '/');
}

}  // namespace

bool TokenGoesTo(const UpstreamsConfig& config, const UpstreamUrl& url) {
  if (url.kind != UpstreamUrl::Kind::kHttps || config.token_env.empty()) return false;
  return std::any_of(config.token_hosts.begin(), config.token_hosts.end(),
                     [&](const std::string& host) { return NormalizedHostName(host) == url.host; });
}

std::optional<HttpCredential> FindHttpCredential(const UpstreamsConfig& config,
                                                 const UpstreamUrl& url) {
  const std::string file = config.credentials_file.string();
  struct stat st {};
  if (!file.empty() && stat(file.c_str(), &st) == 0) {
    if ((st.st_mode & 077) != 0) {
      throw Error(file + ": credentials file is accessible by group or others; chmod 600 it");
    }
    std::ifstream in(file);
    if (!in) throw Error(file + ": cannot read credentials file: " + std::strerror(errno));
    const uint16_t port = url.port == 0 ? DefaultPort(url.scheme) : url.port;
    std::optional<HttpCredential> best;
    size_t best_length = 0;
    int number = 0;
    for (std::string text; std::getline(in, text);) {
      ++number;
      while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
        text.pop_back();
      }
      if (text.empty() || text.starts_with('#')) continue;
      const auto line = ParseLine(text);
      if (!line) {
        throw Error(file + ":" + std::to_string(number) +
                    ": expected https://USER:TOKEN@HOST[/PATH-PREFIX]");
      }
      if (line->scheme != url.scheme || line->host != url.host || line->port != port ||
          !PathHasPrefix(url.path, line->path)) {
        continue;
      }
      if (!best || line->path.size() + 1 > best_length) {
        best = HttpCredential{line->user, line->password, file + ":" + std::to_string(number)};
        best_length = line->path.size() + 1;
      }
    }
    if (best) return best;
  } else if (!file.empty() && errno != ENOENT) {
    throw Error(file + ": cannot read credentials file: " + std::strerror(errno));
  }
  if (TokenGoesTo(config, url)) {
    const char* token = std::getenv(config.token_env.c_str());
    if (token != nullptr && *token != '\0') {
      return HttpCredential{"x-access-token", token, "$" + config.token_env};
    }
  }
  return std::nullopt;
}

}  // namespace hephy

#include "upstream/upstream_url.h"

#include <algorithm>
#include <cctype>

#include "hephy/error.h"
#include "util/ascii.h"

namespace hephy {
namespace {

constexpr char kForms[] =
    "expected an https://, http://, ssh://, git:// or file:/// URL, USER@HOST:PATH or an absolute "
    "path";
constexpr char kUseCredentialsFile[] =
    "; put credentials in the file named by upstreams.credentials_file instead";

bool IsHostName(std::string_view host) {
  return !host.empty() && host.front() != '-' && host.front() != '.' &&
         std::all_of(host.begin(), host.end(), [](unsigned char c) {
           return std::isalnum(c) || c == '.' || c == '-' || c == '_';
         });
}

bool IsIpv6(std::string_view host) {
  return !host.empty() && std::all_of(host.begin(), host.end(), [](unsigned char c) {
    return std::isxdigit(c) || c == ':' || c == '.';
  });
}

// HOST, HOST:PORT, [V6] or [V6]:PORT into out->host and out->port; returns
// the problem or "".
std::string ParseHostPort(std::string_view text, UpstreamUrl* out) {
  std::string_view host = text;
  std::optional<std::string_view> port;
  if (text.starts_with('[')) {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return "unclosed '[' in the host";
    host = text.substr(1, close - 1);
    if (!IsIpv6(host)) return "invalid IPv6 address '" + std::string(host) + "'";
    const std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (!rest.starts_with(':')) return "unexpected text after the IPv6 address";
      port = rest.substr(1);
    }
  } else {
    const auto colon = text.find(':');
    if (colon != std::string_view::npos) {
      host = text.substr(0, colon);
      port = text.substr(colon + 1);
    }
    if (host.empty()) return "has no host";
    if (!IsHostName(host)) return "invalid host name '" + std::string(host) + "'";
  }
  out->host = AsciiLower(host);
  if (port) {
    if (port->empty() || port->size() > 5 ||
        !std::all_of(port->begin(), port->end(), [](unsigned char c) { return std::isdigit(c); }) ||
        std::stoi(std::string(*port)) == 0 || std::stoi(std::string(*port)) > 65535) {
      return "port must be a number from 1 to 65535";
    }
    out->port = static_cast<uint16_t>(std::stoi(std::string(*port)));
  }
  return "";
}

std::string ParseSchemeUrl(std::string_view url, size_t separator, UpstreamUrl* out) {
  out->scheme = AsciiLower(url.substr(0, separator));
  const std::string_view rest = url.substr(separator + 3);
  if (out->scheme == "file") {
    out->kind = UpstreamUrl::Kind::kLocal;
    if (!rest.starts_with('/')) return "expected file:///ABSOLUTE/PATH (a local path, no host)";
    out->path = std::string(rest);
    return "";
  }
  if (out->scheme == "https") {
    out->kind = UpstreamUrl::Kind::kHttps;
  } else if (out->scheme == "http") {
    out->kind = UpstreamUrl::Kind::kHttp;
  } else if (out->scheme == "git") {
    out->kind = UpstreamUrl::Kind::kGit;
  } else if (out->scheme == "ssh") {
    out->kind = UpstreamUrl::Kind::kSsh;
  } else {
    return "unsupported scheme '" + out->scheme + "' (expected https, http, ssh, git or file)";
  }
  const auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  const auto at = authority.rfind('@');
  if (at != std::string_view::npos) {
    const std::string_view userinfo = authority.substr(0, at);
    if (userinfo.find(':') != std::string_view::npos) {
      return std::string("carries a password") + kUseCredentialsFile;
    }
    if (out->kind != UpstreamUrl::Kind::kSsh) {
      return std::string("carries a user name") + kUseCredentialsFile;
    }
    if (userinfo.empty()) return "empty user name";
    out->user = std::string(userinfo);
    authority = authority.substr(at + 1);
  }
  if (const std::string problem = ParseHostPort(authority, out); !problem.empty()) return problem;
  if (slash == std::string_view::npos || slash + 1 == rest.size()) return "has no repository path";
  out->path = std::string(rest.substr(slash));
  return "";
}

// [USER@]HOST:PATH, as git reads it: the first ':' ends the host, and only
// when no '/' comes before it.
std::string ParseScpUrl(std::string_view url, UpstreamUrl* out) {
  const auto colon = url.find(':');
  const auto slash = url.find('/');
  if (colon == std::string_view::npos || (slash != std::string_view::npos && slash < colon)) {
    return std::string("is neither a URL nor an absolute path (") + kForms + ")";
  }
  std::string_view host = url.substr(0, colon);
  const std::string_view path = url.substr(colon + 1);
  // USER:PASSWORD@HOST:PATH splits at the password's ':' into a host "USER"
  // and a path "PASSWORD@HOST:PATH".
  const auto path_at = path.find('@');
  if (host.find('@') == std::string_view::npos && path_at != std::string_view::npos &&
      path.substr(0, path_at).find('/') == std::string_view::npos &&
      path.find(':', path_at) != std::string_view::npos) {
    return std::string("carries a password") + kUseCredentialsFile;
  }
  out->kind = UpstreamUrl::Kind::kSsh;
  out->scheme = "ssh";
  const auto at = host.find('@');
  if (at != std::string_view::npos) {
    out->user = std::string(host.substr(0, at));
    if (out->user.empty()) return "empty user name";
    host = host.substr(at + 1);
  }
  if (host.empty()) return "has no host";
  if (!IsHostName(host)) return "invalid host name '" + std::string(host) + "'";
  out->host = AsciiLower(host);
  if (path.empty()) return "has no repository path";
  out->path = std::string(path);
  return "";
}

std::string Parse(std::string_view url, UpstreamUrl* out) {
  if (url.empty()) return "is empty";
  if (std::any_of(url.begin(), url.end(), [](unsigned char c) { return c <= ' ' || c == 0x7f; })) {
    return "contains whitespace or control characters";
  }
  if (url.starts_with('/')) {
    out->kind = UpstreamUrl::Kind::kLocal;
    out->scheme = "file";
    out->path = std::string(url);
    return "";
  }
  const auto separator = url.find("://");
  const auto helper = url.find("::");
  if (helper != std::string_view::npos && helper < url.find('/')) {
    return "transport helpers ('" + std::string(url.substr(0, helper)) + "::') are not supported";
  }
  if (url.find_first_of("?#") != std::string_view::npos) {
    return "query strings and fragments ('?', '#') are not supported";
  }
  if (separator != std::string_view::npos && separator < url.find('/')) {
    return ParseSchemeUrl(url, separator, out);
  }
  return ParseScpUrl(url, out);
}

}  // namespace

std::optional<std::string> UpstreamUrlProblem(std::string_view url) {
  UpstreamUrl parsed;
  std::string problem = Parse(url, &parsed);
  if (problem.empty()) return std::nullopt;
  return problem;
}

UpstreamUrl ParseUpstreamUrl(std::string_view url) {
  UpstreamUrl parsed;
  const std::string problem = Parse(url, &parsed);
  if (!problem.empty()) throw Error(problem);
  return parsed;
}

}  // namespace hephy

// The URLs a build unit's upstream_repo may name, as hephyd fetches them
// (daemon/upstream/upstream_cache.h). Pure functions; no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hephy {

// Why `url` cannot be an upstream_repo, or nullopt when it can. Accepted:
//   https://HOST[:PORT]/PATH, http://..., git://...,
//   ssh://[USER@]HOST[:PORT]/PATH, scp-style [USER@]HOST:PATH,
//   file:///PATH and /ABSOLUTE/PATH.
// Refused: other schemes and transport helpers (ext::), relative paths,
// whitespace and control characters, query strings and fragments, a
// password in any URL and a user name in http(s) and git URLs (credentials
// belong in upstreams.credentials_file). The reason quotes at most the
// scheme or host, never user information, so it is safe to show even when
// the URL holds a token; it reads well after "upstream_repo: ".
std::optional<std::string> UpstreamUrlProblem(std::string_view url);

// An accepted URL, split up.
struct UpstreamUrl {
  enum class Kind { kHttps, kHttp, kGit, kSsh, kLocal };
  Kind kind = Kind::kLocal;
  std::string scheme;  // "https", "http", "git", "ssh" (scp-style too), "file" (paths too)
  std::string user;    // ssh only; may be empty
  std::string host;    // lower case, without IPv6 brackets; empty for kLocal
  uint16_t port = 0;   // 0: the scheme's default
  std::string path;    // starts with '/' except for scp-style URLs
};

// Splits `url`. Throws Error with UpstreamUrlProblem's reason when it is not
// accepted.
UpstreamUrl ParseUpstreamUrl(std::string_view url);

}  // namespace hephy

// HTTP/1 message heads as hephyd's egress proxy reads them (from buildah and
// from the servers it fetches from, both outside input): the start line and
// fields of a head, an absolute http(s) URL's parts, a host:port authority.
// Pure functions; whatever does not parse is nullopt, never an exception.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hephy {

struct Authority {
  std::string host;  // without brackets
  std::string port;  // digits, 1 to 65535
};

// "host", "host:port", "[v6]", "[v6]:port", with `default_port` where none
// is given; nullopt for anything else, user information ("user@host") and
// blanks or bytes beyond ASCII in the host included.
std::optional<Authority> ParseAuthority(std::string_view text, std::string_view default_port);

struct AbsoluteUrl {
  std::string scheme;  // "http" or "https", lower case
  Authority authority;
  std::string path;  // from the first '/', '?' or '#' on; "/" when there is none
};

// "http://host:port/path"; nullopt for another scheme, an authority that
// does not parse or a path with blanks or control characters.
std::optional<AbsoluteUrl> ParseAbsoluteUrl(std::string_view text);

struct HttpHead {
  std::string start_line;
  std::vector<std::pair<std::string, std::string>> fields;  // blanks around values trimmed

  // The first field named `name` (any case).
  std::optional<std::string> Field(std::string_view name) const;
  // The head again with `start_line`, without the fields of this hop and
  // the proxy's (Connection, Keep-Alive, Proxy-Connection,
  // Proxy-Authorization) and with "Connection: close": one request per
  // connection.
  std::string ForwardedWith(const std::string& start_line) const;
};

// The head in `text` (through its blank line or not): lines without a ':'
// and lines with a bare CR, LF or NUL are skipped.
HttpHead ParseHttpHead(std::string_view text);

}  // namespace hephy

// Credentials for http(s) upstreams: upstreams.credentials_file and
// upstreams.token_env (include/hephy/config.h).
#pragma once

#include <optional>
#include <string>

#include "hephy/config.h"
#include "upstream/upstream_url.h"

namespace hephy {

struct HttpCredential {
  std::string user;
  std::string password;
  // Where it came from, for messages: "FILE:LINE" or "$NAME"; never the secret.
  std::string source;
};

// The credential to send to the http(s) upstream `url`:
// - the credentials_file line (git-credential-store format,
//   https://USER:TOKEN@HOST[:PORT][/PATH-PREFIX], USER and TOKEN
//   %-encoded) with url's scheme, host and port whose path prefix is url's
//   path or a parent of it ('/'-separated); the longest prefix wins;
// - else, for https to a host of token_hosts only (TokenGoesTo), the value
//   of $token_env as the password of user "x-access-token", when that
//   variable is set and not empty;
// - else nullopt. A missing file has no lines; blank and '#' lines are skipped.
// Throws Error naming the file, and the line where one is wrong, when the
// file is readable or writable by group or others, cannot be read, or holds
// a line of another form. Messages never hold a line's text.
// Whether $token_env may be sent to `url`: https, and its host in
// config.token_hosts.
bool TokenGoesTo(const UpstreamsConfig& config, const UpstreamUrl& url);

std::optional<HttpCredential> FindHttpCredential(const UpstreamsConfig& config,
                                                 const UpstreamUrl& url);

}  // namespace hephy

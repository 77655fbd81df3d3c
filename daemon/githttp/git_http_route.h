// Which git request an HTTP request is (gitprotocol-http(5), the smart
// protocol): the ref advertisement "GET /APP.git/info/refs?service=SERVICE",
// or a service's exchange "POST /APP.git/SERVICE". ".git" may be left out,
// as in SSH URLs.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "git/git_command.h"

namespace hephy {

struct GitHttpRoute {
  enum class Kind { kAdvertisement, kExchange };
  Kind kind;
  GitService service;
  std::string app;  // valid per ValidateAppName
};

// Whether the path of `target` is one git clients ask for: it ends in
// "/info/refs", "/git-upload-pack" or "/git-receive-pack".
bool IsGitHttpPath(std::string_view target);

// The route of a git path. Throws Error, with the words for the client, for
// an invalid app name, another method than the route's, the dumb protocol
// (info/refs without a service) or an unknown service.
GitHttpRoute ParseGitHttpRoute(std::string_view method, std::string_view target);

}  // namespace hephy

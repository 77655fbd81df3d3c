// Which git request an HTTP request is (gitprotocol-http(5), the smart
// protocol): the ref advertisement "GET /APP.git/info/refs?service=SERVICE",
// or a service's exchange "POST /APP.git/SERVICE". ".git" may be left out,
// as in SSH URLs.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "git/git_command.h"
#include "hephy/error.h"

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

// Why a git path is refused, in words for the client, with the HTTP status
// that goes with them.
class GitHttpRouteError : public Error {
 public:
  GitHttpRouteError(int status, const std::string& message) : Error(message), status_(status) {}
  int status() const { return status_; }

 private:
  int status_;
};

// The route of a git path. Throws GitHttpRouteError for an invalid app name
// or an unknown path (404), another method than the route's (405), the dumb
// protocol (info/refs without a service) or an unknown service (400).
GitHttpRoute ParseGitHttpRoute(std::string_view method, std::string_view target);

}  // namespace hephy

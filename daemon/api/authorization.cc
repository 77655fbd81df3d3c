#include "api/authorization.h"

#include "util/ascii.h"
#include "util/base64.h"

namespace hephy {

std::optional<Authorization> ParseAuthorization(std::string_view header) {
  const auto space = header.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  Authorization authorization{AsciiLower(header.substr(0, space)), ""};
  std::string_view rest = header.substr(space + 1);
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  while (!rest.empty() && rest.back() == ' ') rest.remove_suffix(1);
  authorization.credentials = rest;
  return authorization;
}

std::optional<BasicCredentials> BasicCredentialsOf(const Authorization& authorization) {
  if (authorization.scheme != "basic") return std::nullopt;
  const auto decoded = Base64Decode(authorization.credentials);
  const auto colon = decoded ? decoded->find(':') : std::string::npos;
  if (colon == std::string::npos) return std::nullopt;
  return BasicCredentials{decoded->substr(0, colon), decoded->substr(colon + 1)};
}

}  // namespace hephy

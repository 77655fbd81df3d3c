#include "githttp/git_http_route.h"

#include "hephy/error.h"
#include "util/names.h"

namespace hephy {
namespace {

constexpr std::string_view kInfoRefs = "/info/refs";

std::string_view PathOf(std::string_view target) { return target.substr(0, target.find('?')); }

std::optional<GitService> ServiceNamed(std::string_view name) {
  if (name == "git-upload-pack") return GitService::kUploadPack;
  if (name == "git-receive-pack") return GitService::kReceivePack;
  return std::nullopt;
}

// "/web.git" -> "web"; throws for anything that is not one valid app name.
std::string AppOf(std::string_view prefix) {
  if (!prefix.starts_with('/')) throw GitHttpRouteError(404, "not found");
  prefix.remove_prefix(1);
  if (prefix.ends_with(".git")) prefix.remove_suffix(4);
  try {
    ValidateAppName(prefix);
  } catch (const Error& e) {
    throw GitHttpRouteError(404, e.what());
  }
  return std::string(prefix);
}

}  // namespace

bool IsGitHttpPath(std::string_view target) {
  const std::string_view path = PathOf(target);
  return path.ends_with(kInfoRefs) || path.ends_with("/git-upload-pack") ||
         path.ends_with("/git-receive-pack");
}

GitHttpRoute ParseGitHttpRoute(std::string_view method, std::string_view target) {
  const std::string_view path = PathOf(target);
  const std::string_view query =
      path.size() < target.size() ? target.substr(path.size() + 1) : std::string_view();
  if (path.ends_with(kInfoRefs)) {
    if (method != "GET") throw GitHttpRouteError(405, "info/refs takes GET");
    if (!query.starts_with("service=")) {
      throw GitHttpRouteError(
          400, "hephyd speaks git's smart HTTP protocol only; use git 1.6.6 or newer");
    }
    const std::string_view name = query.substr(8, query.find('&') - 8);
    const auto service = ServiceNamed(name);
    if (!service) {
      throw GitHttpRouteError(400, "unknown service '" + std::string(name.substr(0, 40)) +
                                       "'; hephyd serves git-upload-pack and git-receive-pack");
    }
    return {GitHttpRoute::Kind::kAdvertisement, *service,
            AppOf(path.substr(0, path.size() - kInfoRefs.size()))};
  }
  const size_t slash = path.rfind('/');
  const auto service = ServiceNamed(path.substr(slash + 1));
  if (!service) throw GitHttpRouteError(404, "not found");
  if (method != "POST")
    throw GitHttpRouteError(405, std::string(ServiceName(*service)) + " takes POST");
  return {GitHttpRoute::Kind::kExchange, *service, AppOf(path.substr(0, slash))};
}

}  // namespace hephy

#include "registry/registry_access.h"

#include "registry/docker_config.h"

namespace hephy {

RegistryAccess ResolveRegistryAccess(const RegistryConfig& config,
                                     std::chrono::milliseconds helper_timeout) {
  RegistryAccess access;
  access.source = "docker config " + config.docker_config.string();
  access.credentials =
      DockerConfig::Load(config.docker_config).CredentialsFor(config.url, helper_timeout);
  return access;
}

RegistryClientOptions ClientOptions(const RegistryConfig& config, const RegistryAccess& access) {
  return {.url = config.url,
          .insecure = config.insecure,
          .ca_file = config.ca_file,
          .credentials = access.credentials,
          .credentials_source = access.source,
          .retry = config.retry};
}

}  // namespace hephy

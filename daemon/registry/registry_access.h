// What a build needs to reach the registry: the credentials of
// registry.docker_config for registry.url (asking its credential helper when
// it names one), and the client options that follow from the config.
// Resolved once per build, so that a helper's short-lived tokens are fresh.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "hephy/config.h"
#include "hephy/registry_client.h"
#include "hephy/registry_credentials.h"

namespace hephy {

struct RegistryAccess {
  std::optional<RegistryCredentials> credentials;  // nullopt: anonymous
  std::string source;  // "docker config /root/.docker/config.json", for errors
};

// Throws Error naming the file, or the helper and its stderr, when they
// cannot be read or run.
RegistryAccess ResolveRegistryAccess(
    const RegistryConfig& config,
    std::chrono::milliseconds helper_timeout = std::chrono::seconds(30));

RegistryClientOptions ClientOptions(const RegistryConfig& config, const RegistryAccess& access);

}  // namespace hephy

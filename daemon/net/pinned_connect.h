// A TCP connection to a host's addresses as an EgressPolicy allows them:
// the addresses checked are the ones connected to, so a name that resolves
// differently the second time never comes into it.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "net/egress_policy.h"
#include "util/process.h"

namespace hephy {

// The first of `addresses` (`host`'s, for `port`) that accepts within
// `timeout`, as a blocking socket. Throws Error "cannot connect to HOST port
// PORT (ADDRESS: REASON; ...)".
UniqueFd ConnectToAny(const std::vector<SocketAddress>& addresses, const std::string& host,
                      const std::string& port,
                      std::chrono::milliseconds timeout = std::chrono::seconds(30));

// ConnectToAny of the addresses `policy` allows for `host`; throws Error
// with the policy's refusal too.
UniqueFd ConnectPinned(const EgressPolicy& policy, const std::string& host, const std::string& port,
                       std::chrono::milliseconds timeout = std::chrono::seconds(30));

}  // namespace hephy

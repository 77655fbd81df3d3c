// A TCP connection to a host's addresses as an EgressPolicy allows them:
// the addresses checked are the ones connected to, so a name that resolves
// differently the second time never comes into it.
#pragma once

#include <chrono>
#include <string>

#include "net/egress_policy.h"
#include "util/process.h"

namespace hephy {

// The first of `host`'s allowed addresses for `port` that accepts within
// `timeout`, as a blocking socket. Throws Error with the policy's refusal, or
// "cannot connect to HOST port PORT (ADDRESS: REASON; ...)".
UniqueFd ConnectPinned(const EgressPolicy& policy, const std::string& host, const std::string& port,
                       std::chrono::milliseconds timeout = std::chrono::seconds(30));

}  // namespace hephy

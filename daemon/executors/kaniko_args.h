// The arguments both Kaniko executors give /kaniko/executor for one platform
// job, as the seed's pipeline did: the context and Dockerfile, the arch tag
// as destination, --customPlatform, the target and build args, the layer
// cache in the registry, the new RUN implementation, --cleanup, and the
// digest written to a file.
#pragma once

#include <string>
#include <vector>

#include "hephy/executor.h"

namespace hephy {

struct KanikoLocation {
  std::string context;      // "dir:///workspace", "dir:///tmp/x/context"
  std::string digest_file;  // "/dev/termination-log", or a file of the job
  // A file Kaniko trusts for the registry's certificate
  // (--registry-certificate HOST=FILE); empty: none.
  std::string registry_certificate;
};

// Every argument after the executor's own path. Build args and the rest go
// as separate argv entries, never through a shell.
std::vector<std::string> KanikoArgs(const PlatformJobSpec& spec, const KanikoLocation& where);

}  // namespace hephy

#include "executors/kaniko_args.h"

namespace hephy {
namespace {

// The registry part of "host[:port]/repository:tag".
std::string RegistryOf(const std::string& destination) {
  return destination.substr(0, destination.find('/'));
}

}  // namespace

std::vector<std::string> KanikoArgs(const PlatformJobSpec& spec, const KanikoLocation& where) {
  // Kaniko looks a relative --dockerfile up in its working directory before
  // the context; an absolute one inside the context cannot be mistaken.
  std::string dockerfile = spec.dockerfile;
  if (where.context.starts_with("dir://")) {
    dockerfile = where.context.substr(std::string_view("dir://").size()) + "/" + spec.dockerfile;
  }
  std::vector<std::string> args{"--context=" + where.context, "--dockerfile=" + dockerfile,
                                "--destination=" + spec.destination,
                                "--customPlatform=" + spec.platform};
  if (!spec.target.empty()) args.push_back("--target=" + spec.target);
  for (const auto& arg : spec.build_args) {
    // The value as an argv entry of its own: whatever it holds, Kaniko sees
    // one build arg.
    args.push_back("--build-arg");
    args.push_back(arg);
  }
  // The layer cache is the app's own repository in the registry, which
  // every pod reaches; a refresh reads nothing from it (Kaniko has no way to
  // build anew and still write). The RUN implementation that snapshots only
  // what changed, and a clean root for the next build.
  if (spec.cache && !spec.cache->refresh) {
    args.push_back("--cache=true");
    args.push_back("--cache-repo=" + spec.cache->repository);
    if (spec.cache->ttl.count() > 0) {
      args.push_back("--cache-ttl=" + std::to_string(spec.cache->ttl.count()) + "s");
    }
  } else {
    args.push_back("--cache=false");
  }
  args.insert(args.end(), {"--use-new-run", "--cleanup", "--digest-file=" + where.digest_file});
  if (spec.insecure_registry) {
    args.push_back("--insecure-registry=" + RegistryOf(spec.destination));
  }
  if (!where.registry_certificate.empty()) {
    args.push_back("--registry-certificate=" + RegistryOf(spec.destination) + "=" +
                   where.registry_certificate);
  }
  return args;
}

}  // namespace hephy

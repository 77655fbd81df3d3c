// Upstream sources of build units: a build-config.yaml's upstream_repo (a
// git URL, see upstream_url.h) and upstream_ref (a tag, branch or commit),
// fetched with libgit2 into one bare mirror per URL and resolved to a commit.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <stop_token>
#include <string>

#include "hephy/config.h"
#include "net/egress_policy.h"
#include "upstream/upstream_url.h"

namespace hephy {

class UpstreamCache {
 public:
  // Mirrors live in `dir` (Config::UpstreamsDir()), which is created if
  // missing; temporary directories a crash left there are removed. Throws
  // Error when `dir` cannot be created.
  // Upstream hosts are resolved with `resolver`, and only public addresses
  // and config.allow_hosts are fetched from (net/egress_policy.h).
  UpstreamCache(std::filesystem::path dir, UpstreamsConfig config,
                EgressPolicy::Resolver resolver = EgressPolicy::SystemResolver);
  UpstreamCache(const UpstreamCache&) = delete;
  UpstreamCache& operator=(const UpstreamCache&) = delete;

  struct Resolved {
    // The bare mirror repository holding `commit` and everything it
    // reaches; open it with git_repository_open_bare.
    std::filesystem::path mirror;
    std::string commit;  // 40 lower-case hex digits
    // The URL as given: Resolve refuses URLs that carry credentials, so this
    // is safe for the database, logs and image annotations.
    std::string display_url;
  };

  // Resolves `ref` of the upstream repository `url` to a commit, fetching
  // only when needed:
  // - a 40-hex `ref` whose commit the mirror already holds needs no fetch;
  // - otherwise every branch and tag is fetched into the mirror (forced,
  //   pruned; no HTTP redirects followed) and `ref` is looked up as a tag
  //   (annotated ones peeled), then a branch ("release/1.x" too), then a
  //   full commit id.
  // The mirror is data_dir/upstreams/<first 16 hex of SHA-256 of url>.git,
  // so a URL never becomes a path; a new one is created under a temporary
  // name and renamed into place.
  //
  // Authentication: http(s) upstreams get the credential
  // FindHttpCredential finds (upstream_credentials.h), once the server asks
  // for one; ssh upstreams authenticate with config.ssh_key as the URL's
  // user (default "git"), and their host key must be in config.known_hosts
  // (default ~/.ssh/known_hosts). A refused credential is not offered again.
  //
  // `progress` gets human lines for the build log, such as "fetching
  // https://host/x.git (v1.2.3)"; it may be empty.
  //
  // Thread-safe: calls for the same URL take turns on its mirror, calls for
  // different URLs run in parallel. A server that does not answer for
  // config.timeout fails the call, "HOST did not answer for 60s
  // (upstreams.timeout)" (PinnedConnections).
  // A stop request on `cancel` (the pusher went away) ends a fetch at once,
  // as an Error "... cancelled".
  //
  // A host that resolves to an address that is not public (loopback,
  // private, link-local, ...) and that config.allow_hosts does not list is
  // refused before any connection: Error "HOST resolves to 127.0.0.1
  // (loopback); hephyd fetches only public addresses unless
  // upstreams.allow_hosts lists the host".
  //
  // Throws Error "URL: REASON" naming the ref, e.g. "https://host/x.git: ref
  // 'v9' not found (no such tag, branch or commit)", for a URL
  // UpstreamUrlProblem refuses, a local URL while config.allow_local is off,
  // an invalid ref, and failed fetches (network, authentication, host key).
  // Messages never hold a credential.
  Resolved Resolve(const std::string& url, const std::string& ref,
                   const std::function<void(const std::string&)>& progress,
                   std::stop_token cancel = {});

 private:
  std::mutex& MirrorMutex(const std::string& name);

  const std::filesystem::path dir_;
  const UpstreamsConfig config_;
  const EgressPolicy policy_;
  std::mutex mutexes_mutex_;
  std::map<std::string, std::mutex> mirror_mutexes_;  // by mirror name; never erased
};

}  // namespace hephy

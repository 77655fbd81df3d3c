// What buildah fetches itself for a Dockerfile, from this machine's network
// rather than the RUN steps': the images of FROM, of COPY/ADD --from= and
// of RUN --mount=...,from=, and the http(s) URLs of ADD. The build planner
// checks their hosts before the build, as Go programs (buildah) connect to
// a loopback address or "localhost" directly, never through the job's
// egress proxy (net/egress_proxy.h). Pure functions.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace hephy {

struct DockerfileFetch {
  size_t line;            // 1-based, of the instruction
  std::string what;       // "ADD http://10.0.0.5/x", "FROM 127.0.0.1:5000/app:tag", expanded
  std::string authority;  // "10.0.0.5", "127.0.0.1:5000": host and port as written
  std::string host;       // without port or brackets; empty when it names none
};

// The fetches of `dockerfile` that name a host: images on a registry other
// than Docker Hub ("host.domain/...", "host:port/...", "localhost/...") and
// ADD's URLs (an URL without a host too, with `host` empty). Words are
// expanded as Docker does ($NAME, ${NAME}, ${NAME:-word}, ${NAME:+word}, a
// name without a value is empty) with the values of ARG defaults, ENV and
// `build_args` ("NAME=VALUE", which win), whichever stage set them.
std::vector<DockerfileFetch> DockerfileFetches(std::string_view dockerfile,
                                               const std::vector<std::string>& build_args);

}  // namespace hephy

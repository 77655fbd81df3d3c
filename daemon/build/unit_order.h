// Dependencies between the build units of one catalog repository
// (ARCHITECTURE.md "Build units and build-config.yaml"): which unit a
// Dockerfile builds FROM, the order units build in, which unit of a push waits
// for which, and the Dockerfile a dependent builds with the digests just built.
// Pure functions of their arguments.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace hephy {

// One FROM instruction of a Dockerfile.
struct FromLine {
  size_t line;              // 1-based line of the FROM keyword
  std::string image;        // as written: "$VAR"s are not expanded, "scratch" and stage names kept
  std::string stage_alias;  // the name after AS, as written; empty without AS
};

// The FROM instructions of `dockerfile`, in order. As Docker reads them: the
// keyword in any case, "--flag=..." before the image skipped, lines ending in
// the escape character ('\', or '`' after "# escape=`") joined with the next,
// comments and blank lines skipped (inside continuations too), heredoc bodies
// of RUN/COPY/ADD skipped. A FROM without an image is left out.
std::vector<FromLine> ParseFromLines(std::string_view dockerfile);

// The unit of `units` whose image `image` names as it would be pulled:
// "{registry}/{repository}:{tag}" where `registry` is registry.url
// (host[:port], compared case-insensitively), `repository` the unit's registry
// repository, and the tag starts with "{unit}-" and goes on. When several
// units prefix the tag ("kaniko" and "kaniko-debug" for "kaniko-debug-latest")
// the longest unit name wins: tags are "{unit}-{date}-{sha}" or
// "{unit}-{additional tag}", and an additional tag "debug-latest" of unit
// "kaniko" cannot be told from the tags of "kaniko-debug". nullopt for any
// other image, a reference by digest ("...@sha256:...", with or without tag)
// and an image without a tag.
std::optional<std::string> UnitOfImage(std::string_view image, std::string_view registry,
                                       std::string_view repository,
                                       const std::vector<std::string>& units);

// The units `dockerfile` builds FROM (UnitOfImage of each FROM), each once, in
// the order of their first FROM.
std::vector<std::string> UnitsInDockerfile(std::string_view dockerfile, std::string_view registry,
                                           std::string_view repository,
                                           const std::vector<std::string>& units);

// A unit and the units it depends on: depends_on and UnitsInDockerfile merged.
// Unit names are distinct.
struct UnitDependencies {
  std::string unit;
  std::vector<std::string> depends_on;
};

// The units in an order where each comes after the units it depends on.
// Stable: of the units whose dependencies are all placed, the one earliest in
// `units` comes next, so an input that is already in order is returned as is.
// Appends to `problems` one message for each dependency that is not a unit of
// `units` ("unit 'web' depends on 'bsae', which is not a unit of this
// repository (units: base, web)"), each unit that depends on itself, and each
// cycle ("units depend on each other in a cycle: a -> b -> c -> a", where
// "->" reads "depends on"). With problems, the order leaves out the units in
// or behind a cycle and ignores the other bad dependencies.
std::vector<std::string> OrderUnits(const std::vector<UnitDependencies>& units,
                                    std::vector<std::string>& problems);

// For each unit of `selected` (the units a push builds), the units of
// `selected` it depends on directly, in the order of `units`; a unit with none
// maps to an empty list. A dependency not in `selected` is not waited for: its
// image is pulled from the registry as it is. Building the selected units in
// OrderUnits order (the others left out) never waits for a later unit.
std::map<std::string, std::vector<std::string>> WaitsFor(const std::vector<UnitDependencies>& units,
                                                         const std::set<std::string>& selected);

// `dockerfile` with the image of every FROM (as ParseFromLines reads it) that
// is a key of `pinned` replaced by its value, e.g.
// "127.0.0.1:5000/tools:base-latest" -> "127.0.0.1:5000/tools@sha256:...";
// every other byte kept (flags, AS, comments, CRLF, continuation lines).
std::string PinFromImages(std::string_view dockerfile,
                          const std::map<std::string, std::string>& pinned);

}  // namespace hephy

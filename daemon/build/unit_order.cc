#include "build/unit_order.h"

#include <algorithm>
#include <cctype>
#include <queue>

#include "build/build_config.h"
#include "build/dockerfile_instructions.h"
#include "util/ascii.h"

namespace hephy {
namespace {

// A FROM instruction, and where its image is in the Dockerfile: [begin, end).
struct From {
  FromLine from;
  size_t image_begin;
  size_t image_end;
};

std::optional<From> AsFrom(const DockerfileInstruction& instruction) {
  const std::string_view text = instruction.text;
  const auto words = DockerfileWords(text);
  const auto word = [&](size_t i) {
    return text.substr(words[i].first, words[i].second - words[i].first);
  };
  if (words.empty() || !EqualsIgnoreCase(word(0), "from")) return std::nullopt;
  size_t image = 1;
  while (image < words.size() && word(image).starts_with("--")) ++image;
  if (image == words.size()) return std::nullopt;
  From from{.from = {.line = instruction.line, .image = std::string(word(image))},
            .image_begin = instruction.offsets[words[image].first],
            .image_end = instruction.offsets[words[image].second - 1] + 1};
  if (image + 2 < words.size() && EqualsIgnoreCase(word(image + 1), "as")) {
    from.from.stage_alias = word(image + 2);
  }
  return from;
}

std::vector<From> Froms(std::string_view dockerfile) {
  std::vector<From> froms;
  for (const auto& instruction : DockerfileInstructions(dockerfile)) {
    if (auto from = AsFrom(instruction)) froms.push_back(std::move(*from));
  }
  return froms;
}

// The shortest cycle of dependencies from `start` back to it, first dependency
// first on ties; empty when `start` is in no cycle.
std::vector<size_t> ShortestCycle(size_t start, const std::vector<std::vector<size_t>>& deps) {
  std::vector<size_t> parent(deps.size(), deps.size());
  std::queue<size_t> queue;
  queue.push(start);
  while (!queue.empty()) {
    const size_t unit = queue.front();
    queue.pop();
    for (const size_t dep : deps[unit]) {
      if (dep == start) {
        std::vector<size_t> cycle = {start};
        for (size_t at = unit; at != start; at = parent[at]) cycle.push_back(at);
        std::reverse(cycle.begin() + 1, cycle.end());
        cycle.push_back(start);
        return cycle;
      }
      if (parent[dep] == deps.size()) {
        parent[dep] = unit;
        queue.push(dep);
      }
    }
  }
  return {};
}

}  // namespace

std::vector<FromLine> ParseFromLines(std::string_view dockerfile) {
  std::vector<FromLine> lines;
  for (auto& from : Froms(dockerfile)) lines.push_back(std::move(from.from));
  return lines;
}

std::optional<std::string> UnitOfImage(std::string_view image, std::string_view registry,
                                       std::string_view repository,
                                       const std::vector<std::string>& units) {
  if (image.size() <= registry.size() || image[registry.size()] != '/' ||
      !EqualsIgnoreCase(image.substr(0, registry.size()), registry)) {
    return std::nullopt;
  }
  const auto path = image.substr(registry.size() + 1);
  if (!path.starts_with(repository) || path.size() <= repository.size() ||
      path[repository.size()] != ':') {
    return std::nullopt;
  }
  // IsValidTag also turns away "tag@sha256:...": the digest is what is pulled.
  const auto tag = path.substr(repository.size() + 1);
  if (!IsValidTag(tag)) return std::nullopt;
  const std::string* best = nullptr;
  for (const auto& unit : units) {
    if (tag.size() > unit.size() + 1 && tag.starts_with(unit) && tag[unit.size()] == '-' &&
        (best == nullptr || unit.size() > best->size())) {
      best = &unit;
    }
  }
  if (best == nullptr) return std::nullopt;
  return *best;
}

std::vector<std::string> UnitsInDockerfile(std::string_view dockerfile, std::string_view registry,
                                           std::string_view repository,
                                           const std::vector<std::string>& units) {
  std::vector<std::string> found;
  for (const auto& from : ParseFromLines(dockerfile)) {
    auto unit = UnitOfImage(from.image, registry, repository, units);
    if (unit && std::find(found.begin(), found.end(), *unit) == found.end()) {
      found.push_back(std::move(*unit));
    }
  }
  return found;
}

std::vector<std::string> OrderUnits(const std::vector<UnitDependencies>& units,
                                    std::vector<std::string>& problems) {
  const size_t n = units.size();
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < n; ++i) index.emplace(units[i].unit, i);

  std::vector<std::vector<size_t>> deps(n);
  for (size_t i = 0; i < n; ++i) {
    const std::string& unit = units[i].unit;
    std::set<std::string> seen;
    for (const auto& name : units[i].depends_on) {
      if (!seen.insert(name).second) continue;
      if (name == unit) {
        problems.push_back("unit '" + unit + "' depends on itself");
        continue;
      }
      const auto dep = index.find(name);
      if (dep == index.end()) {
        std::string all;
        for (const auto& [known, unused] : index) all += (all.empty() ? "" : ", ") + known;
        problems.push_back("unit '" + unit + "' depends on '" + name +
                           "', which is not a unit of this repository (units: " + all + ")");
        continue;
      }
      deps[i].push_back(dep->second);
    }
  }

  // Kahn's algorithm, taking the earliest ready unit each time.
  std::vector<size_t> waiting(n);
  std::vector<std::vector<size_t>> dependents(n);
  for (size_t i = 0; i < n; ++i) {
    waiting[i] = deps[i].size();
    for (const size_t dep : deps[i]) dependents[dep].push_back(i);
  }
  std::set<size_t> ready;
  for (size_t i = 0; i < n; ++i) {
    if (waiting[i] == 0) ready.insert(i);
  }
  std::vector<std::string> order;
  std::vector<bool> done(n);
  while (!ready.empty()) {
    const size_t unit = *ready.begin();
    ready.erase(ready.begin());
    order.push_back(units[unit].unit);
    done[unit] = true;
    for (const size_t dependent : dependents[unit]) {
      if (--waiting[dependent] == 0) ready.insert(dependent);
    }
  }

  // What is left is in a cycle or depends on one. Name a cycle through each
  // unit not yet named, so that every unit of a tangle shows up.
  for (size_t i = 0; i < n; ++i) {
    if (done[i]) continue;
    const auto cycle = ShortestCycle(i, deps);
    if (cycle.empty()) continue;
    std::string text;
    for (const size_t unit : cycle) {
      text += (text.empty() ? "" : " -> ") + units[unit].unit;
      done[unit] = true;
    }
    problems.push_back("units depend on each other in a cycle: " + text);
  }
  return order;
}

std::map<std::string, std::vector<std::string>> WaitsFor(const std::vector<UnitDependencies>& units,
                                                         const std::set<std::string>& selected) {
  std::map<std::string, size_t> position;
  for (size_t i = 0; i < units.size(); ++i) position.emplace(units[i].unit, i);
  const auto rank = [&](const std::string& unit) {
    const auto at = position.find(unit);
    return at == position.end() ? units.size() : at->second;
  };

  std::map<std::string, std::vector<std::string>> waits;
  for (const auto& unit : selected) waits[unit];
  for (const auto& [unit, depends_on] : units) {
    if (!selected.contains(unit)) continue;
    auto& wait = waits[unit];
    for (const auto& dep : depends_on) {
      if (dep != unit && selected.contains(dep) &&
          std::find(wait.begin(), wait.end(), dep) == wait.end()) {
        wait.push_back(dep);
      }
    }
    std::stable_sort(wait.begin(), wait.end(),
                     [&](const std::string& a, const std::string& b) { return rank(a) < rank(b); });
  }
  return waits;
}

std::string PinFromImages(std::string_view dockerfile,
                          const std::map<std::string, std::string>& pinned) {
  std::string out;
  size_t copied = 0;
  for (const auto& from : Froms(dockerfile)) {
    const auto pin = pinned.find(from.from.image);
    if (pin == pinned.end()) continue;
    // An image split by a continuation is replaced with its escape and line
    // break: the same instruction on fewer lines.
    out.append(dockerfile.substr(copied, from.image_begin - copied));
    out.append(pin->second);
    copied = from.image_end;
  }
  out.append(dockerfile.substr(copied));
  return out;
}

}  // namespace hephy

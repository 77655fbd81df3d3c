#include "build/unit_order.h"

#include <algorithm>
#include <cctype>
#include <queue>

#include "build/build_config.h"

namespace hephy {
namespace {

bool IsBlank(char c) { return c == ' ' || c == '\t'; }

std::string_view TrimLeft(std::string_view s) {
  while (!s.empty() && (IsBlank(s.front()) || s.front() == '\r')) s.remove_prefix(1);
  return s;
}

std::string_view TrimRight(std::string_view s) {
  while (!s.empty() && (IsBlank(s.back()) || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// A physical line: where it starts in the Dockerfile, and its text without
// "\n" and a trailing "\r".
struct Line {
  size_t begin;
  std::string_view text;
};

std::vector<Line> SplitLines(std::string_view text) {
  std::vector<Line> lines;
  size_t begin = 0;
  while (begin < text.size()) {
    size_t end = text.find('\n', begin);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(begin, end - begin);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back({begin, line});
    begin = end + 1;
  }
  return lines;
}

// A parser directive "# key=value", as BuildKit reads it; nullopt for any
// other line, which ends the directives.
std::optional<std::pair<std::string, std::string>> Directive(std::string_view line) {
  if (line.empty() || line.front() != '#') return std::nullopt;
  line = TrimLeft(line.substr(1));
  size_t key_end = 0;
  while (key_end < line.size() && std::isalnum(static_cast<unsigned char>(line[key_end]))) {
    ++key_end;
  }
  if (key_end == 0 || !std::isalpha(static_cast<unsigned char>(line.front()))) return std::nullopt;
  std::string key(line.substr(0, key_end));
  std::transform(key.begin(), key.end(), key.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  if (key != "syntax" && key != "escape" && key != "check") return std::nullopt;
  const auto rest = TrimLeft(line.substr(key_end));
  if (rest.empty() || rest.front() != '=') return std::nullopt;
  const auto value = TrimRight(TrimLeft(rest.substr(1)));
  if (value.empty()) return std::nullopt;
  return std::make_pair(key, std::string(value));
}

// One instruction with its continuation lines joined: the escape character
// that ends a line is dropped and nothing is put in its place, as Docker does.
struct Instruction {
  size_t line;                  // 1-based, of its first line
  std::string text;             // the joined text
  std::vector<size_t> offsets;  // offsets[i]: where text[i] is in the Dockerfile
};

// Appends `line` to `instruction`; whether it ends in the escape character.
bool Append(Instruction& instruction, const Line& line, char escape) {
  std::string_view text = line.text;
  const auto trimmed = TrimRight(text);
  const bool continued = !trimmed.empty() && trimmed.back() == escape;
  if (continued) text = trimmed.substr(0, trimmed.size() - 1);
  for (size_t i = 0; i < text.size(); ++i) {
    instruction.text.push_back(text[i]);
    instruction.offsets.push_back(line.begin + i);
  }
  return continued;
}

// The [begin, end) of each blank-separated word of `text`.
std::vector<std::pair<size_t, size_t>> Words(std::string_view text) {
  std::vector<std::pair<size_t, size_t>> words;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (IsBlank(text[i]) || text[i] == '\r')) ++i;
    const size_t begin = i;
    while (i < text.size() && !IsBlank(text[i]) && text[i] != '\r') ++i;
    if (i > begin) words.emplace_back(begin, i);
  }
  return words;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return out;
}

// The heredocs ("<<EOF", "<<-'EOF'", "2<<EOF") an instruction opens: each
// terminator, and whether leading tabs are stripped before comparing to it.
std::vector<std::pair<std::string, bool>> Heredocs(const std::string& text) {
  std::vector<std::pair<std::string, bool>> heredocs;
  const auto words = Words(text);
  if (words.empty()) return heredocs;
  const std::string keyword =
      Lower(std::string_view(text).substr(words[0].first, words[0].second - words[0].first));
  if (keyword != "run" && keyword != "copy" && keyword != "add") return heredocs;
  for (const auto& [begin, end] : words) {
    std::string_view word = std::string_view(text).substr(begin, end - begin);
    while (!word.empty() && std::isdigit(static_cast<unsigned char>(word.front()))) {
      word.remove_prefix(1);
    }
    if (!word.starts_with("<<")) continue;
    word.remove_prefix(2);
    const bool strip_tabs = word.starts_with("-");
    if (strip_tabs) word.remove_prefix(1);
    if (word.size() >= 2 && (word.front() == '"' || word.front() == '\'') &&
        word.back() == word.front()) {
      word = word.substr(1, word.size() - 2);
    }
    if (!word.empty() && word.find('<') == std::string_view::npos) {
      heredocs.emplace_back(std::string(word), strip_tabs);
    }
  }
  return heredocs;
}

std::vector<Instruction> Instructions(std::string_view dockerfile) {
  const std::vector<Line> lines = SplitLines(dockerfile);
  std::vector<Instruction> instructions;
  char escape = '\\';
  bool directives = true;
  size_t i = 0;
  const auto skippable = [&](size_t at) {
    const auto text = TrimLeft(lines[at].text);
    return text.empty() || text.front() == '#';
  };
  while (i < lines.size()) {
    if (directives) {
      if (const auto directive = Directive(lines[i].text)) {
        if (directive->first == "escape" &&
            (directive->second == "\\" || directive->second == "`")) {
          escape = directive->second.front();
        }
        ++i;
        continue;
      }
      directives = false;
    }
    if (skippable(i)) {
      ++i;
      continue;
    }
    Instruction instruction{.line = i + 1};
    bool continued = Append(instruction, lines[i++], escape);
    for (; continued && i < lines.size(); ++i) {
      if (!skippable(i)) continued = Append(instruction, lines[i], escape);
    }
    for (const auto& [terminator, strip_tabs] : Heredocs(instruction.text)) {
      for (; i < lines.size(); ++i) {
        std::string_view text = lines[i].text;
        while (strip_tabs && !text.empty() && text.front() == '\t') text.remove_prefix(1);
        if (text == terminator) {
          ++i;
          break;
        }
      }
    }
    instructions.push_back(std::move(instruction));
  }
  return instructions;
}

// A FROM instruction, and where its image is in the Dockerfile: [begin, end).
struct From {
  FromLine from;
  size_t image_begin;
  size_t image_end;
};

std::optional<From> AsFrom(const Instruction& instruction) {
  const std::string_view text = instruction.text;
  const auto words = Words(text);
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
  for (const auto& instruction : Instructions(dockerfile)) {
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

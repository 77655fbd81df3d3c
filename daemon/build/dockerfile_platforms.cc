#include "build/dockerfile_platforms.h"

#include <algorithm>
#include <cctype>
#include <functional>
#include <optional>
#include <vector>

#include "build/dockerfile_instructions.h"
#include "build/platform_args.h"
#include "util/ascii.h"

namespace hephy {
namespace {

std::vector<std::string> WordsOf(const DockerfileInstruction& instruction) {
  std::vector<std::string> words;
  for (const auto& [begin, end] : DockerfileWords(instruction.text)) {
    words.push_back(instruction.text.substr(begin, end - begin));
  }
  return words;
}

struct Stage {
  std::string alias;     // lower case; empty without AS
  std::string base;      // the image or stage it is FROM, lower case
  std::string platform;  // its --platform as written; empty without
  std::optional<size_t> first_run;
  std::vector<std::string> uses;  // stages (names or indices) it copies or mounts from
};

std::vector<Stage> StagesOf(std::string_view dockerfile) {
  std::vector<Stage> stages;
  for (const auto& instruction : DockerfileInstructions(dockerfile)) {
    const auto words = WordsOf(instruction);
    if (words.empty()) continue;
    const std::string keyword = AsciiLower(words[0]);
    if (keyword == "from") {
      Stage stage;
      size_t i = 1;
      for (; i < words.size() && words[i].starts_with("--"); ++i) {
        if (AsciiLower(words[i]).starts_with("--platform=")) stage.platform = words[i].substr(11);
      }
      if (i < words.size()) stage.base = AsciiLower(words[i]);
      if (i + 2 < words.size() && AsciiLower(words[i + 1]) == "as")
        stage.alias = AsciiLower(words[i + 2]);
      stages.push_back(std::move(stage));
      continue;
    }
    if (stages.empty()) continue;
    Stage& stage = stages.back();
    for (size_t i = 1; i < words.size() && words[i].starts_with("--"); ++i) {
      const std::string flag = AsciiLower(words[i]);
      for (auto& source : FlagSources(keyword, flag)) stage.uses.push_back(std::move(source));
    }
    if (keyword == "run" && !stage.first_run) stage.first_run = instruction.line;
  }
  return stages;
}

// The earlier stage `reference` names (an alias or an index) from stage
// `before`; nullopt for an image.
std::optional<size_t> StageNamed(const std::vector<Stage>& stages, const std::string& reference,
                                 size_t before) {
  for (size_t i = before; i-- > 0;) {
    if (!stages[i].alias.empty() && stages[i].alias == reference) return i;
  }
  if (!reference.empty() && std::all_of(reference.begin(), reference.end(), ::isdigit) &&
      reference.size() < 6) {
    const size_t index = std::stoul(reference);
    if (index < before) return index;
  }
  return std::nullopt;
}

}  // namespace

std::map<std::string, size_t> RunPlatforms(std::string_view dockerfile, const std::string& build,
                                           const std::string& target,
                                           const std::string& target_stage) {
  const std::vector<Stage> stages = StagesOf(dockerfile);
  std::map<std::string, size_t> platforms;
  if (stages.empty()) return platforms;
  size_t last = stages.size() - 1;
  if (!target_stage.empty()) {
    if (const auto named = StageNamed(stages, AsciiLower(target_stage), stages.size()))
      last = *named;
  }
  std::map<std::string, std::string> values;
  for (auto& [name, value] : PlatformArgValues(build, target)) values[name] = std::move(value);
  std::vector<std::optional<std::string>> platform_of(stages.size());
  const std::function<std::string(size_t)> platform = [&](size_t i) -> std::string {
    if (platform_of[i]) return *platform_of[i];
    std::string result = target;
    if (!stages[i].platform.empty()) {
      result = ExpandVariables(stages[i].platform, values);
    } else if (const auto base = StageNamed(stages, stages[i].base, i)) {
      result = platform(*base);
    }
    platform_of[i] = result;
    return result;
  };
  std::vector<bool> needed(stages.size(), false);
  std::vector<size_t> todo = {last};
  while (!todo.empty()) {
    const size_t i = todo.back();
    todo.pop_back();
    if (needed[i]) continue;
    needed[i] = true;
    if (const auto base = StageNamed(stages, stages[i].base, i)) todo.push_back(*base);
    for (const auto& use : stages[i].uses) {
      if (const auto used = StageNamed(stages, use, i)) todo.push_back(*used);
    }
  }
  for (size_t i = 0; i < stages.size(); ++i) {
    if (!needed[i] || !stages[i].first_run) continue;
    const std::string runs_on = platform(i);
    const auto known = platforms.find(runs_on);
    if (known == platforms.end() || *stages[i].first_run < known->second) {
      platforms[runs_on] = *stages[i].first_run;
    }
  }
  return platforms;
}

std::set<std::string> DeclaredArgs(std::string_view dockerfile) {
  std::set<std::string> names;
  for (const auto& instruction : DockerfileInstructions(dockerfile)) {
    const auto words = WordsOf(instruction);
    if (words.empty()) continue;
    const std::string keyword = AsciiLower(words[0]);
    if (keyword == "arg") {
      for (size_t i = 1; i < words.size(); ++i) {
        names.insert(words[i].substr(0, words[i].find('=')));
      }
    }
    if (keyword != "from") continue;
    // "$NAME" and "${NAME...}" in a FROM line.
    const std::string& text = instruction.text;
    for (size_t at = text.find('$'); at != std::string::npos; at = text.find('$', at + 1)) {
      size_t begin = at + 1;
      if (begin < text.size() && text[begin] == '{') ++begin;
      size_t end = begin;
      while (end < text.size() &&
             (std::isalnum(static_cast<unsigned char>(text[end])) || text[end] == '_')) {
        ++end;
      }
      if (end > begin) names.insert(text.substr(begin, end - begin));
    }
  }
  return names;
}

}  // namespace hephy

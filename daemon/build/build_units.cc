#include "build/build_units.h"

#include <filesystem>
#include <map>

namespace hephy {

std::string NormalTreePath(const std::filesystem::path& path) {
  std::string normal = path.lexically_normal().generic_string();
  if (normal == ".") return "";
  if (normal.ends_with('/')) normal.pop_back();
  return normal;
}

std::string BuildUnit::ContextDir() const {
  return NormalTreePath(std::filesystem::path(upstream() ? "" : dir) / config.context_path);
}

std::string BuildUnit::DockerfilePath() const {
  return NormalTreePath(std::filesystem::path(ContextDir()) / config.dockerfile_path);
}

std::vector<BuildUnit> FindUnits(const CommitReader& commit, const std::string& app,
                                 std::vector<std::string>& problems) {
  std::vector<BuildUnit> units;
  std::map<std::string, std::string> file_of_unit;
  for (const auto& file : commit.FindFiles(kBuildConfigFile)) {
    BuildUnit unit;
    unit.dir = std::filesystem::path(file).parent_path().generic_string();
    unit.name = unit.dir.empty() ? app : UnitName(unit.dir);
    unit.config = ParseBuildConfig(commit.ReadFile(file).value_or(""), file, unit.name, problems);
    if (const auto [it, added] = file_of_unit.emplace(unit.name, file); !added) {
      problems.push_back(file + ": unit name '" + unit.name + "' is already the name of " +
                         it->second + "; rename one of the directories");
      continue;
    }
    if (!unit.upstream() && !commit.HasDirectory(unit.ContextDir())) {
      problems.push_back(file + ": context_path: '" + unit.config.context_path + "' (" +
                         (unit.ContextDir().empty() ? "/" : unit.ContextDir()) +
                         ") is not a directory of the repository");
    } else if (!unit.upstream() && !commit.ReadFile(unit.DockerfilePath())) {
      problems.push_back(file + ": dockerfile_path: '" + unit.config.dockerfile_path + "' (" +
                         unit.DockerfilePath() + ") is not a file of the repository");
    }
    units.push_back(std::move(unit));
  }
  if (file_of_unit.empty() && commit.ReadFile("Dockerfile")) {
    BuildUnit unit{.name = app, .dir = "", .config = {}, .implicit = true};
    unit.config.additional_tags = {"latest"};
    units.push_back(std::move(unit));
  }
  return units;
}

}  // namespace hephy

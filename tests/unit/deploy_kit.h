// What the deploy kit's tests share: where the repository is, and a
// lenient walk into YAML documents.
#pragma once

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <initializer_list>
#include <string>

namespace hephy::deploy_kit {

// tests/fixtures -> the repository root.
inline const std::filesystem::path kRoot =
    std::filesystem::path(HEPHY_FIXTURES_DIR).parent_path().parent_path();

// node[path[0]][path[1]]...; an undefined node where a key is missing (plain
// indexing would throw on the next key).
inline YAML::Node Get(const YAML::Node& node, std::initializer_list<std::string> path) {
  YAML::Node current = node;
  for (const auto& key : path) {
    const YAML::Node& parent = current;
    if (!parent.IsMap() || !parent[key]) return YAML::Node(YAML::NodeType::Undefined);
    current.reset(parent[key]);
  }
  return current;
}

}  // namespace hephy::deploy_kit

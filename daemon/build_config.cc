#include "hephy/build_config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>

#include "hephy/names.h"

namespace hephy {
namespace {

// Collects "file:line: key: reason"; yaml-cpp marks are 0-based.
class Problems {
 public:
  Problems(const std::string& file, std::vector<std::string>& out) : file_(file), out_(out) {}

  void Add(const YAML::Node& node, const std::string& key, const std::string& reason) {
    std::string where = file_;
    if (node.IsDefined() && node.Mark().line >= 0) {
      where += ":" + std::to_string(node.Mark().line + 1);
    }
    out_.push_back(where + ": " + key + ": " + reason);
  }

  // The node's text, or nullopt (and a problem) when it is not a scalar.
  std::optional<std::string> Scalar(const YAML::Node& node, const std::string& key) {
    if (node.IsScalar()) return node.Scalar();
    Add(node, key, "expected a string");
    return std::nullopt;
  }

  // Each item's text; a problem for the list or each item that is not text.
  std::vector<std::string> StringList(const YAML::Node& node, const std::string& key) {
    std::vector<std::string> items;
    if (node.IsNull()) return items;
    if (!node.IsSequence()) {
      Add(node, key, "expected a list of strings");
      return items;
    }
    for (const auto& item : node) {
      if (auto text = Scalar(item, key)) items.push_back(*text);
    }
    return items;
  }

 private:
  const std::string& file_;
  std::vector<std::string>& out_;
};

// A relative path that stays inside its root once normalised, as the
// kernel would not see it ("a/../b" is fine, "../b" and "/b" are not).
std::optional<std::string> PathProblem(const std::string& path) {
  if (path.empty()) return "must not be empty";
  const std::filesystem::path p(path);
  if (p.is_absolute()) return "'" + path + "' is absolute; give a path relative to the unit";
  const auto normal = p.lexically_normal();
  if (!normal.empty() && *normal.begin() == "..") {
    return "'" + path + "' leads outside the unit (..)";
  }
  return std::nullopt;
}

// 128 (the tag limit) minus "-YYYYMMDD-SHA7-" and room for "arm64v8".
constexpr size_t kMaxUnitName = 128 - 18 - 8;

bool IsBuildArgName(std::string_view name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name.front()))) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

}  // namespace

bool IsValidTag(std::string_view tag) {
  if (tag.empty() || tag.size() > 128) return false;
  const auto word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
  if (!word(tag.front())) return false;
  return std::all_of(tag.begin(), tag.end(),
                     [&](char c) { return word(c) || c == '.' || c == '-'; });
}

std::string UnitName(std::string_view directory) {
  std::string name(directory);
  std::replace(name.begin(), name.end(), '/', '-');
  return name;
}

BuildConfig ParseBuildConfig(std::string_view text, const std::string& file,
                             const std::string& unit, std::vector<std::string>& out) {
  BuildConfig config;
  Problems problems(file, out);
  // The longest tag a unit gets is "{unit}-YYYYMMDD-SHA7-{arch}{variant}".
  if (!IsValidTag(unit) || unit.size() > kMaxUnitName) {
    out.push_back(file + ": unit name '" + unit +
                  "' (its directory) cannot start image tags: use letters, digits, '_', '.' "
                  "and '-', starting with a letter, digit or '_', at most " +
                  std::to_string(kMaxUnitName) + " characters");
  }
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    out.push_back(file + ":" + std::to_string(e.mark.line + 1) + ": invalid YAML: " + e.msg);
    return config;
  }
  if (root.IsNull()) return config;
  if (!root.IsMap()) {
    problems.Add(root, "build-config", "expected a mapping of keys");
    return config;
  }

  using Handler = std::function<void(const YAML::Node&, const std::string&)>;
  const auto text_into = [&](std::string& field) -> Handler {
    return [&](const YAML::Node& node, const std::string& key) {
      if (auto value = problems.Scalar(node, key)) field = *value;
    };
  };
  const auto path_into = [&](std::string& field) -> Handler {
    return [&](const YAML::Node& node, const std::string& key) {
      const auto value = problems.Scalar(node, key);
      if (!value) return;
      if (const auto problem = PathProblem(*value)) return problems.Add(node, key, *problem);
      field = *value;
    };
  };
  const std::map<std::string, Handler> handlers = {
      {"upstream_repo", text_into(config.upstream_repo)},
      {"upstream_ref", text_into(config.upstream_ref)},
      {"dockerfile_path", path_into(config.dockerfile_path)},
      {"context_path", path_into(config.context_path)},
      {"target", text_into(config.target)},
      {"build_args",
       [&](const YAML::Node& node, const std::string& key) {
         for (auto& arg : problems.StringList(node, key)) {
           const auto equals = arg.find('=');
           if (equals == std::string::npos) {
             problems.Add(node, key, "'" + arg + "' has no '=' (expected KEY=value)");
           } else if (!IsBuildArgName(std::string_view(arg).substr(0, equals))) {
             problems.Add(node, key,
                          "'" + arg.substr(0, equals) +
                              "' is not a build argument name (letters, digits and _, not "
                              "starting with a digit)");
           } else {
             config.build_args.push_back(std::move(arg));
           }
         }
       }},
      {"platforms",
       [&](const YAML::Node& node, const std::string& key) {
         for (auto& platform : problems.StringList(node, key)) {
           if (IsValidPlatform(platform)) {
             config.platforms.push_back(std::move(platform));
           } else {
             problems.Add(node, key,
                          "invalid platform '" + platform + "' (expected os/arch[/variant])");
           }
         }
       }},
      {"additional_tags",
       [&](const YAML::Node& node, const std::string& key) {
         for (auto& tag : problems.StringList(node, key)) {
           if (IsValidTag(unit + "-" + tag)) {
             config.additional_tags.push_back(std::move(tag));
           } else {
             problems.Add(node, key,
                          "'" + unit + "-" + tag +
                              "' is not a valid image tag ([a-zA-Z0-9_][a-zA-Z0-9._-]{0,127})");
           }
         }
       }},
      {"depends_on",
       [&](const YAML::Node& node, const std::string& key) {
         config.depends_on = problems.StringList(node, key);
       }},
  };

  YAML::Node upstream_repo_node;
  for (const auto& entry : root) {
    const std::string key = entry.first.Scalar();
    const auto handler = handlers.find(key);
    if (handler == handlers.end()) {
      std::string allowed;
      for (const auto& [known, unused] : handlers) allowed += (allowed.empty() ? "" : ", ") + known;
      problems.Add(entry.first, key, "unknown key (expected one of: " + allowed + ")");
      continue;
    }
    if (key == "upstream_repo") upstream_repo_node = entry.first;
    handler->second(entry.second, key);
  }
  if (!config.upstream_repo.empty() && config.upstream_ref.empty()) {
    problems.Add(upstream_repo_node, "upstream_ref",
                 "missing: a unit with upstream_repo needs upstream_ref (a tag, branch or commit)");
  }
  if (config.upstream_repo.empty() && !config.upstream_ref.empty()) {
    problems.Add(root, "upstream_ref", "given without upstream_repo");
  }
  return config;
}

}  // namespace hephy

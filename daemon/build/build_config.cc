#include "build/build_config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>

#include "upstream/upstream_url.h"
#include "util/names.h"

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

// Why `path`, relative to `base` (a directory of the same tree), is not a
// path inside that tree once normalised ("a/../b" is fine; "../b" from the
// root and "/b" are not); nullopt when it is.
std::optional<std::string> PathProblem(const std::string& path, const std::string& base,
                                       const std::string& tree) {
  if (path.empty()) return "must not be empty";
  const std::filesystem::path p(path);
  if (p.is_absolute()) return "'" + path + "' is absolute; give a path relative to the unit";
  const auto normal = (std::filesystem::path(base) / p).lexically_normal();
  if (!normal.empty() && *normal.begin() == "..") {
    return "'" + path + "' leads outside " + tree + " (..)";
  }
  return std::nullopt;
}

// 128 (the tag limit) minus "-YYYYMMDD-SHA7-" and room for "wasip1-wasm".
constexpr size_t kMaxUnitName = 128 - 18 - 12;

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

namespace {

BuildConfig Parse(std::string_view text, const std::string& file, const std::string& unit,
                  std::vector<std::string>& out) {
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
  // Paths are checked once every key is read: what they are relative to
  // depends on upstream_repo.
  std::map<std::string, YAML::Node> path_nodes;
  const auto path_into = [&](std::string& field) -> Handler {
    return [&](const YAML::Node& node, const std::string& key) {
      if (auto value = problems.Scalar(node, key)) {
        field = *value;
        path_nodes[key] = node;
      }
    };
  };
  const std::map<std::string, Handler> handlers = {
      {"upstream_repo",
       [&](const YAML::Node& node, const std::string& key) {
         const auto value = problems.Scalar(node, key);
         if (!value) return;
         if (const auto problem = UpstreamUrlProblem(*value))
           return problems.Add(node, key, *problem);
         config.upstream_repo = *value;
       }},
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
      {"network",
       [&](const YAML::Node& node, const std::string& key) {
         const auto value = problems.Scalar(node, key);
         if (!value) return;
         config.network = ParseNetworkMode(*value);
         if (!config.network) problems.Add(node, key, "expected none, isolated or host");
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
  // An in-tree context may lie outside the unit's directory but not outside
  // the repository; an upstream context stays inside the upstream tree; the
  // Dockerfile stays inside its context.
  const bool upstream = !config.upstream_repo.empty();
  const std::string unit_dir =
      upstream ? "" : std::filesystem::path(file).parent_path().generic_string();
  const auto check_path = [&](std::string& field, const std::string& key, const std::string& base,
                              const std::string& tree, const std::string& fallback) {
    const auto node = path_nodes.find(key);
    if (node == path_nodes.end()) return;
    if (const auto problem = PathProblem(field, base, tree)) {
      problems.Add(node->second, key, *problem);
      field = fallback;
    }
  };
  check_path(config.context_path, "context_path", unit_dir,
             upstream ? "the upstream repository" : "the repository", ".");
  check_path(config.dockerfile_path, "dockerfile_path", "", "the context", "Dockerfile");

  if (!config.upstream_repo.empty() && config.upstream_ref.empty()) {
    problems.Add(upstream_repo_node, "upstream_ref",
                 "missing: a unit with upstream_repo needs upstream_ref (a tag, branch or commit)");
  }
  if (upstream_repo_node.IsNull() && !config.upstream_ref.empty()) {
    problems.Add(root, "upstream_ref", "given without upstream_repo");
  }
  return config;
}

// The line of a problem "FILE:LINE: ...", 0 for one about the whole file.
int LineOf(const std::string& problem, const std::string& file) {
  if (problem.size() <= file.size() || problem[file.size()] != ':') return 0;
  return std::atoi(problem.c_str() + file.size() + 1);
}

}  // namespace

BuildConfig ParseBuildConfig(std::string_view text, const std::string& file,
                             const std::string& unit, std::vector<std::string>& out) {
  const auto first = static_cast<std::ptrdiff_t>(out.size());
  BuildConfig config = Parse(text, file, unit, out);
  // In the order of the file, whatever order the checks ran in.
  std::stable_sort(out.begin() + first, out.end(),
                   [&](const auto& a, const auto& b) { return LineOf(a, file) < LineOf(b, file); });
  return config;
}

}  // namespace hephy

// Reads the values of the config file's YAML with errors that name the file,
// the line, the key and the reason ("hephy.yaml:4: ssh.max_sessions:
// expected a positive integer"). Every section reader (config_sections.h)
// takes its values through one ConfigReader.
#pragma once

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "util/listen_address.h"

namespace hephy {

using Node = const YAML::Node&;
using Key = const std::string&;

class ConfigReader {
 public:
  // `source` names the text in errors: the file, or "defaults".
  explicit ConfigReader(std::string source) : source_(std::move(source)) {}

  // Throws Error "SOURCE:LINE: KEY: REASON" (no line where the node has none).
  [[noreturn]] void Fail(Node node, Key key, const std::string& reason) const;

  std::string Scalar(Node node, Key key) const;
  bool Bool(Node node, Key key) const;
  int PositiveInt(Node node, Key key) const;
  // `zero_means` says what 0 means in the error: "no limit".
  int NonNegativeInt(Node node, Key key, const std::string& zero_means) const;
  // A duration (ParseDuration); with `zero_means`, also 0.
  std::chrono::seconds Duration(Node node, Key key, const std::string& zero_means = "") const;
  // NUMBER[UNIT] in bytes, UNIT one of `units` ("kmgt", either case), each
  // 1024 times the one before. Fails with `expected` when `text` is not
  // that, and when it is more than 64 bits hold.
  uint64_t Size(Node node, Key key, const std::string& text, const std::string& units,
                const std::string& expected) const;
  std::vector<std::string> StringList(Node node, Key key) const;
  std::map<std::string, std::string> StringMap(Node node, Key key) const;
  ListenAddress Listen(Node node, Key key) const;

  using Handler = std::function<void(Node value, Key key)>;
  // Walks a mapping, handing each key's value to its handler under the key's
  // full name ("prefix.name"); a key without a handler is an error that lists
  // the keys that are allowed. A null node (an empty section) is no keys.
  void Map(Node node, Key prefix, const std::map<std::string, Handler>& handlers) const;

 private:
  std::string source_;
};

// "~" and "~/..." against $HOME; other paths as they are.
std::filesystem::path ExpandHome(const std::string& path);

// What a pod spec takes as an image, or an executable as a path: not empty,
// no spaces or control characters.
bool IsPlainWord(const std::string& text);

}  // namespace hephy

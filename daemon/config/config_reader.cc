#include "config/config_reader.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <regex>

#include "hephy/error.h"
#include "util/duration.h"

namespace hephy {

void ConfigReader::Fail(Node node, Key key, const std::string& reason) const {
  // yaml-cpp's marks are 0-based.
  std::string where = source_;
  if (node.IsDefined() && node.Mark().line >= 0) {
    where += ":" + std::to_string(node.Mark().line + 1);
  }
  throw Error(where + ": " + key + ": " + reason);
}

std::string ConfigReader::Scalar(Node node, Key key) const {
  if (!node.IsScalar()) Fail(node, key, "expected a string");
  return node.Scalar();
}

bool ConfigReader::Bool(Node node, Key key) const {
  bool value = false;
  if (!node.IsScalar() || !YAML::convert<bool>::decode(node, value)) {
    Fail(node, key, "expected true or false");
  }
  return value;
}

int ConfigReader::PositiveInt(Node node, Key key) const {
  int value = 0;
  if (!node.IsScalar() || !YAML::convert<int>::decode(node, value) || value <= 0) {
    Fail(node, key, "expected a positive integer");
  }
  return value;
}

int ConfigReader::NonNegativeInt(Node node, Key key, const std::string& zero_means) const {
  int value = 0;
  if (!node.IsScalar() || !YAML::convert<int>::decode(node, value) || value < 0) {
    Fail(node, key, "expected 0 (" + zero_means + ") or a positive integer");
  }
  return value;
}

uint64_t ConfigReader::Size(Node node, Key key, const std::string& text, const std::string& units,
                            const std::string& expected) const {
  static const std::regex kSize("([0-9]{1,9})([a-zA-Z]?)");
  std::smatch match;
  if (!std::regex_match(text, match, kSize)) Fail(node, key, expected);
  int shift = 0;
  if (match[2].length() > 0) {
    const auto at =
        units.find(static_cast<char>(std::tolower(static_cast<unsigned char>(match[2].str()[0]))));
    if (at == std::string::npos) Fail(node, key, expected);
    shift = 10 * (1 + static_cast<int>(at));
  }
  const uint64_t number = std::stoull(match[1].str());
  if (number > (UINT64_MAX >> shift)) Fail(node, key, "'" + text + "' is too large");
  return number << shift;
}

std::chrono::seconds ConfigReader::Duration(Node node, Key key,
                                            const std::string& zero_means) const {
  const std::string text = Scalar(node, key);
  if (!zero_means.empty() && text == "0") return std::chrono::seconds(0);
  try {
    return ParseDuration(text);
  } catch (const Error& e) {
    Fail(node, key,
         e.what() + (zero_means.empty() ? std::string() : ", or 0 (" + zero_means + ")"));
  }
}

std::vector<std::string> ConfigReader::StringList(Node node, Key key) const {
  if (!node.IsSequence()) Fail(node, key, "expected a list of strings");
  std::vector<std::string> out;
  for (const auto& item : node) out.push_back(Scalar(item, key));
  return out;
}

std::map<std::string, std::string> ConfigReader::StringMap(Node node, Key key) const {
  if (!node.IsMap()) Fail(node, key, "expected a mapping of strings");
  std::map<std::string, std::string> out;
  for (const auto& entry : node) {
    const std::string name = entry.first.as<std::string>();
    out[name] = Scalar(entry.second, key + "." + name);
  }
  return out;
}

ListenAddress ConfigReader::Listen(Node node, Key key) const {
  try {
    return ParseListenAddress(Scalar(node, key));
  } catch (const Error& e) {
    Fail(node, key, e.what());
  }
}

void ConfigReader::Map(Node node, Key prefix,
                       const std::map<std::string, Handler>& handlers) const {
  if (node.IsNull()) return;
  if (!node.IsMap()) Fail(node, prefix.empty() ? "config" : prefix, "expected a mapping");
  for (const auto& entry : node) {
    const std::string name = entry.first.as<std::string>();
    const std::string key = prefix.empty() ? name : prefix + "." + name;
    auto handler = handlers.find(name);
    if (handler == handlers.end()) {
      std::string allowed;
      for (const auto& [known, unused] : handlers) {
        allowed += (allowed.empty() ? "" : ", ") + known;
      }
      Fail(entry.first, key, "unknown key (expected one of: " + allowed + ")");
    }
    handler->second(entry.second, key);
  }
}

std::filesystem::path ExpandHome(const std::string& path) {
  if (path == "~" || path.starts_with("~/")) {
    const char* home = std::getenv("HOME");
    if (home != nullptr) return std::filesystem::path(home) / path.substr(path.size() > 1 ? 2 : 1);
  }
  return path;
}

bool IsPlainWord(const std::string& text) {
  return !text.empty() && std::none_of(text.begin(), text.end(), [](char c) {
    return std::isspace(static_cast<unsigned char>(c)) ||
           std::iscntrl(static_cast<unsigned char>(c));
  });
}

}  // namespace hephy

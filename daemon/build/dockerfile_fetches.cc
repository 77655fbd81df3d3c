#include "build/dockerfile_fetches.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>

#include "build/dockerfile_instructions.h"
#include "util/ascii.h"

namespace hephy {
namespace {

using Values = std::map<std::string, std::string>;

// The host of "host", "host:port", "[v6]:port".
std::string HostOf(std::string_view authority) {
  if (authority.starts_with("[")) {
    const auto close = authority.find(']');
    return std::string(authority.substr(1, close == std::string_view::npos ? close : close - 1));
  }
  // More than one ':' is an IPv6 address without brackets.
  if (std::count(authority.begin(), authority.end(), ':') > 1) return std::string(authority);
  return std::string(authority.substr(0, authority.find(':')));
}

// The registry an image reference names, as Docker tells it from a
// repository path: the first component when it has a '.' or ':' or is
// "localhost"; empty for Docker Hub, a stage, "scratch".
std::string RegistryOf(std::string_view image) {
  const auto slash = image.find('/');
  if (slash == std::string_view::npos) return "";
  const std::string_view first = image.substr(0, slash);
  if (first.find_first_of(".:") == std::string_view::npos && first != "localhost") return "";
  return std::string(first);
}

void AddImage(std::vector<DockerfileFetch>& fetches, size_t line, const std::string& keyword,
              const std::string& image) {
  const std::string registry = RegistryOf(image);
  if (registry.empty()) return;
  fetches.push_back({line, keyword + " " + image, registry, HostOf(registry)});
}

void AddUrl(std::vector<DockerfileFetch>& fetches, size_t line, const std::string& url) {
  const std::string lower = AsciiLower(url);
  const size_t scheme = lower.starts_with("http://") ? 7 : lower.starts_with("https://") ? 8 : 0;
  if (scheme == 0) return;
  std::string_view rest = std::string_view(url).substr(scheme);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  // "user:password@host": the host is after the last '@'.
  if (const auto at = rest.rfind('@'); at != std::string_view::npos) rest.remove_prefix(at + 1);
  fetches.push_back({line, "ADD " + url, std::string(rest), HostOf(rest)});
}

// The arguments of an instruction after its keyword: the exec form's JSON
// array's strings, or its blank-separated words.
std::vector<std::string> Arguments(const DockerfileInstruction& instruction) {
  const std::string_view text = instruction.text;
  const auto words = DockerfileWords(text);
  std::vector<std::string> arguments;
  for (size_t i = 1; i < words.size(); ++i) {
    arguments.emplace_back(text.substr(words[i].first, words[i].second - words[i].first));
  }
  // Flags come before the JSON array, which may hold blanks.
  size_t flags = 0;
  while (flags < arguments.size() && arguments[flags].starts_with("--")) ++flags;
  if (flags < arguments.size() && arguments[flags].starts_with("[")) {
    const size_t json_begin = words[flags + 1].first;
    const auto array = nlohmann::json::parse(text.substr(json_begin), nullptr, false);
    if (array.is_array() &&
        std::all_of(array.begin(), array.end(), [](const auto& v) { return v.is_string(); })) {
      arguments.resize(flags);
      for (const auto& value : array) arguments.push_back(value.template get<std::string>());
    }
  }
  return arguments;
}

// "NAME=VALUE" words (ARG, ENV) or the old "ENV NAME VALUE".
void Assign(const std::vector<std::string>& arguments, bool is_env, Values& values,
            const Values& build_args) {
  if (is_env && arguments.size() >= 2 && arguments[0].find('=') == std::string::npos) {
    std::string value;
    for (size_t i = 1; i < arguments.size(); ++i) value += (i > 1 ? " " : "") + arguments[i];
    values[arguments[0]] = ExpandVariables(value, values);
    return;
  }
  for (const auto& argument : arguments) {
    const auto equals = argument.find('=');
    const std::string name = argument.substr(0, equals);
    if (!is_env && build_args.contains(name)) {
      values[name] = build_args.at(name);
      continue;
    }
    if (equals == std::string::npos) continue;
    std::string value = ExpandVariables(argument.substr(equals + 1), values);
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
        value.back() == value.front()) {
      value = value.substr(1, value.size() - 2);
    }
    values[name] = value;
  }
}

}  // namespace

std::vector<DockerfileFetch> DockerfileFetches(std::string_view dockerfile,
                                               const std::vector<std::string>& build_args) {
  Values given;
  for (const auto& arg : build_args) {
    const auto equals = arg.find('=');
    if (equals != std::string::npos) given[arg.substr(0, equals)] = arg.substr(equals + 1);
  }
  Values values = given;
  std::vector<DockerfileFetch> fetches;
  for (const auto& instruction : DockerfileInstructions(dockerfile)) {
    const auto words = DockerfileWords(instruction.text);
    if (words.empty()) continue;
    const std::string keyword =
        AsciiLower(std::string_view(instruction.text)
                       .substr(words[0].first, words[0].second - words[0].first));
    const std::vector<std::string> arguments = Arguments(instruction);
    if (keyword == "arg" || keyword == "env") {
      Assign(arguments, keyword == "env", values, given);
      continue;
    }
    size_t first = 0;
    for (; first < arguments.size() && arguments[first].starts_with("--"); ++first) {
      const std::string flag = ExpandVariables(arguments[first], values);
      const std::string label = keyword == "run"    ? "RUN --mount from"
                                : keyword == "copy" ? "COPY --from"
                                                    : "ADD --from";
      for (const auto& source : FlagSources(keyword, flag)) {
        AddImage(fetches, instruction.line, label, source);
      }
    }
    if (keyword == "from" && first < arguments.size()) {
      AddImage(fetches, instruction.line, "FROM", ExpandVariables(arguments[first], values));
    }
    // Every source of ADD; the last argument is the destination.
    if (keyword == "add") {
      for (size_t i = first; i + 1 < arguments.size(); ++i) {
        AddUrl(fetches, instruction.line, ExpandVariables(arguments[i], values));
      }
    }
  }
  return fetches;
}

}  // namespace hephy

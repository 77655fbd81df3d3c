#include "build/dockerfile_instructions.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <optional>

#include "util/ascii.h"

namespace hephy {
namespace {

bool IsNameChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

bool IsBlank(char c) { return c == ' ' || c == '\t'; }

std::string_view TrimLeft(std::string_view s) {
  while (!s.empty() && (IsBlank(s.front()) || s.front() == '\r')) s.remove_prefix(1);
  return s;
}

std::string_view TrimRight(std::string_view s) {
  while (!s.empty() && (IsBlank(s.back()) || s.back() == '\r')) s.remove_suffix(1);
  return s;
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
  const std::string key = AsciiLower(line.substr(0, key_end));
  if (key != "syntax" && key != "escape" && key != "check") return std::nullopt;
  const auto rest = TrimLeft(line.substr(key_end));
  if (rest.empty() || rest.front() != '=') return std::nullopt;
  const auto value = TrimRight(TrimLeft(rest.substr(1)));
  if (value.empty()) return std::nullopt;
  return std::make_pair(key, std::string(value));
}

// Appends `line` to `instruction`; whether it ends in the escape character.
bool Append(DockerfileInstruction& instruction, const Line& line, char escape) {
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

// The heredocs ("<<EOF", "<<-'EOF'", "2<<EOF") an instruction opens: each
// terminator, and whether leading tabs are stripped before comparing to it.
std::vector<std::pair<std::string, bool>> Heredocs(const std::string& text) {
  std::vector<std::pair<std::string, bool>> heredocs;
  const auto words = DockerfileWords(text);
  if (words.empty()) return heredocs;
  const std::string keyword =
      AsciiLower(std::string_view(text).substr(words[0].first, words[0].second - words[0].first));
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

}  // namespace

std::vector<std::pair<size_t, size_t>> DockerfileWords(std::string_view text) {
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

std::vector<DockerfileInstruction> DockerfileInstructions(std::string_view dockerfile) {
  const std::vector<Line> lines = SplitLines(dockerfile);
  std::vector<DockerfileInstruction> instructions;
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
    DockerfileInstruction instruction{.line = i + 1};
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

std::string ExpandVariables(std::string_view text,
                            const std::map<std::string, std::string>& values) {
  const auto value_of = [&](const std::string& name) -> std::optional<std::string> {
    const auto found = values.find(name);
    if (found == values.end()) return std::nullopt;
    return found->second;
  };
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < text.size() && text[i + 1] == '$') {
      out += '$';
      ++i;
      continue;
    }
    if (text[i] != '$' || i + 1 == text.size()) {
      out += text[i];
      continue;
    }
    if (text[i + 1] == '{') {
      const auto close = text.find('}', i + 2);
      if (close == std::string_view::npos) {
        out += text.substr(i);
        break;
      }
      const std::string_view inner = text.substr(i + 2, close - i - 2);
      const auto colon = inner.find(':');
      const auto value = value_of(std::string(inner.substr(0, colon)));
      if (colon == std::string_view::npos) {
        out += value.value_or("");
      } else if (inner.substr(colon).starts_with(":-")) {
        out += value && !value->empty() ? *value : ExpandVariables(inner.substr(colon + 2), values);
      } else if (inner.substr(colon).starts_with(":+")) {
        out += value && !value->empty() ? ExpandVariables(inner.substr(colon + 2), values) : "";
      }
      i = close;
      continue;
    }
    size_t end = i + 1;
    while (end < text.size() && IsNameChar(text[end])) ++end;
    if (end == i + 1) {
      out += '$';
      continue;
    }
    out += value_of(std::string(text.substr(i + 1, end - i - 1))).value_or("");
    i = end - 1;
  }
  return out;
}

std::vector<std::string> FlagSources(std::string_view keyword, std::string_view flag) {
  std::vector<std::string> sources;
  if ((keyword == "copy" || keyword == "add") && flag.starts_with("--from=")) {
    sources.emplace_back(flag.substr(7));
  }
  if (keyword == "run" && flag.starts_with("--mount=")) {
    for (size_t at = 8; at < flag.size();) {
      const auto comma = flag.find(',', at);
      const std::string_view option =
          flag.substr(at, comma == std::string_view::npos ? comma : comma - at);
      if (option.starts_with("from=")) sources.emplace_back(option.substr(5));
      at = comma == std::string_view::npos ? flag.size() : comma + 1;
    }
  }
  return sources;
}

}  // namespace hephy

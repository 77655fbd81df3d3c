#include "build/push_output.h"

#include <array>

namespace hephy {
namespace {

// Neither green nor red: those say how a build ended.
constexpr std::array<const char*, 8> kPlatformColors = {"36", "35", "33", "34",
                                                        "96", "95", "93", "94"};

constexpr size_t kMaxStep = 100;

// Kaniko logs each instruction it runs as "INFO[0003] RUN make".
constexpr std::array<std::string_view, 16> kInstructions = {
    "FROM",  "RUN",    "COPY", "ADD",   "WORKDIR", "ENV",        "ARG",         "USER",
    "LABEL", "EXPOSE", "CMD",  "SHELL", "VOLUME",  "ENTRYPOINT", "HEALTHCHECK", "STOPSIGNAL"};

std::string Cut(std::string_view text) {
  if (text.size() <= kMaxStep) return std::string(text);
  return std::string(text.substr(0, kMaxStep - 3)) + "...";
}

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

}  // namespace

bool UsesColor(ColorMode configured, std::optional<ColorMode> asked, bool reaches_terminal) {
  switch (asked.value_or(configured)) {
    case ColorMode::kAlways:
      return true;
    case ColorMode::kNever:
      return false;
    case ColorMode::kAuto:
      break;
  }
  return reaches_terminal;
}

std::string Palette::Paint(const char* code, const std::string& text) const {
  if (!color_) return text;
  return "\x1b[" + std::string(code) + "m" + text + "\x1b[0m";
}

std::string Palette::Platform(const std::string& platform, size_t index) const {
  return Paint(kPlatformColors[index % kPlatformColors.size()], "[" + platform + "]");
}

std::string Palette::Good(const std::string& text) const { return Paint("32", text); }
std::string Palette::Bad(const std::string& text) const { return Paint("31", text); }
std::string Palette::Bold(const std::string& text) const { return Paint("1", text); }

std::optional<std::string> StepOf(std::string_view line) {
  std::string_view rest = line;
  if (rest.starts_with('[')) {
    const auto close = rest.find("] ");
    if (close == std::string_view::npos) return std::nullopt;
    rest.remove_prefix(close + 2);
  }
  if (rest.starts_with("STEP ") && rest.find(": ") != std::string_view::npos) return Cut(line);
  if (line.starts_with("INFO[")) {
    const auto close = line.find("] ");
    if (close == std::string_view::npos) return std::nullopt;
    rest = line.substr(close + 2);
    while (rest.starts_with(' ')) rest.remove_prefix(1);
    const std::string_view word = rest.substr(0, rest.find(' '));
    for (const auto instruction : kInstructions) {
      if (word == instruction && rest.size() > word.size()) return Cut(rest);
    }
  }
  return std::nullopt;
}

std::string FailureLine(const Palette& palette, const std::string& unit_prefix,
                        const std::string& platform, size_t platform_index,
                        const std::string& elapsed, const std::optional<std::string>& step,
                        const std::string& error) {
  return "hephy: " + unit_prefix + palette.Platform(platform, platform_index) + " " +
         palette.Bad("failed") + " after " + elapsed + (step ? ", in " + *step : "") + " (" +
         error + ")";
}

std::string BuildPageUrl(const std::string& public_url, const std::string& app, int64_t build_id) {
  return public_url + "/apps/" + app + "/builds/" + std::to_string(build_id);
}

std::vector<std::string> SummaryLines(const Palette& palette, const std::vector<BuiltImage>& images,
                                      const std::string& public_url) {
  std::vector<std::string> lines;
  for (const auto& image : images) {
    lines.push_back("hephy: " + palette.Bold(image.unit) + " " + palette.Good("built") +
                    " (build " + std::to_string(image.build_id) + ")");
    lines.push_back("hephy:   image  " + image.repository + "@" + image.digest);
    if (!image.tags.empty()) {
      const std::string reference = image.repository + ":" + image.tags.front();
      lines.push_back("hephy:   tags   " + Join(image.tags));
      lines.push_back("hephy:   pull   podman pull " +
                      std::string(image.insecure ? "--tls-verify=false " : "") + reference);
      lines.push_back("hephy:          docker pull " + reference);
    }
    if (!public_url.empty()) {
      lines.push_back("hephy:   page   " + BuildPageUrl(public_url, image.app, image.build_id));
    }
  }
  return lines;
}

}  // namespace hephy

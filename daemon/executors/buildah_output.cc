#include "executors/buildah_output.h"

#include <algorithm>
#include <array>

#include "util/split.h"

namespace hephy {
namespace {

// buildah adds these for every --platform build, declared or not.
constexpr std::array<std::string_view, 4> kBuiltinArgs = {"TARGETARCH", "TARGETOS",
                                                          "TARGETPLATFORM", "TARGETVARIANT"};
constexpr std::string_view kUnconsumed = "[Warning] one or more build args were not consumed: [";
constexpr std::string_view kUsingCache = "--> Using cache ";

// containers/storage's words for a record that points at nothing.
constexpr std::array<std::string_view, 3> kDamage = {"layer not known", "image not known",
                                                     "locating layer with ID"};

// "STEP 2/5: RUN ..." or, in a multi-stage build, "[1/2] STEP 2/5: RUN ...":
// the instruction, or empty for any other line.
std::string_view StepInstruction(std::string_view line) {
  if (line.starts_with('[')) {
    const auto close = line.find("] ");
    if (close == std::string_view::npos) return {};
    line.remove_prefix(close + 2);
  }
  if (!line.starts_with("STEP ")) return {};
  const auto colon = line.find(": ");
  if (colon == std::string_view::npos) return {};
  line.remove_prefix(colon + 2);
  return line.substr(0, line.find(' '));
}

}  // namespace

BuildahOutput::BuildahOutput(const std::vector<std::string>& build_args) {
  for (const auto& arg : build_args) passed_.insert(arg.substr(0, arg.find('=')));
}

std::optional<std::string> BuildahOutput::Read(std::string_view line) {
  const std::string_view instruction = StepInstruction(line);
  if (!instruction.empty() && instruction != "FROM") ++steps_;
  if (line.starts_with(kUsingCache)) {
    std::string_view id = line.substr(kUsingCache.size());
    if (id.starts_with("sha256:")) id.remove_prefix(7);
    cached_images_.emplace(id);
  }
  for (const auto damage : kDamage) {
    if (line.find(damage) != std::string_view::npos) storage_damaged_ = true;
  }
  if (!line.starts_with(kUnconsumed) || !line.ends_with(']')) return std::string(line);

  const std::string_view list =
      line.substr(kUnconsumed.size(), line.size() - kUnconsumed.size() - 1);
  std::string kept;
  for (const auto name : SplitOn(list, ' ')) {
    if (name.empty()) continue;
    const bool builtin =
        std::find(kBuiltinArgs.begin(), kBuiltinArgs.end(), name) != kBuiltinArgs.end();
    if (builtin && !passed_.contains(name)) continue;
    kept += (kept.empty() ? "" : " ") + std::string(name);
  }
  if (kept.empty()) return std::nullopt;
  return std::string(kUnconsumed) + kept + "]";
}

}  // namespace hephy

// Daemon diagnostics: one spdlog logger per component ("ssh", "hook", ...),
// all writing to hephyd's log. Build logs are data and go elsewhere.
#pragma once

#include <spdlog/spdlog.h>

#include <memory>
#include <string>

namespace hephy {

// The logger named `component`, made from the default logger on first use.
// Thread-safe.
std::shared_ptr<spdlog::logger> ComponentLogger(const std::string& component);

}  // namespace hephy

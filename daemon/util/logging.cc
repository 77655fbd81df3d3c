#include "util/logging.h"

#include <mutex>

namespace hephy {

std::shared_ptr<spdlog::logger> ComponentLogger(const std::string& component) {
  static std::mutex mutex;
  const std::lock_guard lock(mutex);
  if (auto logger = spdlog::get(component)) return logger;
  auto logger = spdlog::default_logger()->clone(component);
  spdlog::register_logger(logger);
  return logger;
}

}  // namespace hephy

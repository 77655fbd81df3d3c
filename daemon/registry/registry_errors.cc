#include "registry/registry_errors.h"

#include <nlohmann/json.hpp>

namespace hephy {
namespace {

std::string StringField(const nlohmann::json& object, const char* key) {
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : "";
}

}  // namespace

std::string RegistryErrors(const std::string& body) {
  const auto json = nlohmann::json::parse(body, nullptr, false);
  if (!json.is_object()) return "";
  const auto errors = json.find("errors");
  if (errors == json.end() || !errors->is_array()) return "";
  std::string out;
  for (const auto& error : *errors) {
    if (!error.is_object()) continue;
    std::string one = StringField(error, "code");
    const std::string message = StringField(error, "message");
    if (!message.empty()) one += (one.empty() ? "" : ": ") + message;
    const std::string detail = StringField(error, "detail");
    if (!detail.empty()) one += ": " + detail;
    if (!one.empty()) out += (out.empty() ? "" : "; ") + one;
  }
  return out;
}

}  // namespace hephy

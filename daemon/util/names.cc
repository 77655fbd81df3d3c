#include "util/names.h"

#include <algorithm>
#include <regex>
#include <string>

#include "hephy/error.h"

namespace hephy {
namespace {

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// Shows a hostile name safely: control characters as '?', long names cut.
std::string Printable(std::string_view name) {
  std::string out;
  for (char c : name.substr(0, 80)) {
    out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
  }
  if (name.size() > 80) out += "...";
  return out;
}

}  // namespace

bool IsValidAppName(std::string_view name) {
  if (name.empty() || name.size() > 63 || !IsLowerAlnum(name.front())) return false;
  for (char c : name) {
    if (!IsLowerAlnum(c) && c != '-') return false;
  }
  return true;
}

void ValidateAppName(std::string_view name) {
  if (!IsValidAppName(name)) {
    throw Error("invalid app name '" + Printable(name) +
                "': use 1 to 63 lowercase letters, digits and '-', starting with a letter or "
                "digit");
  }
}

bool IsValidPlatform(std::string_view platform) {
  static const std::regex kPlatform("^[a-z0-9]+/[a-z0-9_]+(/[a-z0-9]+)?$");
  return std::regex_match(platform.begin(), platform.end(), kPlatform);
}

std::string DashedPlatform(std::string_view platform) {
  std::string dashed(platform);
  std::replace(dashed.begin(), dashed.end(), '/', '-');
  return dashed;
}

std::string PlatformOfDashed(std::string_view dashed) {
  std::string platform(dashed);
  std::replace(platform.begin(), platform.end(), '-', '/');
  return platform;
}

void ValidateUserName(std::string_view name) {
  bool ok = !name.empty() && name.size() <= 39 && IsLowerAlnum(name.front());
  for (char c : name) {
    ok = ok && (IsLowerAlnum(c) || c == '-' || c == '_' || c == '.');
  }
  if (!ok) {
    throw Error("invalid user name '" + Printable(name) +
                "': use 1 to 39 lowercase letters, digits, '.', '_' and '-', starting with a "
                "letter or digit");
  }
}

}  // namespace hephy

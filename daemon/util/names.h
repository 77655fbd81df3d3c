// Names that reach the file system or the registry are checked here, once.
#pragma once

#include <string>
#include <string_view>

namespace hephy {

// App names: ^[a-z0-9][a-z0-9-]{0,62}$ (also a valid registry path component
// and tag prefix). Throws Error "invalid app name '<name>': <rule>".
void ValidateAppName(std::string_view name);
bool IsValidAppName(std::string_view name);

// Platforms: ^[a-z0-9]+/[a-z0-9_]+(/[a-z0-9]+)?$, os/arch[/variant] as in
// "linux/arm64/v8". They name build log files, so no '.' and no other '/'.
bool IsValidPlatform(std::string_view platform);
// A platform as one file name ("linux-arm64-v8": build logs, job and cache
// directories), and back; valid platforms hold no '-'.
std::string DashedPlatform(std::string_view platform);
std::string PlatformOfDashed(std::string_view dashed);

// User names: ^[a-z0-9][a-z0-9._-]{0,38}$. Throws Error like ValidateAppName.
void ValidateUserName(std::string_view name);

}  // namespace hephy

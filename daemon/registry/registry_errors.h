// What a registry says went wrong: the OCI distribution spec's error body,
// {"errors": [{"code", "message", "detail"}]}, from a registry hephyd does
// not control.
#pragma once

#include <string>

namespace hephy {

// "CODE: message[: detail]; ..." from an OCI error body, or "" when the body
// is not one. Fields of another type than string are left out.
std::string RegistryErrors(const std::string& body);

}  // namespace hephy

// OpenSSH known_hosts files, for checking the ssh host key of an upstream
// hephyd fetches from (daemon/upstream/upstream_cache.h).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace hephy {

// "SHA256:<base64 without padding>" of a public key blob (SSH wire format),
// as `ssh-keygen -l` prints it.
std::string HostKeyFingerprint(std::string_view key_blob);

// Nullopt when `known_hosts` lists `key_blob` (SSH wire format) for `host`
// on `port`; otherwise why not, naming the host, the file and the offered
// key's type and fingerprint, for an error message. The host is looked up
// as OpenSSH does: "HOST", or "[HOST]:PORT" when the port is not 22 (0 means
// 22). Plain, wildcard ('*', '?'), negated ('!') and hashed ("|1|", as
// `ssh-keygen -H` writes) host patterns are read; a key marked @revoked is
// refused; @cert-authority lines and lines that do not parse are ignored.
// A missing file lists no host.
std::optional<std::string> KnownHostProblem(const std::filesystem::path& known_hosts,
                                            const std::string& host, uint16_t port,
                                            std::string_view key_blob);

}  // namespace hephy

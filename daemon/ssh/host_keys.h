// The SSH server's host keys, generated once into the data directory.
#pragma once

#include <filesystem>
#include <vector>

namespace hephy {

// Returns the paths of data_dir/ssh_host_{ed25519,rsa}_key, generating each
// that is missing (ed25519; RSA 3072) with mode 0600. Throws Error.
std::vector<std::filesystem::path> EnsureHostKeys(const std::filesystem::path& dir);

}  // namespace hephy

// The SSH server's host keys, generated once into the data directory.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace hephy {

// Returns the paths of data_dir/ssh_host_{ed25519,rsa}_key, generating each
// that is missing (ed25519; RSA 3072) with mode 0600. Throws Error.
std::vector<std::filesystem::path> EnsureHostKeys(const std::filesystem::path& dir);

// "ssh-ed25519 SHA256:..." (the type and the fingerprint ssh-keygen -l and
// OpenSSH's host-key question show) of each private key file. Throws Error
// naming a file that cannot be read.
std::vector<std::string> HostKeyFingerprints(const std::vector<std::filesystem::path>& keys);

// What a newcomer runs once so that their first push does not stop at
// OpenSSH's host-key question: "ssh-keyscan -p PORT HOST >> ~/.ssh/known_hosts"
// for the SSH listener at `host` (this machine's name for a wildcard
// address) and `port`.
std::string KeyscanLine(const std::string& host, uint16_t port);

}  // namespace hephy

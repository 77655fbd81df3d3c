// The algorithms hephyd's SSH server offers (ssh.kex, ssh.ciphers,
// ssh.macs), in the syntax of OpenSSH's sshd_config: a comma-separated list
// replaces the default; "+LIST" appends to it, "-LIST" removes from it
// (OpenSSH's wildcards * and ? included), "^LIST" puts LIST first.
#pragma once

#include <string>
#include <vector>

namespace hephy {

enum class SshAlgorithmKind { kKex, kCipher, kMac };

// What hephyd offers unless told otherwise: what ssh-audit passes without a
// failure or a warning, and every OpenSSH since 7.4 speaks.
const std::vector<std::string>& DefaultSshAlgorithms(SshAlgorithmKind kind);

// What libssh can offer at all, weak ones included.
const std::vector<std::string>& SupportedSshAlgorithms(SshAlgorithmKind kind);

// The list `text` makes of the default. Throws Error naming an algorithm
// libssh does not have, or saying that nothing is left.
std::vector<std::string> ParseSshAlgorithms(SshAlgorithmKind kind, const std::string& text);

}  // namespace hephy

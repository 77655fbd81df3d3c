// The algorithms hephyd's SSH server offers (ssh.kex, ssh.ciphers,
// ssh.macs), in the syntax of OpenSSH's sshd_config: a comma-separated list
// replaces the default; "+LIST" appends to it, "-LIST" removes from it
// (OpenSSH's wildcards * and ? included), "^LIST" puts LIST first.
#pragma once

#include <string>
#include <string_view>
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

// True when `macs` (ssh.macs as parsed; empty for the default) has only
// encrypt-then-MAC MACs, which libssh2 before 1.11 does not speak.
bool OffersOnlyEncryptThenMac(const std::vector<std::string>& macs);

// True for the version banner of a libssh2 before 1.11, such as
// "SSH-2.0-libssh2_1.10.0" (libgit2's ssh transport on Debian 12).
bool IsLibSsh2BeforeEncryptThenMac(std::string_view client_banner);

}  // namespace hephy

// OpenSSH public keys as users hand them in (one authorized_keys-style line).
#pragma once

#include <string>
#include <string_view>
#include <vector>

struct ssh_key_struct;  // libssh's ssh_key

namespace hephy {

struct PublicKey {
  std::string type;         // "ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa", ...
  std::string base64;       // the key blob as written in the line
  std::string comment;      // may be empty
  std::string fingerprint;  // "SHA256:<base64 without padding>", as ssh-keygen -l prints
  int bits = 0;
};

// Accepted: ssh-ed25519, ecdsa-sha2-nistp{256,384,521}, ssh-rsa of at least
// 2048 bits. Throws Error "<source>: <reason>" for anything else.
PublicKey ParsePublicKeyLine(std::string_view line, const std::string& source);

// Every key of an authorized_keys-style text (blank lines and '#' comments
// skipped). Errors name "<source>:<line>". Throws Error when there is no key.
std::vector<PublicKey> ParsePublicKeys(std::string_view text, const std::string& source);

// "SHA256:..." of a key libssh parsed (e.g. the one a client authenticates with).
std::string KeyFingerprint(ssh_key_struct* key);

}  // namespace hephy

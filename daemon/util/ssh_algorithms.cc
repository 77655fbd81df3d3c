#include "util/ssh_algorithms.h"

#include <fnmatch.h>

#include <algorithm>
#include <cstdio>

#include "hephy/error.h"
#include "util/split.h"

namespace hephy {
namespace {

// The list of `kind`'s.
const std::vector<std::string>& Of(SshAlgorithmKind kind, const std::vector<std::string>& kex,
                                   const std::vector<std::string>& ciphers,
                                   const std::vector<std::string>& macs) {
  switch (kind) {
    case SshAlgorithmKind::kKex:
      return kex;
    case SshAlgorithmKind::kCipher:
      return ciphers;
    case SshAlgorithmKind::kMac:
      return macs;
  }
  return kex;
}

bool Contains(const std::vector<std::string>& list, const std::string& name) {
  return std::find(list.begin(), list.end(), name) != list.end();
}

}  // namespace

const std::vector<std::string>& DefaultSshAlgorithms(SshAlgorithmKind kind) {
  static const std::vector<std::string> kKex = {"curve25519-sha256",
                                                "curve25519-sha256@libssh.org"};
  static const std::vector<std::string> kCiphers = {"chacha20-poly1305@openssh.com",
                                                    "aes256-gcm@openssh.com",
                                                    "aes128-gcm@openssh.com",
                                                    "aes256-ctr",
                                                    "aes192-ctr",
                                                    "aes128-ctr"};
  static const std::vector<std::string> kMacs = {"hmac-sha2-256-etm@openssh.com",
                                                 "hmac-sha2-512-etm@openssh.com"};
  return Of(kind, kKex, kCiphers, kMacs);
}

const std::vector<std::string>& SupportedSshAlgorithms(SshAlgorithmKind kind) {
  // libssh 0.10's, as its kex.c lists them.
  static const std::vector<std::string> kKex = {"curve25519-sha256",
                                                "curve25519-sha256@libssh.org",
                                                "ecdh-sha2-nistp256",
                                                "ecdh-sha2-nistp384",
                                                "ecdh-sha2-nistp521",
                                                "diffie-hellman-group18-sha512",
                                                "diffie-hellman-group16-sha512",
                                                "diffie-hellman-group-exchange-sha256",
                                                "diffie-hellman-group14-sha256",
                                                "diffie-hellman-group14-sha1",
                                                "diffie-hellman-group-exchange-sha1",
                                                "diffie-hellman-group1-sha1"};
  static const std::vector<std::string> kCiphers = {"chacha20-poly1305@openssh.com",
                                                    "aes256-gcm@openssh.com",
                                                    "aes128-gcm@openssh.com",
                                                    "aes256-ctr",
                                                    "aes192-ctr",
                                                    "aes128-ctr",
                                                    "aes256-cbc",
                                                    "aes192-cbc",
                                                    "aes128-cbc",
                                                    "3des-cbc"};
  static const std::vector<std::string> kMacs = {"hmac-sha2-256-etm@openssh.com",
                                                 "hmac-sha2-512-etm@openssh.com",
                                                 "hmac-sha1-etm@openssh.com",
                                                 "hmac-sha2-256",
                                                 "hmac-sha2-512",
                                                 "hmac-sha1"};
  return Of(kind, kKex, kCiphers, kMacs);
}

std::vector<std::string> ParseSshAlgorithms(SshAlgorithmKind kind, const std::string& text) {
  const auto& supported = SupportedSshAlgorithms(kind);
  const auto& defaults = DefaultSshAlgorithms(kind);
  const char mode = text.empty() ? '\0' : text.front();
  const bool modified = mode == '+' || mode == '-' || mode == '^';
  std::vector<std::string> names;
  for (const auto name : SplitOn(modified ? std::string_view(text).substr(1) : text, ',')) {
    names.emplace_back(name);
  }
  for (const auto& name : names) {
    if (name.empty()) throw Error("'" + text + "': an empty algorithm name");
    const bool pattern = mode == '-' && name.find_first_of("*?") != std::string::npos;
    if (!pattern && !Contains(supported, name)) {
      std::string known;
      for (const auto& each : supported) known += (known.empty() ? "" : ", ") + each;
      throw Error("unknown algorithm '" + name + "' (hephyd's SSH server knows " + known + ")");
    }
  }
  std::vector<std::string> out;
  if (mode == '+') {
    out = defaults;
    for (const auto& name : names) {
      if (!Contains(out, name)) out.push_back(name);
    }
  } else if (mode == '-') {
    for (const auto& name : defaults) {
      const bool removed = std::any_of(names.begin(), names.end(), [&](const std::string& p) {
        return fnmatch(p.c_str(), name.c_str(), 0) == 0;
      });
      if (!removed) out.push_back(name);
    }
  } else if (mode == '^') {
    out = names;
    for (const auto& name : defaults) {
      if (!Contains(out, name)) out.push_back(name);
    }
  } else {
    for (const auto& name : names) {
      if (!Contains(out, name)) out.push_back(name);
    }
  }
  if (out.empty()) throw Error("'" + text + "' leaves no algorithm");
  return out;
}

bool OffersOnlyEncryptThenMac(const std::vector<std::string>& macs) {
  const auto& offered = macs.empty() ? DefaultSshAlgorithms(SshAlgorithmKind::kMac) : macs;
  return std::all_of(offered.begin(), offered.end(), [](const std::string& name) {
    return name.find("-etm@") != std::string::npos;
  });
}

bool IsLibSsh2BeforeEncryptThenMac(std::string_view client_banner) {
  constexpr std::string_view kPrefix = "SSH-2.0-libssh2_";
  if (!client_banner.starts_with(kPrefix)) return false;
  int major = 0, minor = 0;
  if (std::sscanf(std::string(client_banner.substr(kPrefix.size())).c_str(), "%d.%d", &major,
                  &minor) != 2) {
    return false;
  }
  return major < 1 || (major == 1 && minor < 11);
}

}  // namespace hephy

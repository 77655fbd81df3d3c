#include "ssh/host_keys.h"

#include <libssh/libssh.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hephy/error.h"
#include "hephy/ssh_key.h"

namespace hephy {
namespace {

void Generate(const std::filesystem::path& path, ssh_keytypes_e type, int bits) {
  ssh_key key = nullptr;
  if (ssh_pki_generate(type, bits, &key) != SSH_OK) {
    throw Error(path.string() + ": cannot generate host key");
  }
  // Written under a temporary name and renamed, so a crash never leaves a
  // half-written key that a later start would fail to load.
  const auto temp = path.string() + ".new";
  const int rc = ssh_pki_export_privkey_file(key, nullptr, nullptr, nullptr, temp.c_str());
  const std::string fingerprint = rc == SSH_OK ? KeyFingerprint(key) : "";
  ssh_key_free(key);
  if (rc != SSH_OK || chmod(temp.c_str(), 0600) != 0) {
    throw Error(path.string() + ": cannot write host key");
  }
  std::filesystem::rename(temp, path);
  spdlog::info("generated host key {} ({})", path.string(), fingerprint);
}

}  // namespace

std::vector<std::filesystem::path> EnsureHostKeys(const std::filesystem::path& dir) {
  const std::vector<std::tuple<std::string, ssh_keytypes_e, int>> wanted = {
      {"ssh_host_ed25519_key", SSH_KEYTYPE_ED25519, 0},
      {"ssh_host_rsa_key", SSH_KEYTYPE_RSA, 3072},
  };
  std::vector<std::filesystem::path> paths;
  for (const auto& [name, type, bits] : wanted) {
    const auto path = dir / name;
    if (!std::filesystem::exists(path)) Generate(path, type, bits);
    paths.push_back(path);
  }
  return paths;
}

std::vector<std::string> HostKeyFingerprints(const std::vector<std::filesystem::path>& keys) {
  std::vector<std::string> fingerprints;
  for (const auto& path : keys) {
    ssh_key key = nullptr;
    if (ssh_pki_import_privkey_file(path.c_str(), nullptr, nullptr, nullptr, &key) != SSH_OK) {
      throw Error(path.string() + ": cannot read host key");
    }
    const std::string type = ssh_key_type_to_char(ssh_key_type(key));
    std::string fingerprint;
    try {
      fingerprint = KeyFingerprint(key);
    } catch (...) {
      ssh_key_free(key);
      throw;
    }
    ssh_key_free(key);
    fingerprints.push_back(type + " " + fingerprint);
  }
  return fingerprints;
}

std::string KeyscanLine(const std::string& host, uint16_t port) {
  std::string name = host;
  if (name == "0.0.0.0" || name == "::" || name.empty()) {
    char buffer[256] = {};
    gethostname(buffer, sizeof buffer - 1);
    name = buffer;
  }
  return "ssh-keyscan -p " + std::to_string(port) + " " + name + " >> ~/.ssh/known_hosts";
}

}  // namespace hephy

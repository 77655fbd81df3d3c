#include "upstream/known_hosts.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <fstream>
#include <sstream>
#include <vector>

#include "util/ascii.h"
#include "util/base64.h"

namespace hephy {
namespace {

// The key type, the blob's first string ("ssh-ed25519", ...).
std::string KeyType(std::string_view blob) {
  if (blob.size() < 4) return "unknown";
  const uint32_t length = (uint32_t(uint8_t(blob[0])) << 24) | (uint32_t(uint8_t(blob[1])) << 16) |
                          (uint32_t(uint8_t(blob[2])) << 8) | uint32_t(uint8_t(blob[3]));
  if (length > blob.size() - 4 || length > 64) return "unknown";
  return std::string(blob.substr(4, length));
}

// "|1|BASE64(SALT)|BASE64(HMAC-SHA1(SALT, NAME))".
bool HashedPatternMatches(std::string_view pattern, const std::string& name) {
  pattern.remove_prefix(3);
  const auto bar = pattern.find('|');
  if (bar == std::string_view::npos) return false;
  const auto salt = Base64Decode(pattern.substr(0, bar));
  const auto hash = Base64Decode(pattern.substr(bar + 1));
  if (!salt || !hash || salt->empty() || hash->empty()) return false;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (HMAC(EVP_sha1(), salt->data(), static_cast<int>(salt->size()),
           reinterpret_cast<const unsigned char*>(name.data()), name.size(), digest,
           &length) == nullptr) {
    return false;
  }
  return std::string_view(reinterpret_cast<const char*>(digest), length) == *hash;
}

// OpenSSH's host patterns: '*' any run of characters, '?' any one; nothing
// else is special ("[host]:port" is literal). Without recursion, and going
// back only to the last '*' seen: a file's pattern may be long and have many
// '*', and trying every split for each '*' takes exponential time.
bool Glob(std::string_view pattern, std::string_view name) {
  size_t p = 0, n = 0;
  size_t star = std::string_view::npos, star_n = 0;  // the last '*' and where its run ends
  while (n < name.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      star_n = n;
    } else if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == name[n])) {
      ++p;
      ++n;
    } else if (star != std::string_view::npos) {
      p = star + 1;  // the last '*' takes one more character
      n = ++star_n;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

// Whether a line's comma-separated patterns select `name`: one matches and
// no negated one does.
bool PatternsMatch(const std::string& patterns, const std::string& name) {
  bool matched = false;
  std::istringstream in(patterns);
  for (std::string pattern; std::getline(in, pattern, ',');) {
    const bool negated = pattern.starts_with('!');
    if (negated) pattern.erase(0, 1);
    const bool match = pattern.starts_with("|1|") ? HashedPatternMatches(pattern, name)
                                                  : Glob(AsciiLower(pattern), name);
    if (match && negated) return false;
    matched = matched || match;
  }
  return matched;
}

}  // namespace

std::string HostKeyFingerprint(std::string_view key_blob) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(key_blob.data(), key_blob.size(), digest, &length, EVP_sha256(), nullptr);
  std::string text = Base64Encode(std::string_view(reinterpret_cast<const char*>(digest), length));
  while (text.ends_with('=')) text.pop_back();
  return "SHA256:" + text;
}

std::optional<std::string> KnownHostProblem(const std::filesystem::path& known_hosts,
                                            const std::string& host, uint16_t port,
                                            std::string_view key_blob) {
  const std::string name =
      AsciiLower(port == 0 || port == 22 ? host : "[" + host + "]:" + std::to_string(port));
  bool listed = false, accepted = false, revoked = false;
  std::ifstream in(known_hosts);
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    std::string first, patterns, type, base64;
    fields >> first;
    if (first.empty() || first.starts_with('#')) continue;
    const bool marked = first.starts_with('@');
    if (marked) {
      fields >> patterns;
    } else {
      patterns = first;
    }
    fields >> type >> base64;
    if (marked && first != "@revoked") continue;
    const auto key = Base64Decode(base64);
    if (!key || key->empty() || !PatternsMatch(patterns, name)) continue;
    if (*key == key_blob) (marked ? revoked : accepted) = true;
    listed = listed || !marked;
  }
  if (revoked) {
    return "ssh host key " + HostKeyFingerprint(key_blob) + " of " + name +
           " is marked @revoked in " + known_hosts.string();
  }
  if (accepted) return std::nullopt;
  const std::string offered =
      " (the server offered " + KeyType(key_blob) + " " + HostKeyFingerprint(key_blob) + ")";
  if (listed) {
    return "ssh host key of " + name + " does not match " + known_hosts.string() + offered +
           "; if the key changed on purpose, update that file";
  }
  return "ssh host key of " + name + " is not in " + known_hosts.string() + offered +
         "; check it and add it, e.g. with ssh-keyscan";
}

}  // namespace hephy

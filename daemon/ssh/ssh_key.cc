#include "hephy/ssh_key.h"

#include <libssh/libssh.h>

#include <memory>
#include <optional>
#include <sstream>

#include "hephy/error.h"
#include "util/base64.h"

namespace hephy {
namespace {

using KeyPtr = std::unique_ptr<ssh_key_struct, decltype(&ssh_key_free)>;

bool IsAcceptedType(const std::string& type) {
  return type == "ssh-ed25519" || type == "ssh-rsa" || type == "ecdsa-sha2-nistp256" ||
         type == "ecdsa-sha2-nistp384" || type == "ecdsa-sha2-nistp521";
}

std::vector<std::string> Fields(std::string_view line) {
  std::vector<std::string> fields;
  std::istringstream in{std::string(line)};
  std::string field;
  while (in >> field) fields.push_back(field);
  return fields;
}

// Key size in bits. libssh 0.10 has no accessor, so RSA's modulus is read
// from the blob: string "ssh-rsa", mpint e, mpint n (RFC 4253 6.6).
int KeyBits(const std::string& type, const std::string& base64) {
  if (type == "ssh-ed25519") return 256;
  if (type.starts_with("ecdsa-sha2-nistp")) return std::stoi(type.substr(16));
  const std::optional<std::string> decoded = Base64Decode(base64);
  if (!decoded) return 0;
  const std::string& blob = *decoded;
  size_t pos = 0;
  const auto next = [&]() -> std::string_view {
    if (pos + 4 > blob.size()) return {};
    const uint32_t len = (uint8_t(blob[pos]) << 24) | (uint8_t(blob[pos + 1]) << 16) |
                         (uint8_t(blob[pos + 2]) << 8) | uint8_t(blob[pos + 3]);
    pos += 4;
    if (len > blob.size() - pos) return {};
    std::string_view field(blob.data() + pos, len);
    pos += len;
    return field;
  };
  next();  // type
  next();  // e
  std::string_view n = next();
  while (!n.empty() && n.front() == '\0') n.remove_prefix(1);  // mpint sign byte
  if (n.empty()) return 0;
  int bits = static_cast<int>(n.size()) * 8;
  for (uint8_t top = uint8_t(n.front()); (top & 0x80) == 0; top <<= 1) --bits;
  return bits;
}

}  // namespace

std::string KeyFingerprint(ssh_key key) {
  unsigned char* hash = nullptr;
  size_t length = 0;
  if (ssh_get_publickey_hash(key, SSH_PUBLICKEY_HASH_SHA256, &hash, &length) != SSH_OK) {
    throw Error("cannot hash public key");
  }
  char* text = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, length);
  ssh_clean_pubkey_hash(&hash);
  if (text == nullptr) throw Error("cannot format key fingerprint");
  std::string fingerprint(text);
  ssh_string_free_char(text);
  return fingerprint;
}

PublicKey ParsePublicKeyLine(std::string_view line, const std::string& source) {
  const auto fields = Fields(line);
  if (fields.size() < 2) {
    throw Error(source + ": not an OpenSSH public key line (expected 'TYPE BASE64 [COMMENT]')");
  }
  PublicKey key;
  key.type = fields[0];
  key.base64 = fields[1];
  for (size_t i = 2; i < fields.size(); ++i) {
    key.comment += (i > 2 ? " " : "") + fields[i];
  }
  if (!IsAcceptedType(key.type)) {
    if (key.type.find('=') != std::string::npos || key.type.find('"') != std::string::npos) {
      throw Error(source + ": authorized_keys options are not supported; give the bare key");
    }
    throw Error(source + ": unsupported key type '" + key.type.substr(0, 40) +
                "' (accepted: ssh-ed25519, ecdsa-sha2-nistp256/384/521, ssh-rsa)");
  }

  ssh_key raw = nullptr;
  if (ssh_pki_import_pubkey_base64(key.base64.c_str(), ssh_key_type_from_name(key.type.c_str()),
                                   &raw) != SSH_OK) {
    throw Error(source + ": malformed " + key.type + " key (the base64 blob does not decode)");
  }
  KeyPtr parsed(raw, &ssh_key_free);
  // The blob names its own type; a line claiming another type is corrupt.
  const char* blob_type = ssh_key_type_to_char(ssh_key_type(parsed.get()));
  if (blob_type == nullptr || key.type != blob_type) {
    throw Error(source + ": key blob is of type '" + (blob_type ? blob_type : "unknown") +
                "' but the line says '" + key.type + "'");
  }
  key.bits = KeyBits(key.type, key.base64);
  if (key.type == "ssh-rsa" && key.bits < 2048) {
    throw Error(source + ": RSA key of " + std::to_string(key.bits) +
                " bits is too weak (at least 2048 required)");
  }
  key.fingerprint = KeyFingerprint(parsed.get());
  return key;
}

std::vector<PublicKey> ParsePublicKeys(std::string_view text, const std::string& source) {
  std::vector<PublicKey> keys;
  size_t line_number = 0;
  size_t begin = 0;
  while (begin <= text.size()) {
    size_t end = text.find('\n', begin);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(begin, end - begin);
    ++line_number;
    const auto first = line.find_first_not_of(" \t\r");
    if (first != std::string_view::npos && line[first] != '#') {
      keys.push_back(ParsePublicKeyLine(line, source + ":" + std::to_string(line_number)));
    }
    begin = end + 1;
  }
  if (keys.empty()) throw Error(source + ": no public key found");
  return keys;
}

}  // namespace hephy

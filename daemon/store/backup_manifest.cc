#include "store/backup_manifest.h"

#include <openssl/evp.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "hephy/error.h"
#include "util/hex.h"

namespace hephy {
namespace {

// A path a restore may write: relative, without "..", not the manifest.
void CheckPath(const std::string& path, const std::string& source) {
  const std::filesystem::path p(path);
  bool escapes = path.empty() || p.is_absolute();
  for (const auto& part : p) escapes = escapes || part == ".." || part == ".";
  if (escapes || path == "manifest.json") {
    throw Error(source + ": file '" + path + "' is not a path inside the backup");
  }
}

// "0600": permission bits as chmod takes them.
std::string OctalMode(unsigned mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", mode & 0777);
  return text;
}

unsigned ParseMode(const std::string& text, const std::string& source) {
  if (text.size() != 4 || text.find_first_not_of("01234567") != std::string::npos ||
      text[0] != '0') {
    throw Error(source + ": mode '" + text + "' is not a permission like 0600");
  }
  return static_cast<unsigned>(std::stoul(text, nullptr, 8));
}

}  // namespace

std::string BackupManifestJson(const BackupManifest& m) {
  nlohmann::ordered_json files = nlohmann::ordered_json::array();
  for (const auto& f : m.files) {
    files.push_back(
        {{"path", f.path}, {"size", f.size}, {"sha256", f.sha256}, {"mode", OctalMode(f.mode)}});
  }
  const nlohmann::ordered_json json = {
      {"format", BackupManifest::kFormat},
      {"hephyd_version", m.hephyd_version},
      {"schema", {{"version", m.schema_version}, {"migration", m.schema_migration}}},
      {"created", m.created},
      {"data_dir", m.data_dir.string()},
      {"repositories", m.repositories},
      {"files", files},
  };
  // One file per line: a person can read and diff it.
  std::string text = json.dump(2);
  return text + "\n";
}

BackupManifest ParseBackupManifest(const std::string& text, const std::string& source) {
  const auto json = nlohmann::json::parse(text, nullptr, false);
  if (json.is_discarded() || !json.is_object()) throw Error(source + ": not a JSON object");
  BackupManifest m;
  try {
    const int format = json.at("format").get<int>();
    if (format != BackupManifest::kFormat) {
      throw Error(source + ": manifest format " + std::to_string(format) +
                  " is unknown to this hephyd (it reads format " +
                  std::to_string(BackupManifest::kFormat) + ")");
    }
    m.hephyd_version = json.at("hephyd_version").get<std::string>();
    m.schema_version = json.at("schema").at("version").get<int>();
    m.schema_migration = json.at("schema").at("migration").get<std::string>();
    m.created = json.at("created").get<std::string>();
    m.data_dir = json.at("data_dir").get<std::string>();
    m.repositories = json.at("repositories").get<std::vector<std::string>>();
    for (const auto& f : json.at("files")) {
      BackupFile file{f.at("path").get<std::string>(), f.at("size").get<uint64_t>(),
                      f.at("sha256").get<std::string>(),
                      ParseMode(f.at("mode").get<std::string>(), source)};
      CheckPath(file.path, source);
      m.files.push_back(std::move(file));
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error(source + ": " + e.what());
  }
  for (const auto& repo : m.repositories) CheckPath("repos/" + repo, source);
  return m;
}

BackupFile HashFile(const std::filesystem::path& dir, const std::string& relative_path) {
  const auto path = dir / relative_path;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path.string() + ": cannot read");
  const std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr);
  BackupFile file{relative_path, 0, "", 0600};
  std::vector<char> buffer(1 << 20);
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    const auto n = static_cast<size_t>(in.gcount());
    EVP_DigestUpdate(ctx.get(), buffer.data(), n);
    file.size += n;
  }
  if (in.bad()) throw Error(path.string() + ": cannot read");
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned length = 0;
  EVP_DigestFinal_ex(ctx.get(), digest, &length);
  file.sha256 = HexEncode(std::string_view(reinterpret_cast<const char*>(digest), length));
  return file;
}

void VerifyBackupFiles(const std::filesystem::path& dir, const BackupManifest& manifest) {
  for (const auto& expected : manifest.files) {
    const auto path = dir / expected.path;
    std::error_code ec;
    const auto size = std::filesystem::file_size(path, ec);
    if (ec) {
      throw Error(path.string() + ": missing from the backup (" + ec.message() +
                  "), the manifest lists it: the backup is incomplete");
    }
    if (size != expected.size) {
      throw Error(path.string() + ": " + std::to_string(size) + " bytes, the manifest says " +
                  std::to_string(expected.size) + ": the backup is damaged");
    }
    const std::string sha256 = HashFile(dir, expected.path).sha256;
    if (sha256 != expected.sha256) {
      throw Error(path.string() + ": SHA-256 is " + sha256 + ", the manifest says " +
                  expected.sha256 + ": the backup is damaged");
    }
  }
}

}  // namespace hephy

#include "registry/token_signer.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "error_of.h"
#include "jwt_claims.h"
#include "test_dir.h"

namespace hephy {
namespace {

std::string Read(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

mode_t ModeOf(const std::filesystem::path& path) {
  struct stat status {};
  EXPECT_EQ(stat(path.c_str(), &status), 0) << path;
  return status.st_mode & 07777;
}

TEST(TokenSigner, MakesAKeyOnlyHephydCanReadAndACertificate) {
  TestDir dir;
  const TokenSigner signer(dir.path());
  EXPECT_EQ(signer.key_path(), dir.path() / "registry-token.key");
  EXPECT_EQ(ModeOf(signer.key_path()), 0600u);
  EXPECT_NE(Read(signer.key_path()).find("-----BEGIN PRIVATE KEY-----"), std::string::npos);
  EXPECT_NE(Read(signer.certificate_path()).find("-----BEGIN CERTIFICATE-----"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "registry-token.key.new"));
}

TEST(TokenSigner, KeepsItsKeyAcrossRestarts) {
  TestDir dir;
  std::string key, certificate;
  {
    const TokenSigner first(dir.path());
    key = Read(first.key_path());
    certificate = Read(first.certificate_path());
  }
  const TokenSigner second(dir.path());
  EXPECT_EQ(Read(second.key_path()), key);
  EXPECT_EQ(Read(second.certificate_path()), certificate);
}

TEST(TokenSigner, SignsRs256WithItsCertificateInX5c) {
  TestDir dir;
  const TokenSigner signer(dir.path());
  const std::string jwt = signer.Sign({{"sub", "alice"}, {"access", nlohmann::json::array()}});
  const auto header = JwtHeader(jwt);
  EXPECT_EQ(header["alg"], "RS256");
  EXPECT_EQ(header["typ"], "JWT");
  ASSERT_EQ(header["x5c"].size(), 1u);
  // x5c is the certificate's DER, which is the PEM file's body.
  std::string body;
  std::istringstream pem(Read(signer.certificate_path()));
  for (std::string line; std::getline(pem, line);) {
    if (!line.starts_with("-----")) body += line;
  }
  EXPECT_EQ(header["x5c"][0], body);
  EXPECT_EQ(JwtClaims(jwt)["sub"], "alice");
  EXPECT_TRUE(JwtVerifies(jwt, signer.certificate_path()));

  // Signed by this key only: another signer's certificate does not verify it.
  TestDir other_dir;
  const TokenSigner other(other_dir.path());
  EXPECT_FALSE(JwtVerifies(jwt, other.certificate_path()));
}

TEST(TokenSigner, RefusesAKeyOthersCanRead) {
  TestDir dir;
  std::filesystem::path key;
  {
    const TokenSigner signer(dir.path());
    key = signer.key_path();
  }
  chmod(key.c_str(), 0644);
  const std::string error = ErrorOf([&] { TokenSigner again(dir.path()); });
  EXPECT_NE(error.find(key.string()), std::string::npos) << error;
  EXPECT_NE(error.find("only it can read (mode 0600)"), std::string::npos) << error;
}

TEST(TokenSigner, RemakesAKeyWhoseCertificateIsMissing) {
  TestDir dir;
  std::string key;
  {
    const TokenSigner signer(dir.path());
    key = Read(signer.key_path());
    std::filesystem::remove(signer.certificate_path());
  }
  const TokenSigner again(dir.path());
  EXPECT_NE(Read(again.key_path()), key);
  EXPECT_EQ(ModeOf(again.key_path()), 0600u);
  EXPECT_TRUE(JwtVerifies(again.Sign({{"sub", "x"}}), again.certificate_path()));
}

TEST(TokenSigner, NamesAKeyFileThatIsNotAKey) {
  TestDir dir;
  {
    std::ofstream out(dir.path() / "registry-token.key");
    out << "garbage\n";
  }
  std::filesystem::permissions(
      dir.path() / "registry-token.key",
      std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  const std::string error = ErrorOf([&] { TokenSigner signer(dir.path()); });
  EXPECT_NE(error.find("registry-token.key: not a PEM private key"), std::string::npos) << error;
}

}  // namespace
}  // namespace hephy

#include "upstream/known_hosts.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <fstream>
#include <sstream>

#include "fixtures.h"
#include "test_dir.h"
#include "util/process.h"

namespace hephy {
namespace {

struct Key {
  std::string line;  // "TYPE BASE64"
  std::string blob;
};

Key FixtureKey(const std::string& name) {
  std::istringstream in(KeyFixture(name));
  std::string type, base64;
  in >> type >> base64;
  std::string blob(base64.size(), '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(blob.data()),
                                reinterpret_cast<const unsigned char*>(base64.data()),
                                static_cast<int>(base64.size()));
  blob.resize(n - (base64.ends_with("==") ? 2 : base64.ends_with('=') ? 1 : 0));
  return Key{type + " " + base64, blob};
}

class KnownHostsTest : public ::testing::Test {
 protected:
  void WriteFile(const std::string& text) { std::ofstream(file_) << text; }
  std::string ProblemOf(const std::string& host, uint16_t port, const Key& key) {
    return KnownHostProblem(file_, host, port, key.blob).value_or("listed");
  }

  TestDir dir_;
  std::filesystem::path file_ = dir_.path() / "known_hosts";
  Key ed25519_ = FixtureKey("ed25519.pub");
  Key ecdsa_ = FixtureKey("ecdsa-256.pub");
};

TEST_F(KnownHostsTest, FingerprintIsSshKeygens) {
  const RunResult r = hephy::Run({.argv = {"ssh-keygen", "-l", "-E", "sha256", "-f",
                                           std::string(HEPHY_FIXTURES_DIR) + "/keys/ed25519.pub"}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find(" " + HostKeyFingerprint(ed25519_.blob) + " "), std::string::npos) << r.out;
}

TEST_F(KnownHostsTest, FindsPlainEntriesByHostAndPort) {
  WriteFile("# comment\n\ngit.example.com,10.0.0.1 " + ed25519_.line + " c\n[127.0.0.1]:2222 " +
            ecdsa_.line + "\n");
  EXPECT_EQ(ProblemOf("git.example.com", 22, ed25519_), "listed");
  EXPECT_EQ(ProblemOf("GIT.example.com", 0, ed25519_), "listed");
  EXPECT_EQ(ProblemOf("10.0.0.1", 22, ed25519_), "listed");
  EXPECT_EQ(ProblemOf("127.0.0.1", 2222, ecdsa_), "listed");
  // The port is part of the name: the same host on port 22 is another entry.
  EXPECT_EQ(ProblemOf("127.0.0.1", 22, ecdsa_),
            "ssh host key of 127.0.0.1 is not in " + file_.string() +
                " (the server offered ecdsa-sha2-nistp256 " + HostKeyFingerprint(ecdsa_.blob) +
                "); check it and add it, e.g. with ssh-keyscan");
}

TEST_F(KnownHostsTest, AnotherKeyForTheHostIsAMismatch) {
  WriteFile("git.example.com " + ed25519_.line + "\n");
  EXPECT_EQ(ProblemOf("git.example.com", 22, ecdsa_),
            "ssh host key of git.example.com does not match " + file_.string() +
                " (the server offered ecdsa-sha2-nistp256 " + HostKeyFingerprint(ecdsa_.blob) +
                "); if the key changed on purpose, update that file");
}

TEST_F(KnownHostsTest, ReadsHashedNamesAsSshKeygenWritesThem) {
  WriteFile("[127.0.0.1]:2222 " + ed25519_.line + "\ngit.example.com " + ecdsa_.line + "\n");
  const RunResult r = hephy::Run({.argv = {"ssh-keygen", "-H", "-f", file_.string()}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::ifstream in(file_);
  const std::string hashed(std::istreambuf_iterator<char>(in), {});
  ASSERT_EQ(hashed.find("127.0.0.1"), std::string::npos) << hashed;
  ASSERT_NE(hashed.find("|1|"), std::string::npos) << hashed;
  EXPECT_EQ(ProblemOf("127.0.0.1", 2222, ed25519_), "listed");
  EXPECT_EQ(ProblemOf("git.example.com", 22, ecdsa_), "listed");
  EXPECT_NE(ProblemOf("127.0.0.1", 2223, ed25519_), "listed");
  EXPECT_NE(ProblemOf("git.example.com", 22, ed25519_), "listed");
}

TEST_F(KnownHostsTest, WildcardsNegationAndRevokedKeys) {
  WriteFile("*.example.com,!evil.example.com " + ed25519_.line + "\n@cert-authority * " +
            ecdsa_.line + "\n");
  EXPECT_EQ(ProblemOf("git.example.com", 22, ed25519_), "listed");
  EXPECT_NE(ProblemOf("evil.example.com", 22, ed25519_), "listed");
  EXPECT_NE(ProblemOf("git.example.org", 22, ed25519_), "listed");
  // A CA is not a host key: hephyd does not read host certificates.
  EXPECT_NE(ProblemOf("git.example.com", 22, ecdsa_), "listed");

  WriteFile("git.example.com " + ed25519_.line + "\n@revoked * " + ed25519_.line + "\n");
  EXPECT_EQ(ProblemOf("git.example.com", 22, ed25519_),
            "ssh host key " + HostKeyFingerprint(ed25519_.blob) +
                " of git.example.com is marked @revoked in " + file_.string());
}

TEST_F(KnownHostsTest, PatternsWithManyWildcardsMatchInLinearTime) {
  // known_hosts_fuzzer's timeout, reduced: a pattern of 70 '*' then bytes
  // the name lacks, once tried against every way of splitting the name
  // among the '*'.
  WriteFile(std::string(70, '*') + std::string(20, '\0') + "\xff,,, " + ed25519_.line + "\n");
  EXPECT_NE(ProblemOf("git.example.com", 22, ed25519_), "listed");
  WriteFile("a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b " + ed25519_.line + "\n");
  EXPECT_NE(ProblemOf(std::string(40, 'a'), 22, ed25519_), "listed");
  // Nor does a long one recurse once per '*'.
  WriteFile(std::string(1 << 20, '*') + "x " + ed25519_.line + "\n");
  EXPECT_NE(ProblemOf("git.example.com", 22, ed25519_), "listed");
  WriteFile("**g*t.*x*mple.c?m,*.org " + ed25519_.line + "\n");
  EXPECT_EQ(ProblemOf("git.example.com", 22, ed25519_), "listed");
  EXPECT_NE(ProblemOf("git.example.co", 22, ed25519_), "listed");
}

TEST_F(KnownHostsTest, MissingFileListsNoHost) {
  EXPECT_NE(ProblemOf("git.example.com", 22, ed25519_).find(" is not in "), std::string::npos);
}

}  // namespace
}  // namespace hephy

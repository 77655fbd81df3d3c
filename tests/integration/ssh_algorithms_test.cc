// The SSH server offers only what ssh-audit passes: curve25519 key
// exchange, ed25519 and rsa-sha2 host keys, AEAD and CTR ciphers, and MACs
// in encrypt-then-MAC mode; ssh.kex, ssh.ciphers and ssh.macs change that.
// Checked with the real OpenSSH client and, where installed, ssh-audit.
#include "util/ssh_algorithms.h"

#include <gtest/gtest.h>

#include <sstream>

#include "test_daemon.h"

namespace hephy {
namespace {

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// What the installed ssh client supports: `ssh -Q QUERY`.
std::vector<std::string> ClientSupports(const std::string& query) {
  return Lines(Run({.argv = {"ssh", "-Q", query}}).out);
}

class SshAlgorithmsTest : public ::testing::Test {
 protected:
  explicit SshAlgorithmsTest(const std::string& ssh_config = "") : daemon_(ssh_config) {
    alice_ = daemon_.AddUser("alice");
    daemon_.Start();
  }

  // Whether `whoami` works with these ssh options.
  bool Connects(const std::vector<std::string>& options) {
    const RunResult r = daemon_.Ssh(alice_, "whoami", options);
    return r.exit_code == 0 && r.out.starts_with("alice\n");
  }

  TestDaemon daemon_;
  TestKey alice_;
};

TEST_F(SshAlgorithmsTest, EveryDefaultWorksWithOpenSsh) {
  const struct {
    SshAlgorithmKind kind;
    const char* query;
    const char* option;
  } kinds[] = {{SshAlgorithmKind::kKex, "kex", "KexAlgorithms"},
               {SshAlgorithmKind::kCipher, "cipher", "Ciphers"},
               {SshAlgorithmKind::kMac, "mac", "MACs"}};
  for (const auto& kind : kinds) {
    const auto supported = ClientSupports(kind.query);
    for (const auto& name : DefaultSshAlgorithms(kind.kind)) {
      EXPECT_NE(std::find(supported.begin(), supported.end(), name), supported.end()) << name;
      std::vector<std::string> options = {"-o", std::string(kind.option) + "=" + name};
      // A MAC is used with a cipher that has none of its own.
      if (kind.kind == SshAlgorithmKind::kMac) options.insert(options.end(), {"-c", "aes128-ctr"});
      EXPECT_TRUE(Connects(options)) << name;
    }
  }
  for (const char* key : {"ssh-ed25519", "rsa-sha2-512", "rsa-sha2-256"}) {
    EXPECT_TRUE(Connects({"-o", std::string("HostKeyAlgorithms=") + key})) << key;
  }
}

TEST_F(SshAlgorithmsTest, WeakAlgorithmsAreNotOffered) {
  for (const char* kex :
       {"ecdh-sha2-nistp256", "ecdh-sha2-nistp521", "diffie-hellman-group14-sha256",
        "diffie-hellman-group16-sha512", "diffie-hellman-group-exchange-sha256"}) {
    EXPECT_FALSE(Connects({"-o", std::string("KexAlgorithms=") + kex})) << kex;
  }
  EXPECT_FALSE(Connects({"-c", "aes128-ctr", "-m", "hmac-sha2-256"}));
  EXPECT_FALSE(Connects({"-c", "aes128-ctr", "-m", "hmac-sha2-512"}));
  EXPECT_FALSE(Connects({"-c", "aes128-cbc"}));
  EXPECT_FALSE(Connects({"-o", "HostKeyAlgorithms=ssh-rsa"}));
  EXPECT_TRUE(daemon_.WaitForLog("key exchange failed"));
}

TEST_F(SshAlgorithmsTest, SshAuditFindsNothingToFailOrWarnAbout) {
  if (hephy::Run({.argv = {"sh", "-c", "command -v ssh-audit"}}).exit_code != 0) {
    GTEST_SKIP() << "ssh-audit is not installed (scripts/install-deps installs it)";
  }
  const RunResult r = hephy::Run(
      {.argv = {"ssh-audit", "--no-colors", "-p", std::to_string(daemon_.port()), "127.0.0.1"}});
  ASSERT_NE(r.out.find("(kex) curve25519-sha256"), std::string::npos) << r.out << r.err;
  for (const auto& line : Lines(r.out)) {
    // libssh's strict key exchange marker (the Terrapin fix) is new to
    // ssh-audit 2.5, which calls it unknown.
    if (line.find("kex-strict-s-v00@openssh.com") != std::string::npos) continue;
    EXPECT_EQ(line.find("[fail]"), std::string::npos) << line;
    EXPECT_EQ(line.find("[warn]"), std::string::npos) << line;
    EXPECT_FALSE(line.starts_with("(cve)")) << line;
  }
  EXPECT_NE(r.out.find("kex-strict-s-v00@openssh.com"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("banner: SSH-2.0-hephyd"), std::string::npos) << r.out;
}

class SshAlgorithmsConfiguredTest : public SshAlgorithmsTest {
 protected:
  SshAlgorithmsConfiguredTest()
      : SshAlgorithmsTest(
            "  macs: +hmac-sha2-256\n  ciphers: -aes1*,chacha20-poly1305@openssh.com\n") {}
};

TEST_F(SshAlgorithmsConfiguredTest, ConfigAddsAndRemovesAsOpenSshDoes) {
  EXPECT_TRUE(Connects({"-c", "aes256-ctr", "-m", "hmac-sha2-256"}));
  EXPECT_TRUE(Connects({"-c", "aes256-ctr", "-m", "hmac-sha2-512-etm@openssh.com"}));
  EXPECT_FALSE(Connects({"-c", "aes128-ctr"}));
  EXPECT_FALSE(Connects({"-c", "aes128-gcm@openssh.com"}));
  EXPECT_FALSE(Connects({"-c", "chacha20-poly1305@openssh.com"}));
  EXPECT_TRUE(Connects({"-c", "aes256-gcm@openssh.com"}));
}

}  // namespace
}  // namespace hephy

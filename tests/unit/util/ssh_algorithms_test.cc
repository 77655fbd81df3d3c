#include "util/ssh_algorithms.h"

#include <gtest/gtest.h>

#include "error_of.h"

namespace hephy {
namespace {

using Names = std::vector<std::string>;
constexpr auto kMac = SshAlgorithmKind::kMac;
constexpr auto kCipher = SshAlgorithmKind::kCipher;

TEST(SshAlgorithms, AListReplacesTheDefault) {
  EXPECT_EQ(ParseSshAlgorithms(kMac, "hmac-sha2-512-etm@openssh.com,hmac-sha2-256"),
            (Names{"hmac-sha2-512-etm@openssh.com", "hmac-sha2-256"}));
}

TEST(SshAlgorithms, PlusAppendsMinusRemovesCaretPutsFirst) {
  EXPECT_EQ(
      ParseSshAlgorithms(kMac, "+hmac-sha2-256,hmac-sha2-256-etm@openssh.com"),
      (Names{"hmac-sha2-256-etm@openssh.com", "hmac-sha2-512-etm@openssh.com", "hmac-sha2-256"}));
  EXPECT_EQ(ParseSshAlgorithms(kCipher, "-aes*-ctr,chacha20-poly1305@openssh.com"),
            (Names{"aes256-gcm@openssh.com", "aes128-gcm@openssh.com"}));
  EXPECT_EQ(ParseSshAlgorithms(kMac, "^hmac-sha2-512-etm@openssh.com"),
            (Names{"hmac-sha2-512-etm@openssh.com", "hmac-sha2-256-etm@openssh.com"}));
}

TEST(SshAlgorithms, UnknownNamesAndNothingLeftAreErrors) {
  EXPECT_TRUE(ErrorOf([] { ParseSshAlgorithms(kMac, "+hmac-md5"); })
                  .starts_with("unknown algorithm 'hmac-md5' (hephyd's SSH server knows "
                               "hmac-sha2-256-etm@openssh.com, "));
  EXPECT_EQ(ErrorOf([] { ParseSshAlgorithms(kMac, "-hmac*"); }), "'-hmac*' leaves no algorithm");
  EXPECT_EQ(ErrorOf([] { ParseSshAlgorithms(kMac, "hmac-sha2-256,"); }),
            "'hmac-sha2-256,': an empty algorithm name");
  EXPECT_EQ(ErrorOf([] { ParseSshAlgorithms(kMac, ""); }), "'': an empty algorithm name");
}

TEST(SshAlgorithms, KnowsWhichClientsNeedEncryptAndMac) {
  EXPECT_TRUE(OffersOnlyEncryptThenMac({}));
  EXPECT_FALSE(OffersOnlyEncryptThenMac(ParseSshAlgorithms(kMac, "+hmac-sha2-256")));
  EXPECT_TRUE(IsLibSsh2BeforeEncryptThenMac("SSH-2.0-libssh2_1.10.0"));
  EXPECT_TRUE(IsLibSsh2BeforeEncryptThenMac("SSH-2.0-libssh2_0.9"));
  EXPECT_FALSE(IsLibSsh2BeforeEncryptThenMac("SSH-2.0-libssh2_1.11.0"));
  EXPECT_FALSE(IsLibSsh2BeforeEncryptThenMac("SSH-2.0-libssh2_2.0.1"));
  EXPECT_FALSE(IsLibSsh2BeforeEncryptThenMac("SSH-2.0-OpenSSH_9.2p1 Debian-2"));
  EXPECT_FALSE(IsLibSsh2BeforeEncryptThenMac("SSH-2.0-libssh2_x"));
}

}  // namespace
}  // namespace hephy

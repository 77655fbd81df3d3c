#include "hephy/ssh_key.h"

#include <gtest/gtest.h>

#include "fixtures.h"
#include "hephy/error.h"

namespace hephy {
namespace {

std::string ErrorOf(const std::string& line) {
  try {
    ParsePublicKeyLine(line, "id.pub");
  } catch (const Error& e) {
    return e.what();
  }
  return "accepted";
}

// Fingerprints as `ssh-keygen -lf` prints them for the fixture keys.
TEST(PublicKey, ParsesEveryAcceptedTypeWithOpenSshFingerprint) {
  struct Case {
    const char* file;
    const char* type;
    int bits;
    const char* fingerprint;
  };
  const Case cases[] = {
      {"ed25519.pub", "ssh-ed25519", 256, "SHA256:MVU2IOQb4PgeKLvdXI+/ZmMnJIFbCUw433K5EYS8hpg"},
      {"ecdsa-256.pub", "ecdsa-sha2-nistp256", 256,
       "SHA256:9AxQDIGehmSFLgHMFHyQw19myiAsQXlIDs31WFahov8"},
      {"ecdsa-384.pub", "ecdsa-sha2-nistp384", 384,
       "SHA256:rmYf6CJfkIpSUyoN41KvQU9qq72m5NqCVUM15UtAO2I"},
      {"ecdsa-521.pub", "ecdsa-sha2-nistp521", 521,
       "SHA256:OE9z23QWi1UYCIB/eGC/BJYJ/cAOGkU4NwUnxjPKvi8"},
      {"rsa-2048.pub", "ssh-rsa", 2048, "SHA256:jptRFCJg8JKfOv3otftwa+q94sD5TLYRiMKiuI5fT50"},
      {"rsa-4096.pub", "ssh-rsa", 4096, "SHA256:Ao4dBrSttJ7t1h5a84UzHaMu445GO6P7/6ytTlAvXA4"},
  };
  for (const auto& c : cases) {
    const PublicKey key = ParsePublicKeyLine(KeyFixture(c.file), c.file);
    EXPECT_EQ(key.type, c.type) << c.file;
    EXPECT_EQ(key.bits, c.bits) << c.file;
    EXPECT_EQ(key.fingerprint, c.fingerprint) << c.file;
    EXPECT_EQ(key.comment,
              std::string(c.file).substr(0, std::string(c.file).size() - 4) + "@fixture");
  }
}

TEST(PublicKey, RefusesShortRsaKeys) {
  EXPECT_EQ(ErrorOf(KeyFixture("rsa-1024.pub")),
            "id.pub: RSA key of 1024 bits is too weak (at least 2048 required)");
}

TEST(PublicKey, RefusesMalformedLinesWithTheReason) {
  EXPECT_EQ(ErrorOf("hello"),
            "id.pub: not an OpenSSH public key line (expected 'TYPE BASE64 [COMMENT]')");
  EXPECT_EQ(ErrorOf("ssh-ed25519 bm90IGEga2V5"),
            "id.pub: malformed ssh-ed25519 key (the base64 blob does not decode)");
  EXPECT_EQ(ErrorOf("ssh-dss AAAAB3NzaC1kc3MAAACBAP"),
            "id.pub: unsupported key type 'ssh-dss' (accepted: ssh-ed25519, "
            "ecdsa-sha2-nistp256/384/521, ssh-rsa)");
  EXPECT_EQ(ErrorOf("command=\"id\" " + KeyFixture("ed25519.pub")),
            "id.pub: authorized_keys options are not supported; give the bare key");
  // The ed25519 blob under an RSA label: the line lies about its type.
  const std::string blob = KeyFixture("ed25519.pub").substr(12, 68);
  EXPECT_NE(ErrorOf("ssh-rsa " + blob), "accepted");
}

TEST(PublicKey, ParsesAFileSkippingCommentsAndNamingBadLines) {
  const std::string text =
      "# my keys\n\n" + KeyFixture("ed25519.pub") + KeyFixture("ecdsa-256.pub") + "   \n";
  const auto keys = ParsePublicKeys(text, "keys.txt");
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[1].type, "ecdsa-sha2-nistp256");

  try {
    ParsePublicKeys(KeyFixture("ed25519.pub") + "garbage\n", "keys.txt");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).substr(0, 11), "keys.txt:2:");
  }
  EXPECT_THROW(ParsePublicKeys("# nothing\n", "empty.pub"), Error);
}

}  // namespace
}  // namespace hephy

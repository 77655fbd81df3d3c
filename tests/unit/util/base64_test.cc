#include "util/base64.h"

#include <gtest/gtest.h>

namespace hephy {
namespace {

TEST(Base64, EncodesWithPadding) {
  EXPECT_EQ(Base64Encode(""), "");
  EXPECT_EQ(Base64Encode("f"), "Zg==");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(Base64Encode("foo"), "Zm9v");
  EXPECT_EQ(Base64Encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(Base64Encode(std::string("\xff\xfe\0", 3)), "//4A");
}

TEST(Base64, EncodesUrlSafeWithoutPadding) {
  EXPECT_EQ(Base64UrlEncode(""), "");
  EXPECT_EQ(Base64UrlEncode("f"), "Zg");
  EXPECT_EQ(Base64UrlEncode("fo"), "Zm8");
  EXPECT_EQ(Base64UrlEncode(std::string("\xff\xfe\0", 3)), "__4A");
  EXPECT_EQ(Base64UrlEncode("\xfb\xef"), "--8");
}

TEST(Base64, DecodesWhatItEncodes) {
  for (const std::string bytes : {"", "f", "fo", "foo", "user:pa:ss", "\xff\xfe\x01\x80"}) {
    EXPECT_EQ(Base64Decode(Base64Encode(bytes)), bytes);
  }
}

TEST(Base64, RejectsWhatIsNotPaddedStandardBase64) {
  for (const char* text : {"Zg", "Zg=", "Zm9v!A==", "Zg==Zg==", "=Zg=", "Z===", "Zm9-", "Zm9v\n"}) {
    EXPECT_EQ(Base64Decode(text), std::nullopt) << text;
  }
}

}  // namespace
}  // namespace hephy

#include "util/names.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "hephy/error.h"

namespace hephy {
namespace {

TEST(AppName, AcceptsLowercaseDigitsAndDashes) {
  for (const std::string& name :
       std::vector<std::string>{"a", "myapp", "my-app-2", "0day", std::string(63, 'x')}) {
    EXPECT_TRUE(IsValidAppName(name)) << name;
  }
}

TEST(AppName, RefusesEverythingThatCouldEscapeOrConfuse) {
  for (const std::string& name :
       std::vector<std::string>{"", "-app", "App", "my_app", "my.app", "../x", "a/b", "a b", "a;b",
                                "$(id)", "a\nb", "ü", std::string(64, 'x')}) {
    EXPECT_FALSE(IsValidAppName(name)) << name;
  }
}

TEST(AppName, ErrorNamesTheNameAndTheRule) {
  try {
    ValidateAppName("../etc");
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(),
                 "invalid app name '../etc': use 1 to 63 lowercase letters, digits and '-', "
                 "starting with a letter or digit");
  }
}

TEST(AppName, ControlCharactersAreNotEchoed) {
  try {
    ValidateAppName("a\x1b[2Jb");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).find('\x1b'), std::string::npos);
  }
}

TEST(UserName, AcceptsAndRefuses) {
  EXPECT_NO_THROW(ValidateUserName("alice"));
  EXPECT_NO_THROW(ValidateUserName("ci.bot_1-x"));
  for (const std::string& name :
       std::vector<std::string>{"", "Alice", "-x", ".x", "a b", "a/b", std::string(40, 'a')}) {
    EXPECT_THROW(ValidateUserName(name), Error) << name;
  }
}

TEST(Platform, IsOsArchAndAnOptionalVariant) {
  for (const std::string& platform :
       std::vector<std::string>{"linux/amd64", "linux/arm64", "linux/arm/v7", "wasi/wasm"}) {
    EXPECT_TRUE(IsValidPlatform(platform)) << platform;
  }
  for (const std::string& platform :
       std::vector<std::string>{"", "linux", "x86", "Linux/amd64", "linux/amd64/", "linux/../x",
                                "../etc", "a/b/c/d", "linux/amd64\n", "linux/ amd64"}) {
    EXPECT_FALSE(IsValidPlatform(platform)) << platform;
  }
}

TEST(Platform, IsOneFileNameDashedAndBack) {
  EXPECT_EQ(DashedPlatform("linux/arm/v7"), "linux-arm-v7");
  EXPECT_EQ(DashedPlatform("linux/amd64"), "linux-amd64");
  for (const std::string platform : {"linux/amd64", "linux/arm/v7", "wasip1/wasm"}) {
    EXPECT_EQ(PlatformOfDashed(DashedPlatform(platform)), platform);
  }
}

}  // namespace
}  // namespace hephy

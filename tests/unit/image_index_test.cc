#include "hephy/image_index.h"

#include <gtest/gtest.h>

#include "hephy/error.h"

namespace hephy {
namespace {

template <class F>
std::string ErrorOf(F f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no Error thrown";
  return "";
}

TEST(Platform, ParsesAndPrintsOsArchAndVariant) {
  const Platform arm = ParsePlatform("linux/arm/v7");
  EXPECT_EQ(arm.os, "linux");
  EXPECT_EQ(arm.architecture, "arm");
  EXPECT_EQ(arm.variant, "v7");
  for (const std::string text : {"linux/amd64", "linux/arm64", "linux/arm/v7", "wasi/wasm",
                                 "linux/arm64/v8", "linux/mips64_le"}) {
    EXPECT_EQ(ToString(ParsePlatform(text)), text);
  }
  EXPECT_EQ(ParsePlatform("linux/amd64").variant, "");
}

TEST(Platform, RejectsBadTextNamingIt) {
  for (const std::string text : {"", "linux", "linux/", "/amd64", "linux//v7", "linux/arm/v7/x",
                                 "Linux/AMD64", "linux/amd64 ", "linux/arm/v-7"}) {
    const std::string message = ErrorOf([&] { ParsePlatform(text); });
    EXPECT_NE(message.find("'" + text + "'"), std::string::npos) << message;
  }
}

}  // namespace
}  // namespace hephy

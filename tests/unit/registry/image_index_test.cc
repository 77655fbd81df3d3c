#include "registry/image_index.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "error_of.h"
#include "hephy/error.h"
#include "test_registry.h"

namespace hephy {
namespace {

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

class ImageIndexTest : public testing::Test {
 protected:
  TestRegistry registry_;
  RegistryClient client_{registry_.url(), true};
};

TEST_F(ImageIndexTest, StitchesAnOciIndexUnderEveryTag) {
  const TestImage amd64 = PushTestImage(client_, "kaniko", ParsePlatform("linux/amd64"));
  const TestImage arm64 = PushTestImage(client_, "kaniko", ParsePlatform("linux/arm64/v8"));
  const std::map<std::string, std::string> annotations = {
      {"org.opencontainers.image.source", "https://example.invalid/kaniko.git"},
      {"org.opencontainers.image.revision", "a1b2c3d"},
      {"org.opencontainers.image.created", "2025-10-14T00:00:00Z"}};
  const std::vector<std::string> tags = {"kaniko-20251014-a1b2c3d", "kaniko-latest"};

  const StitchedIndex index =
      StitchIndex(client_, "kaniko", {amd64.digest, arm64.digest}, annotations, tags);
  EXPECT_EQ(index.media_type, kOciIndex);
  EXPECT_EQ(index.digest, Sha256Digest(index.body));

  for (const auto& tag : tags) {
    const auto got = client_.GetManifest("kaniko", tag);
    EXPECT_EQ(got.media_type, kOciIndex) << tag;
    EXPECT_EQ(got.digest, index.digest) << tag;
    EXPECT_EQ(got.body, index.body) << tag;
  }
  const auto json = nlohmann::json::parse(index.body);
  EXPECT_EQ(json["schemaVersion"], 2);
  EXPECT_EQ(json["mediaType"], kOciIndex);
  ASSERT_EQ(json["manifests"].size(), 2u);
  const auto& first = json["manifests"][0];
  EXPECT_EQ(first["mediaType"], kOciManifest);
  EXPECT_EQ(first["digest"], amd64.digest);
  EXPECT_EQ(first["size"], amd64.body.size());
  EXPECT_EQ(first["platform"], (nlohmann::json{{"architecture", "amd64"}, {"os", "linux"}}));
  const auto& second = json["manifests"][1];
  EXPECT_EQ(second["mediaType"], kOciManifest);
  EXPECT_EQ(second["digest"], arm64.digest);
  EXPECT_EQ(second["size"], arm64.body.size());
  EXPECT_EQ(second["platform"],
            (nlohmann::json{{"architecture", "arm64"}, {"os", "linux"}, {"variant", "v8"}}));
  EXPECT_EQ(json["annotations"], nlohmann::json(annotations));
}

TEST_F(ImageIndexTest, SameInputsGiveTheSameBytesAndOrderMatters) {
  const TestImage amd64 = PushTestImage(client_, "web", ParsePlatform("linux/amd64"));
  const TestImage arm = PushTestImage(client_, "web", ParsePlatform("linux/arm/v7"));
  const auto once = StitchIndex(client_, "web", {amd64.digest, arm.digest}, {}, {"web-a"});
  const auto again = StitchIndex(client_, "web", {amd64.digest, arm.digest}, {}, {"web-b"});
  EXPECT_EQ(once.body, again.body);
  EXPECT_EQ(once.digest, again.digest);
  const auto swapped = StitchIndex(client_, "web", {arm.digest, amd64.digest}, {}, {"web-c"});
  EXPECT_NE(swapped.digest, once.digest);
  EXPECT_EQ(nlohmann::json::parse(swapped.body)["manifests"][0]["digest"], arm.digest);
  // No annotations given: none written.
  EXPECT_FALSE(nlohmann::json::parse(once.body).contains("annotations"));
}

TEST_F(ImageIndexTest, DockerChildrenGiveADockerManifestListWithoutAnnotations) {
  const TestImage amd64 = PushTestImage(client_, "web", ParsePlatform("linux/amd64"), true);
  const TestImage arm64 = PushTestImage(client_, "web", ParsePlatform("linux/arm64"), true);
  const StitchedIndex index =
      StitchIndex(client_, "web", {amd64.digest, arm64.digest},
                  {{"org.opencontainers.image.revision", "abc"}}, {"web-latest"});
  EXPECT_EQ(index.media_type, kDockerManifestList);
  const auto got = client_.GetManifest("web", "web-latest");
  EXPECT_EQ(got.media_type, kDockerManifestList);
  EXPECT_EQ(got.body, index.body);
  const auto json = nlohmann::json::parse(got.body);
  EXPECT_EQ(json["mediaType"], kDockerManifestList);
  EXPECT_FALSE(json.contains("annotations"));
  ASSERT_EQ(json["manifests"].size(), 2u);
  EXPECT_EQ(json["manifests"][0]["mediaType"], kDockerManifest);
  EXPECT_EQ(json["manifests"][1]["platform"]["architecture"], "arm64");
}

TEST_F(ImageIndexTest, MixedOciAndDockerChildrenAreRefused) {
  const TestImage oci = PushTestImage(client_, "web", ParsePlatform("linux/amd64"));
  const TestImage docker = PushTestImage(client_, "web", ParsePlatform("linux/arm64"), true);
  const std::string message = ErrorOf([&] {
    StitchIndex(client_, "web", {oci.digest, docker.digest}, {}, {"web-latest"});
  });
  EXPECT_NE(message.find("mix media types"), std::string::npos) << message;
  EXPECT_NE(message.find(docker.digest), std::string::npos) << message;
  EXPECT_EQ(client_.HeadManifest("web", "web-latest"), std::nullopt);
}

TEST_F(ImageIndexTest, MissingChildIsNamed) {
  const TestImage amd64 = PushTestImage(client_, "web", ParsePlatform("linux/amd64"));
  const std::string missing = Sha256Digest("never pushed");
  const std::string message = ErrorOf([&] {
    StitchIndex(client_, "web", {amd64.digest, missing}, {}, {"web-latest"});
  });
  EXPECT_NE(message.find("image index for web: child " + missing), std::string::npos) << message;
  EXPECT_NE(message.find("404 Not Found"), std::string::npos) << message;
}

TEST_F(ImageIndexTest, IndexAsAChildIsRefused) {
  const TestImage amd64 = PushTestImage(client_, "web", ParsePlatform("linux/amd64"));
  const auto index = StitchIndex(client_, "web", {amd64.digest}, {}, {"web-latest"});
  const std::string message =
      ErrorOf([&] { StitchIndex(client_, "web", {index.digest}, {}, {"web-nested"}); });
  EXPECT_NE(message.find("child " + index.digest), std::string::npos) << message;
  EXPECT_NE(message.find("not a single-image manifest"), std::string::npos) << message;
}

TEST_F(ImageIndexTest, TwoChildrenOfOnePlatformAreRefused) {
  const Platform amd64 = ParsePlatform("linux/amd64");
  const TestImage a = PushTestImage(client_, "web", amd64, false, "first layer");
  const TestImage b = PushTestImage(client_, "web", amd64, false, "second layer");
  const std::string message = ErrorOf([&] {
    StitchIndex(client_, "web", {a.digest, b.digest}, {}, {"web-latest"});
  });
  EXPECT_NE(message.find(a.digest + " and " + b.digest + " are both linux/amd64"),
            std::string::npos)
      << message;
}

TEST_F(ImageIndexTest, NoTagsStoresTheIndexUnderItsDigest) {
  const TestImage amd64 = PushTestImage(client_, "web", ParsePlatform("linux/amd64"));
  const auto index = StitchIndex(client_, "web", {amd64.digest}, {}, {});
  EXPECT_EQ(client_.GetManifest("web", index.digest).body, index.body);
}

}  // namespace
}  // namespace hephy

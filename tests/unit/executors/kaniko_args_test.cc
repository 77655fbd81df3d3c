#include "executors/kaniko_args.h"

#include <gtest/gtest.h>

namespace hephy {
namespace {

PlatformJobSpec Spec() {
  PlatformJobSpec spec;
  spec.platform = "linux/arm64";
  spec.dockerfile = "deploy/Dockerfile";
  spec.destination = "registry.example:5000/tools/web:web-20261201-abc1234-arm64";
  return spec;
}

TEST(KanikoArgs, SeedFlagsWithDockerfileInsideTheContext) {
  const auto args =
      KanikoArgs(Spec(), {.context = "dir:///workspace", .digest_file = "/dev/termination-log"});
  EXPECT_EQ(args, (std::vector<std::string>{
                      "--context=dir:///workspace",
                      "--dockerfile=/workspace/deploy/Dockerfile",
                      "--destination=registry.example:5000/tools/web:web-20261201-abc1234-arm64",
                      "--customPlatform=linux/arm64",
                      "--cache=false",
                      "--use-new-run",
                      "--cleanup",
                      "--digest-file=/dev/termination-log",
                  }));
}

TEST(KanikoArgs, TargetBuildArgsInsecureRegistryAndCertificate) {
  auto spec = Spec();
  spec.target = "runtime";
  spec.build_args = {"A=1", "HOSTILE=$(touch /tmp/x); --cleanup=false"};
  spec.insecure_registry = true;
  const auto args = KanikoArgs(spec, {.context = "dir:///tmp/job/context",
                                      .digest_file = "/tmp/job/digest",
                                      .registry_certificate = "/tmp/job/ca.crt"});
  const std::vector<std::string> tail(args.begin() + 4, args.end());
  EXPECT_EQ(tail, (std::vector<std::string>{
                      "--target=runtime",
                      "--build-arg",
                      "A=1",
                      "--build-arg",
                      "HOSTILE=$(touch /tmp/x); --cleanup=false",
                      "--cache=false",
                      "--use-new-run",
                      "--cleanup",
                      "--digest-file=/tmp/job/digest",
                      "--insecure-registry=registry.example:5000",
                      "--registry-certificate=registry.example:5000=/tmp/job/ca.crt",
                  }));
  EXPECT_EQ(args[1], "--dockerfile=/tmp/job/context/deploy/Dockerfile");
}

}  // namespace
}  // namespace hephy

#include "build/dockerfile_platforms.h"

#include <gtest/gtest.h>

namespace hephy {
namespace {

using Platforms = std::map<std::string, size_t>;

TEST(DockerfilePlatforms, RunStepsRunOnTheTargetUnlessTheStageSaysOtherwise) {
  EXPECT_EQ(RunPlatforms("FROM scratch\nCOPY . /\nRUN [\"/bin/true\"]\nRUN x\n", "linux/amd64",
                         "linux/arm64"),
            (Platforms{{"linux/arm64", 3}}));
  EXPECT_EQ(RunPlatforms("FROM scratch\nCOPY . /\n", "linux/amd64", "linux/arm64"), Platforms{});
}

TEST(DockerfilePlatforms, ACrossBuildingStageRunsOnTheBuildMachine) {
  const char* dockerfile =
      "FROM --platform=$BUILDPLATFORM golang:1.22 AS build\n"
      "ARG TARGETARCH\n"
      "RUN GOARCH=$TARGETARCH go build -o /app\n"
      "FROM build AS test\n"
      "RUN go test ./...\n"
      "FROM debian:12\n"
      "COPY --from=build /app /app\n";
  // The final stage runs nothing; "test" is needed by nothing, so skipped.
  EXPECT_EQ(RunPlatforms(dockerfile, "linux/amd64", "linux/arm64"),
            (Platforms{{"linux/amd64", 3}}));
  // Built up to "test", which is FROM the build stage and so on its platform.
  EXPECT_EQ(RunPlatforms(dockerfile, "linux/amd64", "linux/arm64", "TEST"),
            (Platforms{{"linux/amd64", 3}}));
  EXPECT_EQ(RunPlatforms("FROM --platform=${BUILDOS}/${TARGETARCH} a AS x\nRUN y\n"
                         "FROM --platform=linux/s390x b\nCOPY --from=0 / /\nRUN z\n",
                         "linux/amd64", "linux/arm64"),
            (Platforms{{"linux/arm64", 2}, {"linux/s390x", 5}}));
}

TEST(DockerfilePlatforms, StagesAreNeededThroughMountsAndIndices) {
  const char* dockerfile =
      "FROM a AS tools\nRUN make\n"
      "FROM --platform=$BUILDPLATFORM b AS gen\nRUN gen\n"
      "FROM c\nRUN --mount=type=bind,from=tools,target=/t ls /t\nCOPY --from=1 /x /x\n";
  EXPECT_EQ(RunPlatforms(dockerfile, "linux/amd64", "linux/arm64"),
            (Platforms{{"linux/amd64", 4}, {"linux/arm64", 2}}));
}

TEST(DockerfilePlatforms, DeclaredArgsOfEveryStage) {
  EXPECT_EQ(DeclaredArgs("ARG BASE=debian\nFROM $BASE\narg TARGETARCH\nARG A=1 B\nRUN x\n"),
            (std::set<std::string>{"A", "B", "BASE", "TARGETARCH"}));
  EXPECT_EQ(DeclaredArgs("FROM --platform=$BUILDPLATFORM a:${TAG:-1} AS b\nRUN $NOT_FROM\n"),
            (std::set<std::string>{"BUILDPLATFORM", "TAG"}));
}

}  // namespace
}  // namespace hephy

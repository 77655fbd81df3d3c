#include "build/unit_order.h"

#include <gtest/gtest.h>

namespace hephy {
namespace {

constexpr const char* kRegistry = "127.0.0.1:5000";
constexpr const char* kRepository = "tools";

std::vector<std::string> Images(const std::vector<FromLine>& froms) {
  std::vector<std::string> images;
  for (const auto& from : froms) images.push_back(from.image);
  return images;
}

std::optional<std::string> UnitOf(std::string_view image, const std::vector<std::string>& units) {
  return UnitOfImage(image, kRegistry, kRepository, units);
}

std::vector<std::string> ProblemsOf(const std::vector<UnitDependencies>& units) {
  std::vector<std::string> problems;
  OrderUnits(units, problems);
  return problems;
}

TEST(UnitOrderFromLines, ReadsImageFlagsAliasAndLine) {
  const auto froms = ParseFromLines(
      "# syntax=docker/dockerfile:1\n"
      "\n"
      "FROM --platform=$BUILDPLATFORM golang:1.22 AS build\n"
      "RUN go build ./...\n"
      "from alpine:3.20\n");
  ASSERT_EQ(froms.size(), 2u);
  EXPECT_EQ(froms[0].line, 3u);
  EXPECT_EQ(froms[0].image, "golang:1.22");
  EXPECT_EQ(froms[0].stage_alias, "build");
  EXPECT_EQ(froms[1].line, 5u);
  EXPECT_EQ(froms[1].image, "alpine:3.20");
  EXPECT_EQ(froms[1].stage_alias, "");
}

TEST(UnitOrderFromLines, KeywordAndAsAreCaseInsensitiveAndLeadingBlanksAllowed) {
  const auto froms = ParseFromLines("  From base:1 as One\n\tfRoM one\n");
  ASSERT_EQ(froms.size(), 2u);
  EXPECT_EQ(froms[0].image, "base:1");
  EXPECT_EQ(froms[0].stage_alias, "One");
  EXPECT_EQ(froms[1].image, "one");
}

TEST(UnitOrderFromLines, MultiStageKeepsEveryStageAndStageReferences) {
  const auto froms = ParseFromLines(
      "FROM 127.0.0.1:5000/tools:base-latest AS base\n"
      "FROM base AS build\n"
      "COPY --from=build /out /out\n"
      "FROM scratch\n");
  EXPECT_EQ(Images(froms),
            (std::vector<std::string>{"127.0.0.1:5000/tools:base-latest", "base", "scratch"}));
}

TEST(UnitOrderFromLines, ContinuationsAreJoinedAndNumberedByTheirFirstLine) {
  const auto froms = ParseFromLines(
      "RUN echo \\\n"
      "  FROM not-an-image\n"
      "FROM \\\n"
      "  # a comment inside the continuation\n"
      "\n"
      "  --platform=linux/arm64 \\  \n"
      "  alpine:3.20 \\\n"
      "  AS final\n");
  ASSERT_EQ(froms.size(), 1u);
  EXPECT_EQ(froms[0].line, 3u);
  EXPECT_EQ(froms[0].image, "alpine:3.20");
  EXPECT_EQ(froms[0].stage_alias, "final");
}

TEST(UnitOrderFromLines, CommentsAndCommentedFromsAreSkipped) {
  EXPECT_EQ(Images(ParseFromLines("# FROM old:1\n  #FROM older:1\nFROM new:1 # not a comment\n")),
            std::vector<std::string>{"new:1"});
}

TEST(UnitOrderFromLines, CrlfLinesReadLikeLfLines) {
  const auto froms = ParseFromLines("FROM a:1 AS x\r\nFROM \\\r\n  b:2\r\n");
  ASSERT_EQ(froms.size(), 2u);
  EXPECT_EQ(froms[0].stage_alias, "x");
  EXPECT_EQ(froms[1].image, "b:2");
  EXPECT_EQ(froms[1].line, 2u);
}

TEST(UnitOrderFromLines, ArgImagesAreReturnedAsWritten) {
  EXPECT_EQ(Images(ParseFromLines("ARG BASE=alpine\nFROM ${BASE}:3.20\nFROM $REG/tools:x\n")),
            (std::vector<std::string>{"${BASE}:3.20", "$REG/tools:x"}));
}

TEST(UnitOrderFromLines, EscapeDirectiveChangesTheContinuationCharacter) {
  const auto froms = ParseFromLines(
      "# escape=`\n"
      "FROM `\n"
      "  alpine AS a\n"
      "FROM c:\\\n"
      "FROM d\n");
  EXPECT_EQ(Images(froms), (std::vector<std::string>{"alpine", "c:\\", "d"}));
}

TEST(UnitOrderFromLines, DirectivesOnlyCountAtTheTop) {
  // After an instruction "# escape=`" is a comment, so '\' still continues.
  EXPECT_EQ(Images(ParseFromLines("FROM a\n# escape=`\nFROM \\\n b\n")),
            (std::vector<std::string>{"a", "b"}));
}

TEST(UnitOrderFromLines, HeredocBodiesAreNotInstructions) {
  const auto froms = ParseFromLines(
      "FROM a\n"
      "COPY <<EOF /inner/Dockerfile\n"
      "FROM inner\n"
      "EOF\n"
      "RUN <<-'END' cat\n"
      "\tFROM also-inner\n"
      "\tEND\n"
      "RUN echo $((1<<2))\n"
      "FROM b\n");
  EXPECT_EQ(Images(froms), (std::vector<std::string>{"a", "b"}));
}

TEST(UnitOrderFromLines, FromWithoutImageIsLeftOut) {
  EXPECT_TRUE(ParseFromLines("FROM\nFROM --platform=x\nFROMAGE x\n").empty());
}

TEST(UnitOrderUnitOfImage, TagPrefixNamesTheUnit) {
  const std::vector<std::string> units = {"base", "web"};
  EXPECT_EQ(UnitOf("127.0.0.1:5000/tools:base-latest", units), "base");
  EXPECT_EQ(UnitOf("127.0.0.1:5000/tools:web-20261125-a1b2c3d", units), "web");
  EXPECT_EQ(UnitOf("127.0.0.1:5000/tools:base-v1.2", units), "base");
}

TEST(UnitOrderUnitOfImage, LongestUnitNameWins) {
  const std::vector<std::string> units = {"kaniko", "kaniko-debug", "kaniko-d"};
  EXPECT_EQ(UnitOf("127.0.0.1:5000/tools:kaniko-debug-latest", units), "kaniko-debug");
  EXPECT_EQ(UnitOf("127.0.0.1:5000/tools:kaniko-latest", units), "kaniko");
}

TEST(UnitOrderUnitOfImage, OtherRegistryOrRepositoryIsNoUnit) {
  const std::vector<std::string> units = {"base"};
  EXPECT_EQ(UnitOf("registry.example.com/tools:base-latest", units), std::nullopt);
  EXPECT_EQ(UnitOf("127.0.0.1:5001/tools:base-latest", units), std::nullopt);
  EXPECT_EQ(UnitOf("127.0.0.1:5000/other:base-latest", units), std::nullopt);
  EXPECT_EQ(UnitOf("127.0.0.1:5000/tools-x:base-latest", units), std::nullopt);
  EXPECT_EQ(UnitOf("127.0.0.1:5000/team/tools:base-latest", units), std::nullopt);
  EXPECT_EQ(UnitOf("base-latest", units), std::nullopt);
  EXPECT_EQ(UnitOfImage("LOCALHOST:5000/team/web:base-latest", "localhost:5000", "team/web", units),
            "base");
}

TEST(UnitOrderUnitOfImage, DigestsAndMissingTagsNameNoUnit) {
  const std::vector<std::string> units = {"base"};
  const std::string digest = "@sha256:" + std::string(64, 'a');
  EXPECT_EQ(UnitOf("127.0.0.1:5000/tools" + digest, units), std::nullopt);
  EXPECT_EQ(UnitOf("127.0.0.1:5000/tools:base-latest" + digest, units), std::nullopt);
  EXPECT_EQ(UnitOf("127.0.0.1:5000/tools", units), std::nullopt);
  EXPECT_EQ(UnitOf("127.0.0.1:5000/tools:", units), std::nullopt);
}

TEST(UnitOrderUnitOfImage, TagMustGoOnAfterTheUnitName) {
  const std::vector<std::string> units = {"base"};
  EXPECT_EQ(UnitOf("127.0.0.1:5000/tools:base", units), std::nullopt);
  EXPECT_EQ(UnitOf("127.0.0.1:5000/tools:base-", units), std::nullopt);
  EXPECT_EQ(UnitOf("127.0.0.1:5000/tools:baseline-latest", units), std::nullopt);
}

TEST(UnitOrderUnitsInDockerfile, EachUnitOnceInOrderOfFirstFrom) {
  const std::vector<std::string> units = {"base", "tools-web", "go"};
  EXPECT_EQ(UnitsInDockerfile("FROM 127.0.0.1:5000/tools:go-latest AS build\n"
                              "FROM build\n"
                              "FROM 127.0.0.1:5000/tools:base-latest\n"
                              "FROM 127.0.0.1:5000/tools:go-v1\n"
                              "FROM alpine\n",
                              kRegistry, kRepository, units),
            (std::vector<std::string>{"go", "base"}));
}

TEST(UnitOrderOrderUnits, ChainIsBuiltDependenciesFirst) {
  std::vector<std::string> problems;
  EXPECT_EQ(OrderUnits({{"web", {"tools"}}, {"tools", {"base"}}, {"base", {}}}, problems),
            (std::vector<std::string>{"base", "tools", "web"}));
  EXPECT_TRUE(problems.empty());
}

TEST(UnitOrderOrderUnits, DiamondPutsTheSharedBaseFirstAndTheJoinLast) {
  std::vector<std::string> problems;
  EXPECT_EQ(OrderUnits(
                {{"app", {"left", "right"}}, {"right", {"base"}}, {"left", {"base"}}, {"base", {}}},
                problems),
            (std::vector<std::string>{"base", "right", "left", "app"}));
  EXPECT_TRUE(problems.empty());
}

TEST(UnitOrderOrderUnits, UnrelatedUnitsKeepTheirInputOrder) {
  std::vector<std::string> problems;
  EXPECT_EQ(OrderUnits({{"c", {}}, {"a", {}}, {"b", {}}}, problems),
            (std::vector<std::string>{"c", "a", "b"}));
  EXPECT_EQ(OrderUnits({{"z", {"y"}}, {"a", {}}, {"y", {}}}, problems),
            (std::vector<std::string>{"a", "y", "z"}));
  EXPECT_EQ(OrderUnits({{"y", {}}, {"z", {"y"}}, {"a", {}}}, problems),
            (std::vector<std::string>{"y", "z", "a"}));
  EXPECT_TRUE(problems.empty());
}

TEST(UnitOrderOrderUnits, DuplicateDependenciesCountOnce) {
  std::vector<std::string> problems;
  EXPECT_EQ(OrderUnits({{"web", {"base", "base"}}, {"base", {}}}, problems),
            (std::vector<std::string>{"base", "web"}));
  EXPECT_TRUE(problems.empty());
}

TEST(UnitOrderOrderUnits, MissingDependencyNamesTheUnitsThereAre) {
  std::vector<std::string> problems;
  EXPECT_EQ(OrderUnits({{"web", {"bsae", "base"}}, {"base", {}}, {"api", {"nope"}}}, problems),
            (std::vector<std::string>{"base", "web", "api"}));
  EXPECT_EQ(problems,
            (std::vector<std::string>{
                "unit 'web' depends on 'bsae', which is not a unit of this repository (units: "
                "api, base, web)",
                "unit 'api' depends on 'nope', which is not a unit of this repository (units: "
                "api, base, web)"}));
}

TEST(UnitOrderOrderUnits, SelfDependencyIsAProblem) {
  EXPECT_EQ(ProblemsOf({{"a", {"a"}}, {"b", {}}}),
            std::vector<std::string>{"unit 'a' depends on itself"});
}

TEST(UnitOrderOrderUnits, CycleIsNamedInDependencyOrder) {
  std::vector<std::string> problems;
  const auto order = OrderUnits({{"a", {"b"}}, {"b", {"c"}}, {"c", {"a"}}, {"d", {}}}, problems);
  EXPECT_EQ(problems,
            std::vector<std::string>{"units depend on each other in a cycle: a -> b -> c -> a"});
  EXPECT_EQ(order, std::vector<std::string>{"d"});
}

TEST(UnitOrderOrderUnits, TwoSeparateCyclesAreEachNamed) {
  std::vector<std::string> problems;
  const auto order = OrderUnits({{"a", {"b"}},
                                 {"b", {"a"}},
                                 {"behind", {"a"}},
                                 {"x", {"y"}},
                                 {"y", {"z"}},
                                 {"z", {"x"}},
                                 {"ok", {}}},
                                problems);
  EXPECT_EQ(problems,
            (std::vector<std::string>{"units depend on each other in a cycle: a -> b -> a",
                                      "units depend on each other in a cycle: x -> y -> z -> x"}));
  EXPECT_EQ(order, std::vector<std::string>{"ok"});
}

TEST(UnitOrderOrderUnits, EveryUnitOfATangleIsNamed) {
  // a <-> b and b <-> c: one knot, two cycles.
  EXPECT_EQ(ProblemsOf({{"a", {"b"}}, {"b", {"a", "c"}}, {"c", {"b"}}}),
            (std::vector<std::string>{"units depend on each other in a cycle: a -> b -> a",
                                      "units depend on each other in a cycle: c -> b -> c"}));
}

TEST(UnitOrderOrderUnits, AllProblemsAreCollected) {
  EXPECT_EQ(ProblemsOf({{"a", {"a", "b", "gone"}}, {"b", {"a"}}}),
            (std::vector<std::string>{
                "unit 'a' depends on itself",
                "unit 'a' depends on 'gone', which is not a unit of this repository (units: a, b)",
                "units depend on each other in a cycle: a -> b -> a"}));
}

TEST(UnitOrderWaitsFor, SelectedUnitsWaitForSelectedDependenciesOnly) {
  const std::vector<UnitDependencies> units = {
      {"base", {}}, {"tools", {"base"}}, {"web", {"tools", "base"}}, {"api", {"base"}}};
  const auto waits = WaitsFor(units, {"web", "base", "api"});
  const std::map<std::string, std::vector<std::string>> expected = {
      {"base", {}}, {"web", {"base"}}, {"api", {"base"}}};
  EXPECT_EQ(waits, expected);
}

TEST(UnitOrderWaitsFor, DependencyNotBuiltThisPushIsNotWaitedFor) {
  // web -> tools -> base, only web and base built: web pulls tools as it is.
  const std::vector<UnitDependencies> units = {
      {"base", {}}, {"tools", {"base"}}, {"web", {"tools"}}};
  const auto waits = WaitsFor(units, {"web", "base"});
  EXPECT_TRUE(waits.at("web").empty());
  EXPECT_TRUE(waits.at("base").empty());
}

TEST(UnitOrderWaitsFor, WaitsAreListedInUnitOrder) {
  const std::vector<UnitDependencies> units = {{"a", {}}, {"b", {}}, {"c", {"b", "a", "c"}}};
  EXPECT_EQ(WaitsFor(units, {"a", "b", "c"}).at("c"), (std::vector<std::string>{"a", "b"}));
}

TEST(UnitOrderPinFromImages, OnlyMatchingFromsChange) {
  const std::string dockerfile =
      "# syntax=docker/dockerfile:1\n"
      "FROM --platform=$BUILDPLATFORM 127.0.0.1:5000/tools:base-latest AS build  # pinned\n"
      "RUN echo 127.0.0.1:5000/tools:base-latest\n"
      "FROM 127.0.0.1:5000/tools:go-latest\n"
      "# FROM 127.0.0.1:5000/tools:base-latest\n"
      "from   127.0.0.1:5000/tools:base-latest\n";
  const std::string pinned = PinFromImages(
      dockerfile, {{"127.0.0.1:5000/tools:base-latest", "127.0.0.1:5000/tools@sha256:abc"}});
  EXPECT_EQ(pinned,
            "# syntax=docker/dockerfile:1\n"
            "FROM --platform=$BUILDPLATFORM 127.0.0.1:5000/tools@sha256:abc AS build  # pinned\n"
            "RUN echo 127.0.0.1:5000/tools:base-latest\n"
            "FROM 127.0.0.1:5000/tools:go-latest\n"
            "# FROM 127.0.0.1:5000/tools:base-latest\n"
            "from   127.0.0.1:5000/tools@sha256:abc\n");
}

TEST(UnitOrderPinFromImages, CrlfAndContinuationLinesAreKept) {
  const std::string dockerfile =
      "FROM \\\r\n"
      "  r/t:base-1 \\\r\n"
      "  AS b\r\n"
      "FROM r/t:base-1\r\n"
      "FROM r/t:base-10\r\n";
  EXPECT_EQ(PinFromImages(dockerfile, {{"r/t:base-1", "r/t@sha256:1"}}),
            "FROM \\\r\n"
            "  r/t@sha256:1 \\\r\n"
            "  AS b\r\n"
            "FROM r/t@sha256:1\r\n"
            "FROM r/t:base-10\r\n");
}

TEST(UnitOrderPinFromImages, NothingPinnedLeavesTheTextAlone) {
  const std::string dockerfile = "FROM a\r\n\r\n# c\nRUN x \\\n y\nFROM b";
  EXPECT_EQ(PinFromImages(dockerfile, {}), dockerfile);
  EXPECT_EQ(PinFromImages(dockerfile, {{"b", "b@sha256:2"}}),
            "FROM a\r\n\r\n# c\nRUN x \\\n y\nFROM b@sha256:2");
}

}  // namespace
}  // namespace hephy

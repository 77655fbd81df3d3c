#include "executors/buildah_output.h"

#include <gtest/gtest.h>

namespace hephy {
namespace {

constexpr char kCached[] =
    "--> Using cache 5e94233af8251e77055123cbee9bb8da6f4650c84a807ee91cba08d923720378";

TEST(BuildahOutput, CountsStepsAndTheImagesTheCachedOnesReused) {
  BuildahOutput output({});
  for (const char* line :
       {"[1/2] STEP 1/2: FROM 127.0.0.1:5000/base:1 AS b", "[1/2] STEP 2/2: RUN make", kCached,
        "--> 5e94233af82", "[2/2] STEP 1/3: FROM scratch",
        "[2/2] STEP 2/3: COPY --from=b /out /out", "[2/2] STEP 3/3: COPY app.txt /app.txt",
        "STEP is not a step", "[2/2] COMMIT"}) {
    EXPECT_EQ(output.Read(line), line);
  }
  EXPECT_EQ(output.steps(), 3);
  EXPECT_EQ(output.cached_steps(), 1);
  EXPECT_EQ(output.cached_images(),
            (std::set<std::string>{"5e94233af8251e77055123cbee9bb8da6f4650c84a807ee91cba08d"
                                   "923720378"}));
  EXPECT_FALSE(output.storage_damaged());
}

TEST(BuildahOutput, DropsTheUnconsumedWarningAboutArgsBuildahAddedItself) {
  BuildahOutput output({"SOURCE_DATE_EPOCH=1", "TARGETARCH=arm"});
  // --platform makes buildah add these to every build.
  EXPECT_EQ(
      output.Read("[Warning] one or more build args were not consumed: [TARGETOS TARGETPLATFORM]"),
      std::nullopt);
  // What the build-config.yaml (or hephyd) passed is still said.
  EXPECT_EQ(output.Read("[Warning] one or more build args were not consumed: [BAR TARGETARCH "
                        "TARGETOS TARGETPLATFORM TARGETVARIANT]"),
            "[Warning] one or more build args were not consumed: [BAR TARGETARCH]");
}

TEST(BuildahOutput, NoticesAStorageThatLostWhatItLists) {
  BuildahOutput output({});
  output.Read("STEP 2/3: RUN make");
  EXPECT_FALSE(output.storage_damaged());
  output.Read("Error: creating build container: locating layer with ID \"6418\": layer not known");
  EXPECT_TRUE(output.storage_damaged());
}

}  // namespace
}  // namespace hephy

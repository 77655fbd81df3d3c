// The web page's HTML: hostile strings come out as text, no inline script
// or style, the failing step marked, and the build page's weight.
#include "web/web_pages.h"

#include <gtest/gtest.h>

#include <regex>

#include "web/web_assets.h"

namespace hephy {
namespace {

const std::string kHostile = "<script>alert('x')</script>\"><img src=x onerror=alert(1)>";

Build HostileBuild() {
  Build build;
  build.id = 7;
  build.app = "web";
  build.unit = kHostile;
  build.ref = "refs/heads/main";
  build.new_sha = "0123456789abcdef0123456789abcdef01234567";
  build.pusher = kHostile;
  build.triggered_by = "push";
  build.status = "failed";
  build.error = kHostile;
  build.created_at = "2026-12-05 04:00:00";
  build.started_at = "2026-12-05 04:00:01";
  build.finished_at = "2026-12-05 04:01:10";
  for (const std::string platform : {"linux/amd64", "linux/arm64"}) {
    BuildJob job;
    job.platform = platform;
    job.status = platform == "linux/arm64" ? "failed" : "cancelled";
    job.started_at = "2026-12-05 04:00:02";
    job.finished_at = platform == "linux/arm64" ? "2026-12-05 04:01:09" : "2026-12-05 04:00:30";
    build.jobs.push_back(job);
  }
  return build;
}

BuildView HostileView() {
  BuildView view;
  view.build = HostileBuild();
  view.commit = CommitSummary{kHostile, kHostile};
  view.image = "127.0.0.1:5000/web";
  view.can_write = true;
  view.csrf = std::string(64, 'c');
  for (const auto& job : view.build.jobs) {
    JobLogView log{job.platform, {}, 0, std::nullopt};
    for (int i = 0; i < 100; ++i) log.lines.push_back("STEP 1/2: FROM scratch " + kHostile);
    log.lines.push_back("STEP 2/2: RUN false");
    log.lines.push_back("error building at STEP \"RUN false\": exit status 1");
    if (job.status == "failed") log.failed_step = FailingStep(log.lines);
    view.logs.push_back(std::move(log));
  }
  return view;
}

// Markup that a Content-Security-Policy without 'unsafe-inline' would
// block, or that a hostile string would have smuggled in.
void ExpectSafe(const std::string& html) {
  EXPECT_EQ(html.find("<script>"), std::string::npos);
  EXPECT_EQ(html.find("<img"), std::string::npos);
  EXPECT_EQ(html.find(" style="), std::string::npos);
  EXPECT_EQ(html.find("<style"), std::string::npos);
  // The only script element is the embedded one, loaded by URL.
  const std::regex script("<script[^>]*>");
  for (auto it = std::sregex_iterator(html.begin(), html.end(), script);
       it != std::sregex_iterator(); ++it) {
    EXPECT_EQ(it->str(), "<script src=\"" + AssetPath("app.js") + "\" defer>");
  }
}

TEST(WebPagesTest, HostileStringsComeOutAsText) {
  const auto now = std::chrono::system_clock::now();
  const std::string build =
      RenderPage({"t", "build", kHostile, "c"}, RenderBuild(HostileView(), now));
  ExpectSafe(build);
  EXPECT_NE(build.find("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"), std::string::npos);
  const std::string builds = RenderBuilds("web", {HostileBuild()}, "", now);
  ExpectSafe(builds);
  AppSummary app{{1, "web", "alice", "2026-12-05 04:00:00"}, HostileBuild(), std::nullopt, "r/web"};
  ExpectSafe(RenderApps({app}, now));
  ExpectSafe(RenderSignIn(kHostile, kHostile));
  ExpectSafe(RenderMessage(kHostile, kHostile));
}

TEST(WebPagesTest, MarksTheStepTheFailedPlatformFailedIn) {
  const std::string html = RenderBuild(HostileView(), std::chrono::system_clock::now());
  EXPECT_NE(html.find("<span class=\"line failed-step\" id=\"failed-step-linux-arm64\">STEP "
                      "2/2: RUN false\n</span>"),
            std::string::npos)
      << html;
  // The cancelled platform did not fail: nothing is marked in it.
  EXPECT_EQ(html.find("failed-step-linux-amd64"), std::string::npos);
  EXPECT_EQ(FailingStep({"a", "b"}), std::nullopt);
  EXPECT_EQ(FailingStep({"STEP 1/3: FROM x", "y", "STEP 2/3: RUN z", "boom"}), 2u);
}

TEST(WebPagesTest, WriteAccessBringsRebuildAndCancelFormsWithTheCsrfToken) {
  BuildView view = HostileView();
  view.build.status = "running";
  std::string html = RenderBuild(view, std::chrono::system_clock::now());
  EXPECT_NE(html.find("action=\"/apps/web/builds/7/rebuild\" id=\"rebuild\"><input "
                      "type=\"hidden\" name=\"csrf\" value=\"" +
                      view.csrf + "\">"),
            std::string::npos)
      << html;
  EXPECT_NE(html.find("id=\"cancel\""), std::string::npos);
  EXPECT_NE(html.find("data-events=\"/apps/web/builds/7/events\""), std::string::npos);
  view.can_write = false;
  html = RenderBuild(view, std::chrono::system_clock::now());
  EXPECT_EQ(html.find("id=\"rebuild\""), std::string::npos);
  EXPECT_EQ(html.find(view.csrf), std::string::npos);
}

TEST(WebPagesTest, TheBuildPageWeighsUnder50KiBWithItsAssets) {
  // Two platforms with a hundred lines each, as a typical build has.
  size_t weight = RenderPage({"Build #7", "build", "alice", std::string(64, 'c')},
                             RenderBuild(HostileView(), std::chrono::system_clock::now()))
                      .size();
  for (const WebAsset& asset : WebAssets()) weight += asset.bytes.size();
  EXPECT_LT(weight, 50u * 1024) << weight;
  std::cout << "build page with assets: " << weight << " bytes\n";
}

TEST(WebPagesTest, DurationsReadAsPeopleSayThem) {
  const auto now = *ParseStoreTime("2026-12-05 05:00:00");
  EXPECT_EQ(DurationText("2026-12-05 04:59:56", "2026-12-05 05:00:00", now), "4s");
  EXPECT_EQ(DurationText("2026-12-05 04:57:55", "", now), "2m 05s");
  EXPECT_EQ(DurationText("2026-12-05 03:58:00", "2026-12-05 05:00:00", now), "1h 02m");
  EXPECT_EQ(DurationText("", "", now), "");
}

}  // namespace
}  // namespace hephy

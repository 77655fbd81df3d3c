#include "build/dockerfile_fetches.h"

#include <gtest/gtest.h>

namespace hephy {
namespace {

std::vector<std::string> Described(std::string_view dockerfile,
                                   const std::vector<std::string>& build_args = {}) {
  std::vector<std::string> out;
  for (const auto& fetch : DockerfileFetches(dockerfile, build_args)) {
    out.push_back(std::to_string(fetch.line) + " " + fetch.what + " [" + fetch.authority + "|" +
                  fetch.host + "]");
  }
  return out;
}

TEST(DockerfileFetches, FindsImagesOnRegistriesAndTheUrlsAddDownloads) {
  EXPECT_EQ(Described("FROM debian:12 AS base\n"
                      "FROM --platform=$BUILDPLATFORM 127.0.0.1:5000/app:web-latest\n"
                      "COPY --from=base /a /a\n"
                      "COPY --from=localhost/tools:1 /b /b\n"
                      "RUN --mount=type=bind,from=[::1]:5000/x:y,target=/m true\n"
                      "ADD --chmod=644 https://example.com/a.tgz http://10.0.0.5/b /dst/\n"
                      "ADD [\"http://user:pw@169.254.169.254/latest\", \"/m\"]\n"
                      "ADD local.txt /local.txt\n"
                      "FROM scratch\n"),
            (std::vector<std::string>{
                "2 FROM 127.0.0.1:5000/app:web-latest [127.0.0.1:5000|127.0.0.1]",
                "4 COPY --from localhost/tools:1 [localhost|localhost]",
                "5 RUN --mount from [::1]:5000/x:y [[::1]:5000|::1]",
                "6 ADD https://example.com/a.tgz [example.com|example.com]",
                "6 ADD http://10.0.0.5/b [10.0.0.5|10.0.0.5]",
                "7 ADD http://user:pw@169.254.169.254/latest [169.254.169.254|169.254.169.254]",
            }));
}

TEST(DockerfileFetches, ExpandsArgEnvAndBuildArgsAsDockerDoes) {
  EXPECT_EQ(Described("ARG HOST=127.0.0.1:8080\n"
                      "ARG MIRROR\n"
                      "FROM scratch\n"
                      "ENV PORT 9000\n"
                      "ADD http://${HOST}/a http://$HOST/b /\n"
                      "ADD http://localhost:$PORT/c /\n"
                      "ADD http://${MIRROR:-127.0.0.2}/d http://${UNSET}/e /\n"
                      "ADD http://x\\$y/f /\n",
                      {"MIRROR=", "OTHER=1"}),
            (std::vector<std::string>{
                "5 ADD http://127.0.0.1:8080/a [127.0.0.1:8080|127.0.0.1]",
                "5 ADD http://127.0.0.1:8080/b [127.0.0.1:8080|127.0.0.1]",
                "6 ADD http://localhost:9000/c [localhost:9000|localhost]",
                "7 ADD http://127.0.0.2/d [127.0.0.2|127.0.0.2]",
                "7 ADD http:///e [|]",
                "8 ADD http://x$y/f [x$y|x$y]",
            }));
  // A build argument wins over the ARG's default.
  EXPECT_EQ(Described("ARG HOST=example.com\nADD https://$HOST/x /\n", {"HOST=127.0.0.1"}),
            (std::vector<std::string>{"2 ADD https://127.0.0.1/x [127.0.0.1|127.0.0.1]"}));
}

TEST(DockerfileFetches, ReadsContinuationsAndSkipsHeredocsAndComments) {
  EXPECT_EQ(Described("# escape=`\n"
                      "FROM scratch\n"
                      "ADD `\n"
                      "  # a comment inside\n"
                      "  HTTP://LOCALHOST:1/x /x\n"
                      "RUN <<EOF\n"
                      "ADD http://127.0.0.1/not-an-instruction /\n"
                      "EOF\n"),
            (std::vector<std::string>{"3 ADD HTTP://LOCALHOST:1/x [LOCALHOST:1|LOCALHOST]"}));
}

}  // namespace
}  // namespace hephy

// How a build's output looks to the person who asked for it: ANSI colours
// for each platform's prefix and for how a build ended, the line that says
// first which platform failed and in which step, and the summary that ends a
// successful build (where the image is and how to pull it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hephy/config.h"

namespace hephy {

// Whether output is coloured: the pusher's -o color= when given, else
// push.color. kAuto colours when the output reaches a terminal:
// `reaches_terminal` is true for a push (git's "remote:" relays colours to
// the pusher's terminal, and git tells a server nothing about it), and
// isatty for a command on the host.
bool UsesColor(ColorMode configured, std::optional<ColorMode> asked, bool reaches_terminal);

// Paints text with ANSI SGR codes, or leaves it as it is. Platforms get
// colours in the order of their jobs (cyan, magenta, yellow, blue, then the
// bright ones, then round again); green and red are kept for success and
// failure.
class Palette {
 public:
  explicit Palette(bool color) : color_(color) {}

  bool color() const { return color_; }
  // "[linux/amd64]" in the colour of the build's `index`th platform.
  std::string Platform(const std::string& platform, size_t index) const;
  std::string Good(const std::string& text) const;  // green
  std::string Bad(const std::string& text) const;   // red
  std::string Bold(const std::string& text) const;

 private:
  std::string Paint(const char* code, const std::string& text) const;
  bool color_;
};

// The step a line of build output starts, as the pusher should see it
// named: buildah's "STEP 2/5: RUN make" (or "[1/2] STEP 2/5: RUN make" in a
// multi-stage build), Kaniko's "INFO[0003] RUN make" as "RUN make"; nullopt
// for any other line. At most 100 characters, longer ones cut with "...".
std::optional<std::string> StepOf(std::string_view line);

// The first thing said about a failed platform job, before its last lines:
// "hephy: web [linux/arm64] failed after 3.1s, in STEP 2/2: RUN make (buildah
// build exited with status 1)"; without a step (the job failed before its
// first), ", in ..." is left out. `unit_prefix` is "web " when the run builds
// several units, else "".
std::string FailureLine(const Palette& palette, const std::string& unit_prefix,
                        const std::string& platform, size_t platform_index,
                        const std::string& elapsed, const std::optional<std::string>& step,
                        const std::string& error);

// One unit built and tagged, for the summary.
struct BuiltImage {
  std::string app;
  std::string unit;
  int64_t build_id = 0;
  std::string repository;         // "registry.example.com/web", where its tags are
  std::string digest;             // of the index
  std::vector<std::string> tags;  // the default tag first
  bool insecure = false;          // plain HTTP (registry.insecure): podman is told
};

// The block that ends a successful push, one line each, every line starting
// "hephy: ":
//   hephy: web built (build 3)
//   hephy:   image  127.0.0.1:5000/web@sha256:...
//   hephy:   tags   web-20251014-a1b2c3d, web-latest
//   hephy:   pull   podman pull 127.0.0.1:5000/web:web-20251014-a1b2c3d
//   hephy:          docker pull 127.0.0.1:5000/web:web-20251014-a1b2c3d
//   hephy:   page   https://builds.example.com/apps/web/builds/3
// The page line only with `public_url` (http.public_url, without a trailing
// '/'); a unit with no tag has no pull lines. podman pulls from an insecure
// registry with --tls-verify=false (docker needs its daemon told instead).
std::vector<std::string> SummaryLines(const Palette& palette, const std::vector<BuiltImage>& images,
                                      const std::string& public_url);

// PUBLIC_URL/apps/APP/builds/N, the build's page on hephyd's web page.
std::string BuildPageUrl(const std::string& public_url, const std::string& app, int64_t build_id);

}  // namespace hephy

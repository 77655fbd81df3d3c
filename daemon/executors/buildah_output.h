// What hephyd reads in `buildah build`'s output as it streams by: the steps
// and which of them came from the layer cache ("--> Using cache ID"), signs
// of a damaged storage, and buildah's own "build args were not consumed"
// warning, which names the platform arguments it adds to every build
// itself.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace hephy {

class BuildahOutput {
 public:
  // `build_args`: the "KEY=value" build args hephyd gave buildah.
  explicit BuildahOutput(const std::vector<std::string>& build_args);

  // Takes one line; returns it as the pusher should see it, or nullopt when
  // it says nothing about this build: the unconsumed-args warning loses the
  // platform arguments buildah added (and is dropped when nothing else is
  // left in it).
  std::optional<std::string> Read(std::string_view line);

  int steps() const { return steps_; }  // steps run or reused, FROM lines aside
  int cached_steps() const { return static_cast<int>(cached_images_.size()); }
  // The IDs (hex, without "sha256:") of the images the cached steps reused.
  const std::set<std::string>& cached_images() const { return cached_images_; }
  // A line said the storage lost a layer or an image it lists.
  bool storage_damaged() const { return storage_damaged_; }

 private:
  std::set<std::string, std::less<>> passed_;  // the names of the build args
  int steps_ = 0;
  std::set<std::string> cached_images_;
  bool storage_damaged_ = false;
};

}  // namespace hephy

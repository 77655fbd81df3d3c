// An OCI image layout on disk and `skopeo copy` pushing its image: a real
// client's pushes, for tests of the stand-ins that registries are to it.
#pragma once

#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "hephy/registry_client.h"
#include "util/process.h"

namespace hephy {

// An OCI image layout holding one tiny image tagged "latest": a real
// gzipped tar, as skopeo inspects layers.
inline std::filesystem::path WriteOciLayout(const std::filesystem::path& dir) {
  const auto content = dir / "content", layout = dir / "layout";
  std::filesystem::create_directories(content);
  std::filesystem::create_directories(layout / "blobs" / "sha256");
  std::ofstream(content / "hello.txt") << "hello from a test image\n";
  const auto tarball = dir / "layer.tar.gz";
  const RunResult tar =
      Run({.argv = {"tar", "-czf", tarball.string(), "-C", content.string(), "hello.txt"}});
  if (tar.exit_code != 0) throw std::runtime_error("tar failed: " + tar.err);
  const RunResult tar_bytes = Run({.argv = {"gzip", "-dc", tarball.string()}});
  std::ifstream in(tarball, std::ios::binary);
  const std::string layer(std::istreambuf_iterator<char>(in), {});

  const auto put = [&](const std::string& bytes) {
    const std::string digest = Sha256Digest(bytes);
    std::ofstream(layout / "blobs" / "sha256" / digest.substr(7), std::ios::binary) << bytes;
    return digest;
  };
  const std::string config =
      nlohmann::json{{"architecture", "amd64"},
                     {"os", "linux"},
                     {"rootfs", {{"type", "layers"}, {"diff_ids", {Sha256Digest(tar_bytes.out)}}}}}
          .dump();
  const std::string manifest = nlohmann::json{
      {"schemaVersion", 2},
      {"mediaType", kOciManifest},
      {"config",
       {{"mediaType", "application/vnd.oci.image.config.v1+json"},
        {"digest", put(config)},
        {"size", config.size()}}},
      {"layers",
       {{{"mediaType", "application/vnd.oci.image.layer.v1.tar+gzip"},
         {"digest", put(layer)},
         {"size", layer.size()}}}}}.dump();
  const nlohmann::json index = {
      {"schemaVersion", 2},
      {"manifests",
       {{{"mediaType", kOciManifest},
         {"digest", put(manifest)},
         {"size", manifest.size()},
         {"annotations", {{"org.opencontainers.image.ref.name", "latest"}}}}}}};
  std::ofstream(layout / "index.json") << index.dump();
  std::ofstream(layout / "oci-layout") << R"({"imageLayoutVersion":"1.0.0"})";
  return layout;
}

// `skopeo copy` of the layout's image to docker://DESTINATION, accepting any
// image (no system policy read) with `extra` options.
inline RunResult SkopeoCopy(const std::filesystem::path& dir, const std::filesystem::path& layout,
                            const std::string& destination, std::vector<std::string> extra) {
  const auto policy = dir / "policy.json";
  std::ofstream(policy) << R"({"default":[{"type":"insecureAcceptAnything"}]})";
  std::vector<std::string> argv = {"skopeo", "--policy",      policy.string(),
                                   "copy",   "--retry-times", "0"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  argv.push_back("oci:" + layout.string() + ":latest");
  argv.push_back("docker://" + destination);
  return Run({.argv = argv}, "", std::chrono::seconds(120));
}

}  // namespace hephy

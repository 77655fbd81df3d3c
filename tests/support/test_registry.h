// A real docker-registry for tests: hephyd's EmbeddedRegistry on a free
// loopback port, its storage in a temporary directory, stopped and removed at
// the end. Needs the daemon/ include directory and hephy_core.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>

#include "hephy/error.h"
#include "hephy/registry_client.h"
#include "registry/embedded_registry.h"
#include "registry/image_index.h"
#include "test_ca.h"
#include "test_dir.h"

namespace hephy {

// A loopback port nothing is bound to at the moment of the call. Another
// process may take it before the caller binds it, so callers retry.
inline uint16_t FreeLoopbackPort() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  const bool ok = fd >= 0 && bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
                  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0;
  if (fd >= 0) close(fd);
  if (!ok) throw std::runtime_error("no free loopback port");
  return ntohs(address.sin_port);
}

class TestRegistry {
 public:
  // With `tls`, the registry serves HTTPS with that certificate; with `auth`,
  // it asks clients to authenticate.
  explicit TestRegistry(const std::optional<EmbeddedRegistry::Tls>& tls = std::nullopt,
                        const std::optional<EmbeddedRegistry::Auth>& auth = std::nullopt) {
    for (int attempt = 1;; ++attempt) {
      url_ = "127.0.0.1:" + std::to_string(FreeLoopbackPort());
      try {
        registry_ = std::make_unique<EmbeddedRegistry>(url_, dir_.path(), tls, auth);
        return;
      } catch (const Error& e) {
        // Someone bound the port between FreeLoopbackPort and docker-registry.
        if (attempt == 5 || std::string(e.what()).find("already in use") == std::string::npos) {
          throw;
        }
      }
    }
  }
  TestRegistry(const TestRegistry&) = delete;
  TestRegistry& operator=(const TestRegistry&) = delete;

  // "127.0.0.1:PORT", still valid after Stop().
  std::string url() const { return url_; }
  const std::filesystem::path& dir() const { return dir_.path(); }
  // The running registry, for tests of the supervisor itself.
  EmbeddedRegistry& process() { return *registry_; }
  // Stops the registry (and waits for it) before the end of the test.
  void Stop() { registry_.reset(); }

 private:
  TestDir dir_;  // declared first: removed after the registry stopped
  std::string url_;
  std::unique_ptr<EmbeddedRegistry> registry_;
};

// A TestRegistry over HTTPS on 127.0.0.1, its certificate signed by a CA
// the test made (trusted by clients given ca_file()) and valid for `sans`.
class TlsTestRegistry {
 public:
  explicit TlsTestRegistry(const std::vector<std::string>& sans = {"IP:127.0.0.1", "DNS:localhost"})
      : ca_(ca_dir_.path()),
        issued_(ca_.Issue("registry", sans)),
        registry_(EmbeddedRegistry::Tls{issued_.certificate, issued_.key, ca_.certificate()}) {}

  // "127.0.0.1:PORT".
  std::string url() const { return registry_.url(); }
  uint16_t port() const { return static_cast<uint16_t>(std::stoi(url().substr(10))); }
  // The test CA's certificate (PEM).
  std::filesystem::path ca_file() const { return ca_.certificate(); }

 private:
  TestDir ca_dir_;
  TestCa ca_;
  TestCa::Issued issued_;
  TestRegistry registry_;
};

struct TestImage {
  std::string digest;  // of the manifest
  std::string media_type;
  std::string body;
  std::string config_digest;
};

// Pushes a one-layer image for `platform` to `repository`: a config blob
// naming the platform, a layer blob holding `layer` (the registry never looks
// inside), and an OCI manifest, or a Docker schema 2 one when `docker`, under
// its own digest.
inline TestImage PushTestImage(RegistryClient& registry, const std::string& repository,
                               const Platform& platform, bool docker = false,
                               const std::string& layer = "") {
  const std::string layer_bytes = layer.empty() ? "layer of " + ToString(platform) : layer;
  const std::string layer_digest = registry.PutBlob(repository, layer_bytes);
  nlohmann::json config = {{"architecture", platform.architecture},
                           {"os", platform.os},
                           {"rootfs", {{"type", "layers"}, {"diff_ids", {layer_digest}}}}};
  if (!platform.variant.empty()) config["variant"] = platform.variant;
  const std::string config_bytes = config.dump();
  TestImage image;
  image.config_digest = registry.PutBlob(repository, config_bytes);
  image.media_type = docker ? kDockerManifest : kOciManifest;
  const nlohmann::json manifest = {
      {"schemaVersion", 2},
      {"mediaType", image.media_type},
      {"config",
       {{"mediaType", docker ? "application/vnd.docker.container.image.v1+json"
                             : "application/vnd.oci.image.config.v1+json"},
        {"digest", image.config_digest},
        {"size", config_bytes.size()}}},
      {"layers",
       {{{"mediaType", docker ? "application/vnd.docker.image.rootfs.diff.tar.gzip"
                              : "application/vnd.oci.image.layer.v1.tar+gzip"},
         {"digest", layer_digest},
         {"size", layer_bytes.size()}}}}};
  image.body = manifest.dump();
  image.digest = Sha256Digest(image.body);
  registry.PutManifest(repository, image.digest, image.media_type, image.body);
  return image;
}

}  // namespace hephy

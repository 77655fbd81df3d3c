// A client of one OCI distribution registry (the /v2/ API): manifests and
// blobs by repository, as the build pipeline pushes and stitches images.
// HTTPS (verified against the system's CAs and registry.ca_file), or plain
// HTTP when registry.insecure; authentication (docker config.json, bearer
// tokens) comes later behind the same interface.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace hephy {

inline constexpr char kOciManifest[] = "application/vnd.oci.image.manifest.v1+json";
inline constexpr char kOciIndex[] = "application/vnd.oci.image.index.v1+json";
inline constexpr char kDockerManifest[] = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr char kDockerManifestList[] =
    "application/vnd.docker.distribution.manifest.list.v2+json";

// "sha256:" and the lower-case hex SHA-256 of `bytes`: a content digest.
std::string Sha256Digest(const std::string& bytes);

// Synchronous; one HTTP/1.1 connection kept alive across requests and opened
// again when the registry closed it. Not thread-safe: use one instance from
// one thread at a time (one per build thread). Every method throws Error
// naming the registry url, the method, the path and the status, plus the
// registry's own error codes and messages when it sent them, e.g.
// "registry 127.0.0.1:5000: PUT /v2/web/manifests/web-latest: 400 Bad Request:
//  MANIFEST_INVALID: manifest invalid". Repository names and references are
// checked before anything is sent.
class RegistryClient {
 public:
  // Largest blob GetBlob accepts (configs, not layers): 16 MiB.
  static constexpr size_t kMaxBlobSize = 16 * 1024 * 1024;

  // `url` is registry.url: "host[:port]". insecure=false: HTTPS, the port
  // defaulting to 443; the registry's certificate must chain to the system's
  // CA store or to a certificate of `ca_file` (PEM; empty: none) and name the
  // url's host; TLS 1.2 or later. insecure=true: plain HTTP, port 80 by
  // default. Redirects to https hosts are verified alike; an https registry
  // redirecting to plain http is an Error. A handshake that fails is an Error
  // naming the url and OpenSSL's reason, e.g. "registry 127.0.0.1:5443: GET
  // /v2/: TLS handshake failed: certificate verify failed (self-signed
  // certificate)". `timeout` bounds each connect (and handshake), request
  // write and response read. Connects lazily, on the first request; an
  // unreadable ca_file is an Error here.
  RegistryClient(std::string url, bool insecure, const std::filesystem::path& ca_file = {},
                 std::chrono::seconds timeout = std::chrono::seconds(30));
  ~RegistryClient();
  RegistryClient(RegistryClient&&) noexcept;
  RegistryClient& operator=(RegistryClient&&) noexcept;
  RegistryClient(const RegistryClient&) = delete;
  RegistryClient& operator=(const RegistryClient&) = delete;

  const std::string& url() const;

  // GET /v2/. Throws Error when the registry is unreachable or does not
  // answer 200 like one (a 401 says it needs authentication, not supported yet).
  void Ping();

  struct Manifest {
    std::string media_type;  // from Content-Type, parameters dropped
    std::string digest;      // "sha256:<hex>" of `body`
    std::string body;        // the exact bytes the registry holds
  };
  // GET a manifest or index by tag or digest, accepting OCI manifest/index
  // and Docker schema 2 manifest/manifest list (anything else is an Error).
  // digest = sha256 of the exact body bytes; an Error when it differs from
  // the digest asked for or from the registry's Docker-Content-Digest.
  Manifest GetManifest(const std::string& repository, const std::string& reference);

  // HEAD: the digest (Docker-Content-Digest), or nullopt when the registry
  // says 404.
  std::optional<std::string> HeadManifest(const std::string& repository,
                                          const std::string& reference);

  // PUT `body` under `reference` (tag or digest) with Content-Type
  // `media_type`; returns the sha256 digest of the exact bytes sent, checked
  // against Docker-Content-Digest when the registry sends one.
  std::string PutManifest(const std::string& repository, const std::string& reference,
                          const std::string& media_type, const std::string& body);

  // The blob's bytes, checked against `digest` (sha256 only). Redirects to
  // other hosts are followed. Blobs over kMaxBlobSize are an Error.
  std::string GetBlob(const std::string& repository, const std::string& digest);

  // Every tag of `repository`, sorted (GET /v2/NAME/tags/list, one page:
  // registries that page the list return its first page only). An unknown
  // repository has none.
  std::vector<std::string> ListTags(const std::string& repository);

  // Monolithic upload (POST /v2/NAME/blobs/uploads/, then PUT to Location
  // with ?digest=), skipped when HEAD says the blob exists. Returns the digest.
  std::string PutBlob(const std::string& repository, const std::string& bytes);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hephy

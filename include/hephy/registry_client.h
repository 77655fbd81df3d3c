// A client of one OCI distribution registry (the /v2/ API): manifests and
// blobs by repository, as the build pipeline pushes and stitches images.
// HTTPS (verified against the system's CAs and registry.ca_file), or plain
// HTTP when registry.insecure; HTTP Basic or bearer-token authentication
// with the credentials it is given; operations tried again with back-off
// when the registry or the connection fails for a while.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hephy/registry_credentials.h"
#include "hephy/retry_policy.h"

namespace hephy {

inline constexpr char kOciManifest[] = "application/vnd.oci.image.manifest.v1+json";
inline constexpr char kOciIndex[] = "application/vnd.oci.image.index.v1+json";
inline constexpr char kDockerManifest[] = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr char kDockerManifestList[] =
    "application/vnd.docker.distribution.manifest.list.v2+json";

// "sha256:" and the lower-case hex SHA-256 of `bytes`: a content digest.
std::string Sha256Digest(const std::string& bytes);

struct RegistryClientOptions {
  // registry.url: "host[:port]". insecure=false: HTTPS, the port defaulting
  // to 443; the registry's certificate must chain to the system's CA store or
  // to a certificate of `ca_file` (PEM; empty: none) and name the url's host;
  // TLS 1.2 or later. insecure=true: plain HTTP, port 80 by default.
  std::string url;
  bool insecure = false;
  std::filesystem::path ca_file;
  // Bounds each connect (and handshake), request write and response read.
  std::chrono::seconds timeout{30};
  // Sent when the registry asks (401): as HTTP Basic, or to its token
  // service. nullopt: anonymous.
  std::optional<RegistryCredentials> credentials;
  // Where the credentials came from (or were looked for), for errors.
  std::string credentials_source = "the client's options";
  RetryPolicy retry;
  // Blobs larger than this are uploaded in PATCH chunks of this size.
  size_t chunk_size = 8 * 1024 * 1024;
};

// Synchronous; one HTTP/1.1 connection kept alive across requests and opened
// again when the registry closed it. Not thread-safe: use one instance from
// one thread at a time (one per build thread). Every method throws Error
// naming the registry url, the method, the path and the status, plus the
// registry's own error codes and messages when it sent them, e.g.
// "registry 127.0.0.1:5000: PUT /v2/web/manifests/web-latest: 400 Bad Request:
//  MANIFEST_INVALID: manifest invalid". Repository names and references are
// checked before anything is sent.
//
// Authentication: on a 401 the client answers the registry's challenge,
// with Basic credentials or a bearer token fetched for the request's scope
// ("repository:NAME:pull" for reads, "pull,push" for writes) and cached
// until it expires, and sends the request again. Credentials go only to the
// registry and its token service, never to hosts it redirects to.
//
// Retries: an operation that fails on a broken connection, a timeout, a
// 408, 429 or 5xx (but 501, 505) is tried again as a whole, after a back-off
// (RetryPolicy), up to retry.attempts tries within retry.max_time; the
// error then says how many tries were made.
class RegistryClient {
 public:
  // Largest blob GetBlob accepts (configs, not layers): 16 MiB.
  static constexpr size_t kMaxBlobSize = 16 * 1024 * 1024;

  // Connects lazily, on the first request. Redirects to https hosts are
  // verified alike; an https registry redirecting to plain http is an Error.
  // A handshake that fails is an Error naming the url and OpenSSL's reason,
  // e.g. "registry 127.0.0.1:5443: GET /v2/: TLS handshake failed:
  // certificate verify failed (self-signed certificate)". An unreadable
  // ca_file is an Error here.
  explicit RegistryClient(RegistryClientOptions options);
  // Anonymous, with the default retry policy.
  RegistryClient(std::string url, bool insecure, const std::filesystem::path& ca_file = {},
                 std::chrono::seconds timeout = std::chrono::seconds(30));
  ~RegistryClient();
  RegistryClient(RegistryClient&&) noexcept;
  RegistryClient& operator=(RegistryClient&&) noexcept;
  RegistryClient(const RegistryClient&) = delete;
  RegistryClient& operator=(const RegistryClient&) = delete;

  const std::string& url() const;

  // GET /v2/, authenticating as asked. Throws Error when the registry is
  // unreachable, refuses the credentials, or does not answer 200 like one.
  void Ping();

  // For health checks: whether the registry answers the API at all. GET
  // /v2/ once, without retries. Returns 200 when it answers 200 (with the
  // credentials when it asks for them), 401 when it asks for credentials
  // that are missing or that it refuses: reachable either way. Throws Error
  // when it cannot be reached or answers anything else (a 5xx, a proxy's
  // 404, a TLS certificate that does not verify).
  int Probe();

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

  // DELETE /v2/NAME/manifests/DIGEST (a digest, never a tag): the registry
  // drops the manifest and every tag naming it. nullopt when it is gone (a
  // 404 too: gone already); the refusal, "405 Method Not Allowed:
  // UNSUPPORTED: ...", when the registry does not delete (deletes disabled,
  // as registries often ship). Any other answer throws Error.
  std::optional<std::string> DeleteManifest(const std::string& repository,
                                            const std::string& digest);

  // Uploads a blob unless HEAD says the repository has it. With
  // `mount_from` (another repository of this registry), asks the registry to
  // mount the blob from there first (no bytes sent when it can). Else one
  // monolithic PUT, or for blobs over options.chunk_size PATCH chunks and a
  // closing PUT, each to the Location the registry answered. Returns the
  // blob's digest.
  std::string PutBlob(const std::string& repository, const std::string& bytes,
                      const std::string& mount_from = "");

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hephy

#include "hephy/registry_client.h"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <regex>
#include <vector>

#include "hephy/error.h"
#include "hex.h"
#include "http_connection.h"

namespace hephy {
namespace {

// Every media type GetManifest accepts; sent as Accept so that a Docker
// registry never down-converts to schema 1.
constexpr const char* kManifestTypes[] = {kOciManifest, kOciIndex, kDockerManifest,
                                          kDockerManifestList};

constexpr int kMaxRedirects = 5;

using Headers = std::vector<std::pair<std::string, std::string>>;

std::string ManifestAccept() {
  std::string accept;
  for (const char* type : kManifestTypes)
    accept += (accept.empty() ? "" : ", ") + std::string(type);
  return accept;
}

bool IsSha256Digest(const std::string& text) {
  return text.size() == 71 && text.starts_with("sha256:") &&
         text.find_first_not_of("0123456789abcdef", 7) == std::string::npos;
}

// The media type without parameters ("; charset=utf-8").
std::string MediaTypeOf(const HttpResponse& response) {
  std::string type = response.Header("content-type");
  type = type.substr(0, type.find(';'));
  while (!type.empty() && type.back() == ' ') type.pop_back();
  return type;
}

// "CODE: message[: detail]; ..." from an OCI error body, or "" when the body
// is not one.
std::string RegistryErrors(const std::string& body) {
  const auto json = nlohmann::json::parse(body, nullptr, false);
  if (!json.is_object() || !json.contains("errors") || !json["errors"].is_array()) return "";
  std::string out;
  for (const auto& error : json["errors"]) {
    if (!error.is_object()) continue;
    std::string one = error.value("code", "");
    const std::string message = error.value("message", "");
    if (!message.empty()) one += (one.empty() ? "" : ": ") + message;
    if (error.contains("detail") && error["detail"].is_string()) {
      const std::string detail = error["detail"];
      if (!detail.empty()) one += ": " + detail;
    }
    if (!one.empty()) out += (out.empty() ? "" : "; ") + one;
  }
  return out;
}

// The first line of a body that is not the OCI error JSON, for a proxy's or a
// web server's answer; kept short.
std::string FirstLine(const std::string& body) {
  std::string line = body.substr(0, body.find('\n'));
  if (line.size() > 200) line = line.substr(0, 200) + "...";
  for (char& c : line) {
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  }
  return line;
}

std::string PercentEncodeColon(const std::string& digest) {
  std::string out;
  for (char c : digest) out += c == ':' ? "%3A" : std::string(1, c);
  return out;
}

}  // namespace

std::string Sha256Digest(const std::string& bytes) { return "sha256:" + Sha256Hex(bytes); }

struct RegistryClient::Impl {
  std::string url;
  HostPort server;
  bool tls;
  std::chrono::milliseconds timeout;
  // Also for https redirects of a plain-HTTP registry; declared before the
  // connection that refers to it.
  std::unique_ptr<TlsContext> tls_context;
  HttpConnection connection;

  Impl(std::string url_in, HostPort server_in, bool tls_in, std::unique_ptr<TlsContext> context,
       std::chrono::milliseconds timeout_in)
      : url(std::move(url_in)),
        server(std::move(server_in)),
        tls(tls_in),
        timeout(timeout_in),
        tls_context(std::move(context)),
        connection(server, timeout, kMaxBlobSize, tls ? tls_context.get() : nullptr) {}

  // What a request is called in errors: the path (the query may hold upload
  // state tokens), prefixed with the host when it is not the registry itself.
  static std::string Where(const HttpLocation& where) {
    const std::string path = where.target.substr(0, where.target.find('?'));
    if (where.authority.empty()) return path;
    return (where.tls ? "https://" : "http://") + where.authority + path;
  }

  [[noreturn]] void Fail(const std::string& method, const HttpLocation& where,
                         const std::string& why) const {
    throw Error("registry " + url + ": " + method + " " + Where(where) + ": " + why);
  }

  [[noreturn]] void FailStatus(const std::string& method, const HttpLocation& where,
                               const HttpResponse& response) const {
    std::string why = std::to_string(response.status) + " " + response.reason;
    const std::string errors = RegistryErrors(response.body);
    if (!errors.empty()) {
      why += ": " + errors;
    } else if (!FirstLine(response.body).empty()) {
      why += ": " + FirstLine(response.body);
    }
    if (response.status == 401) why += " (hephyd does not authenticate to registries yet)";
    Fail(method, where, why);
  }

  void CheckRepository(const std::string& repository) const {
    // The OCI distribution spec's <name> grammar; it also keeps "..", "?" and
    // "#" out of request paths.
    static const std::regex kName(
        "[a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*)*");
    if (repository.size() > 255 || !std::regex_match(repository, kName)) {
      throw Error("registry " + url + ": invalid repository name '" + repository + "'");
    }
  }

  void CheckReference(const std::string& reference) const {
    static const std::regex kTag("[A-Za-z0-9_][A-Za-z0-9._-]{0,127}");
    if (!IsSha256Digest(reference) && !std::regex_match(reference, kTag)) {
      throw Error("registry " + url + ": invalid reference '" + reference +
                  "' (expected a tag or a sha256 digest)");
    }
  }

  void CheckDigest(const std::string& digest) const {
    if (!IsSha256Digest(digest)) {
      throw Error("registry " + url + ": invalid digest '" + digest +
                  "' (expected sha256: and 64 lower-case hex digits)");
    }
  }

  // Sends one request; a transport failure becomes an Error naming it.
  HttpResponse SendOnce(const HttpRequest& request, const HttpLocation& where) {
    try {
      if (where.authority.empty()) return connection.Send(request);
      // Another host (a storage redirect, an upload location): its own
      // short-lived connection.
      HttpConnection other(ParseHostPort(where.authority, where.tls ? 443 : 80), timeout,
                           kMaxBlobSize, where.tls ? tls_context.get() : nullptr);
      return other.Send(request);
    } catch (const Error& e) {
      Fail(request.method, where, e.what());
    }
  }

  // Sends the request, following redirects of GET and HEAD, and returns the
  // response when its status is one of `ok`; any other status is an Error.
  HttpResponse Call(const std::string& method, HttpLocation where, const Headers& headers,
                    const std::string& body, std::initializer_list<int> ok) {
    for (int redirects = 0;; ++redirects) {
      HttpResponse response = SendOnce({method, where.target, headers, body}, where);
      if (std::find(ok.begin(), ok.end(), response.status) != ok.end()) return response;
      const bool redirect = response.status == 301 || response.status == 302 ||
                            response.status == 303 || response.status == 307 ||
                            response.status == 308;
      const std::string location = response.Header("location");
      if (!redirect || location.empty() || (method != "GET" && method != "HEAD")) {
        FailStatus(method, where, response);
      }
      if (redirects == kMaxRedirects) Fail(method, where, "too many redirects");
      try {
        const bool from_tls = where.authority.empty() ? tls : where.tls;
        const HostPort from =
            where.authority.empty() ? server : ParseHostPort(where.authority, from_tls ? 443 : 80);
        HttpLocation next = ResolveLocation(from, from_tls, where.target, location);
        // A relative location is relative to the host that sent it.
        if (next.authority.empty()) {
          next.authority = where.authority;
          next.tls = where.tls;
        } else if (next.tls == tls && next.authority == server.Authority()) {
          next.authority.clear();  // back to the registry itself
        }
        where = std::move(next);
      } catch (const Error& e) {
        Fail(method, where, std::string("redirected: ") + e.what());
      }
    }
  }

  static std::string ManifestPath(const std::string& repository, const std::string& reference) {
    return "/v2/" + repository + "/manifests/" + reference;
  }
  static std::string BlobPath(const std::string& repository, const std::string& digest) {
    return "/v2/" + repository + "/blobs/" + digest;
  }
};

RegistryClient::RegistryClient(std::string url, bool insecure, const std::filesystem::path& ca_file,
                               std::chrono::seconds timeout) {
  HostPort server;
  try {
    server = ParseHostPort(url, insecure ? 80 : 443);
  } catch (const Error& e) {
    throw Error(std::string("registry.url ") + e.what());
  }
  std::unique_ptr<TlsContext> context;
  try {
    context = std::make_unique<TlsContext>(ca_file);
  } catch (const Error& e) {
    throw Error("registry " + url + ": registry.ca_file: " + e.what());
  }
  impl_ = std::make_unique<Impl>(std::move(url), std::move(server), !insecure, std::move(context),
                                 timeout);
}

RegistryClient::~RegistryClient() = default;
RegistryClient::RegistryClient(RegistryClient&&) noexcept = default;
RegistryClient& RegistryClient::operator=(RegistryClient&&) noexcept = default;

const std::string& RegistryClient::url() const { return impl_->url; }

void RegistryClient::Ping() { impl_->Call("GET", {"", "/v2/"}, {}, "", {200}); }

RegistryClient::Manifest RegistryClient::GetManifest(const std::string& repository,
                                                     const std::string& reference) {
  impl_->CheckRepository(repository);
  impl_->CheckReference(reference);
  const HttpLocation where{"", Impl::ManifestPath(repository, reference)};
  HttpResponse response = impl_->Call("GET", where, {{"Accept", ManifestAccept()}}, "", {200});
  Manifest manifest{MediaTypeOf(response), Sha256Digest(response.body), std::move(response.body)};
  if (std::find(std::begin(kManifestTypes), std::end(kManifestTypes), manifest.media_type) ==
      std::end(kManifestTypes)) {
    impl_->Fail("GET", where, "unsupported manifest media type '" + manifest.media_type + "'");
  }
  if (IsSha256Digest(reference) && manifest.digest != reference) {
    impl_->Fail("GET", where, "the body's digest is " + manifest.digest);
  }
  const std::string claimed = response.Header("docker-content-digest");
  if (IsSha256Digest(claimed) && claimed != manifest.digest) {
    impl_->Fail(
        "GET", where,
        "Docker-Content-Digest " + claimed + " but the body's digest is " + manifest.digest);
  }
  return manifest;
}

std::optional<std::string> RegistryClient::HeadManifest(const std::string& repository,
                                                        const std::string& reference) {
  impl_->CheckRepository(repository);
  impl_->CheckReference(reference);
  const HttpResponse response = impl_->Call("HEAD", {"", Impl::ManifestPath(repository, reference)},
                                            {{"Accept", ManifestAccept()}}, "", {200, 404});
  if (response.status == 404) return std::nullopt;
  const std::string digest = response.Header("docker-content-digest");
  if (!digest.empty()) return digest;
  if (IsSha256Digest(reference)) return reference;
  // The header is optional in the spec; the body tells.
  return GetManifest(repository, reference).digest;
}

std::string RegistryClient::PutManifest(const std::string& repository, const std::string& reference,
                                        const std::string& media_type, const std::string& body) {
  impl_->CheckRepository(repository);
  impl_->CheckReference(reference);
  const HttpLocation where{"", Impl::ManifestPath(repository, reference)};
  if (media_type.empty()) impl_->Fail("PUT", where, "no media type given");
  const std::string digest = Sha256Digest(body);
  if (IsSha256Digest(reference) && reference != digest) {
    impl_->Fail("PUT", where, "the body's digest is " + digest);
  }
  const HttpResponse response =
      impl_->Call("PUT", where, {{"Content-Type", media_type}}, body, {200, 201, 202, 204});
  const std::string stored = response.Header("docker-content-digest");
  if (!stored.empty() && stored != digest) {
    impl_->Fail("PUT", where,
                "the registry stored digest " + stored + " for bytes whose digest is " + digest);
  }
  return digest;
}

std::string RegistryClient::GetBlob(const std::string& repository, const std::string& digest) {
  impl_->CheckRepository(repository);
  impl_->CheckDigest(digest);
  const HttpLocation where{"", Impl::BlobPath(repository, digest)};
  HttpResponse response = impl_->Call("GET", where, {}, "", {200});
  if (Sha256Digest(response.body) != digest) {
    impl_->Fail("GET", where, "the body's digest is " + Sha256Digest(response.body));
  }
  return std::move(response.body);
}

std::vector<std::string> RegistryClient::ListTags(const std::string& repository) {
  impl_->CheckRepository(repository);
  const HttpLocation where{"", "/v2/" + repository + "/tags/list"};
  const HttpResponse response = impl_->Call("GET", where, {}, "", {200, 404});
  std::vector<std::string> tags;
  if (response.status == 404) return tags;
  const auto body = nlohmann::json::parse(response.body, nullptr, false);
  if (!body.is_object() || !body.contains("tags")) impl_->Fail("GET", where, "no tag list");
  if (body["tags"].is_array()) {
    for (const auto& tag : body["tags"]) {
      if (tag.is_string()) tags.push_back(tag.get<std::string>());
    }
  }
  std::sort(tags.begin(), tags.end());
  return tags;
}

std::string RegistryClient::PutBlob(const std::string& repository, const std::string& bytes) {
  impl_->CheckRepository(repository);
  const std::string digest = Sha256Digest(bytes);
  const HttpResponse head =
      impl_->Call("HEAD", {"", Impl::BlobPath(repository, digest)}, {}, "", {200, 404});
  if (head.status == 200) return digest;

  const HttpLocation start{"", "/v2/" + repository + "/blobs/uploads/"};
  const HttpResponse started = impl_->Call("POST", start, {}, "", {202});
  const std::string location = started.Header("location");
  if (location.empty()) impl_->Fail("POST", start, "202 Accepted without a Location header");
  HttpLocation upload;
  try {
    upload = ResolveLocation(impl_->server, impl_->tls, start.target, location);
  } catch (const Error& e) {
    impl_->Fail("POST", start, e.what());
  }
  upload.target += (upload.target.find('?') == std::string::npos ? "?" : "&");
  upload.target += "digest=" + PercentEncodeColon(digest);
  const HttpResponse done =
      impl_->Call("PUT", upload, {{"Content-Type", "application/octet-stream"}}, bytes, {201, 204});
  const std::string stored = done.Header("docker-content-digest");
  if (!stored.empty() && stored != digest) {
    impl_->Fail("PUT", upload,
                "the registry stored digest " + stored + " for bytes whose digest is " + digest);
  }
  return digest;
}

}  // namespace hephy

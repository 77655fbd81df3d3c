#include "hephy/registry_client.h"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <random>
#include <regex>
#include <thread>
#include <vector>

#include "hephy/error.h"
#include "net/http_connection.h"
#include "registry/registry_auth.h"
#include "registry/registry_errors.h"
#include "util/hex.h"
#include "util/logging.h"
#include "util/metrics.h"

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

std::shared_ptr<spdlog::logger> Log() {
  static const auto logger = ComponentLogger("registry");
  return logger;
}

}  // namespace

std::string Sha256Digest(const std::string& bytes) { return "sha256:" + Sha256Hex(bytes); }

struct RegistryClient::Impl {
  RegistryClientOptions options;
  HostPort server;
  bool tls;
  std::chrono::milliseconds timeout;
  // Also for https redirects of a plain-HTTP registry and for its token
  // service; declared before what refers to it.
  std::unique_ptr<TlsContext> tls_context;
  HttpConnection connection;
  RegistryAuth auth;
  std::mt19937_64 random{std::random_device{}()};

  Impl(RegistryClientOptions options_in, HostPort server_in, std::unique_ptr<TlsContext> context)
      : options(std::move(options_in)),
        server(std::move(server_in)),
        tls(!options.insecure),
        timeout(options.timeout),
        tls_context(std::move(context)),
        connection(server, timeout, kMaxBlobSize, tls ? tls_context.get() : nullptr),
        auth(options.url, tls, options.credentials, options.credentials_source, *tls_context,
             timeout) {}

  const std::string& url() const { return options.url; }

  // What a request is called in errors: the path (the query may hold upload
  // state tokens), prefixed with the host when it is not the registry itself.
  static std::string Where(const HttpLocation& where) {
    const std::string path = where.target.substr(0, where.target.find('?'));
    if (where.authority.empty()) return path;
    return (where.tls ? "https://" : "http://") + where.authority + path;
  }

  [[noreturn]] void Fail(const std::string& method, const HttpLocation& where,
                         const std::string& why) const {
    throw Error("registry " + url() + ": " + method + " " + Where(where) + ": " + why);
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
    if ((response.status == 401 || response.status == 403) && where.authority.empty()) {
      why += " (" + auth.Explain() + ")";
    }
    const std::string what = "registry " + url() + ": " + method + " " + Where(where) + ": " + why;
    if (IsRetryableStatus(response.status)) {
      throw TransientError(what, ParseRetryAfter(response.Header("retry-after")));
    }
    throw Error(what);
  }

  void CheckRepository(const std::string& repository) const {
    // The OCI distribution spec's <name> grammar; it also keeps "..", "?" and
    // "#" out of request paths.
    static const std::regex kName(
        "[a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*)*");
    if (repository.size() > 255 || !std::regex_match(repository, kName)) {
      throw Error("registry " + url() + ": invalid repository name '" + repository + "'");
    }
  }

  void CheckReference(const std::string& reference) const {
    static const std::regex kTag("[A-Za-z0-9_][A-Za-z0-9._-]{0,127}");
    if (!IsSha256Digest(reference) && !std::regex_match(reference, kTag)) {
      throw Error("registry " + url() + ": invalid reference '" + reference +
                  "' (expected a tag or a sha256 digest)");
    }
  }

  void CheckDigest(const std::string& digest) const {
    if (!IsSha256Digest(digest)) {
      throw Error("registry " + url() + ": invalid digest '" + digest +
                  "' (expected sha256: and 64 lower-case hex digits)");
    }
  }

  // Sends one request; a transport failure becomes an Error naming it (a
  // TransientError when the connection broke).
  HttpResponse SendOnce(const HttpRequest& request, const HttpLocation& where) {
    const auto name = [&](const Error& e) {
      return "registry " + url() + ": " + request.method + " " + Where(where) + ": " + e.what();
    };
    try {
      if (where.authority.empty()) return connection.Send(request);
      // Another host (a storage redirect, an upload location): its own
      // short-lived connection.
      HttpConnection other(ParseHostPort(where.authority, where.tls ? 443 : 80), timeout,
                           kMaxBlobSize, where.tls ? tls_context.get() : nullptr);
      return other.Send(request);
    } catch (const TransientError& e) {
      throw TransientError(name(e));
    } catch (const Error& e) {
      throw Error(name(e));
    }
  }

  // Sends the request, authenticating to the registry as it asks for
  // `scopes` and following redirects of GET and HEAD, and returns the
  // response when its status is one of `ok`; any other status is an Error.
  HttpResponse Call(const std::string& method, HttpLocation where, const Headers& headers,
                    const std::string& body, std::initializer_list<int> ok,
                    const std::vector<std::string>& scopes) {
    int challenges = 0;
    for (int redirects = 0;;) {
      HttpRequest request{method, where.target, headers, body};
      std::string sent;
      if (where.authority.empty()) {
        sent = auth.HeaderFor(scopes);
        if (!sent.empty()) request.headers.emplace_back("Authorization", sent);
      }
      HttpResponse response = SendOnce(request, where);
      if (std::find(ok.begin(), ok.end(), response.status) != ok.end()) return response;
      // Twice at most: a token that expired early, then one with the scope
      // the registry named.
      if (response.status == 401 && where.authority.empty() && challenges < 2 &&
          auth.Unauthorized(response.Header("www-authenticate"), scopes, sent)) {
        ++challenges;
        continue;
      }
      const bool redirect = response.status == 301 || response.status == 302 ||
                            response.status == 303 || response.status == 307 ||
                            response.status == 308;
      const std::string location = response.Header("location");
      if (!redirect || location.empty() || (method != "GET" && method != "HEAD")) {
        FailStatus(method, where, response);
      }
      if (redirects++ == kMaxRedirects) Fail(method, where, "too many redirects");
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

  // Runs `operation` (a whole exchange: an upload is started again from its
  // POST) until it succeeds, fails for good, or the retry policy is spent.
  template <typename Operation>
  auto Retrying(Operation&& operation) -> decltype(operation()) {
    const RetryPolicy& policy = options.retry;
    const auto start = std::chrono::steady_clock::now();
    for (int attempt = 1;; ++attempt) {
      try {
        return operation();
      } catch (const TransientError& e) {
        const auto delay = RetryDelay(policy, attempt + 1, e.retry_after(), random);
        const auto elapsed = std::chrono::steady_clock::now() - start;
        if (attempt >= policy.attempts || elapsed + delay > policy.max_time) {
          Metrics().registry_errors.With({}).Increment();
          const auto seconds = std::chrono::duration<double>(elapsed).count();
          char took[32];
          std::snprintf(took, sizeof took, "%.1f", seconds);
          throw Error(std::string(e.what()) + " (gave up after " + std::to_string(attempt) +
                      (attempt == 1 ? " try" : " tries") + " in " + took + " s)");
        }
        Log()->warn("{}; trying again in {} ms (try {} of {})", e.what(), delay.count(),
                    attempt + 1, policy.attempts);
        std::this_thread::sleep_for(delay);
      } catch (const Error&) {
        Metrics().registry_errors.With({}).Increment();
        throw;
      }
    }
  }

  static std::string ManifestPath(const std::string& repository, const std::string& reference) {
    return "/v2/" + repository + "/manifests/" + reference;
  }
  static std::string BlobPath(const std::string& repository, const std::string& digest) {
    return "/v2/" + repository + "/blobs/" + digest;
  }

  // Where an upload goes next: the Location of the registry's last answer.
  HttpLocation UploadLocation(const std::string& method, const HttpLocation& from,
                              const HttpResponse& response) {
    const std::string location = response.Header("location");
    if (location.empty()) {
      Fail(method, from, std::to_string(response.status) + " without a Location header");
    }
    try {
      HttpLocation next = ResolveLocation(server, tls, from.target, location);
      if (!next.authority.empty() && next.tls == tls && next.authority == server.Authority()) {
        next.authority.clear();
      }
      return next;
    } catch (const Error& e) {
      Fail(method, from, e.what());
    }
  }

  static std::string WithQuery(std::string target, const std::string& query) {
    target += (target.find('?') == std::string::npos ? "?" : "&");
    return target + query;
  }

  std::string UploadBlob(const std::string& repository, const std::string& bytes,
                         const std::string& digest, const std::string& mount_from) {
    const std::vector<std::string> scopes =
        mount_from.empty()
            ? std::vector{RepositoryScope(repository, true)}
            : std::vector{RepositoryScope(repository, true), RepositoryScope(mount_from, false)};
    const HttpResponse head =
        Call("HEAD", {"", BlobPath(repository, digest)}, {}, "", {200, 404}, scopes);
    if (head.status == 200) return digest;

    HttpLocation start{"", "/v2/" + repository + "/blobs/uploads/"};
    if (!mount_from.empty()) {
      start.target += "?mount=" + PercentEncodeColon(digest) + "&from=" + mount_from;
    }
    // 201: mounted; 202: an upload to make (no mount, or the source lacks it).
    const HttpResponse started = Call("POST", start, {}, "", {201, 202}, scopes);
    if (started.status == 201) return digest;
    HttpLocation upload = UploadLocation("POST", start, started);

    size_t sent = 0;
    if (bytes.size() > options.chunk_size) {
      // Chunks in order, each PATCHed to the location the last answer named.
      while (sent < bytes.size()) {
        const std::string chunk = bytes.substr(sent, options.chunk_size);
        const std::string range =
            std::to_string(sent) + "-" + std::to_string(sent + chunk.size() - 1);
        const HttpResponse patched =
            Call("PATCH", upload,
                 {{"Content-Type", "application/octet-stream"}, {"Content-Range", range}}, chunk,
                 {202}, scopes);
        sent += chunk.size();
        upload = UploadLocation("PATCH", upload, patched);
      }
    }
    upload.target = WithQuery(upload.target, "digest=" + PercentEncodeColon(digest));
    const HttpResponse done = Call("PUT", upload, {{"Content-Type", "application/octet-stream"}},
                                   bytes.substr(sent), {201, 204}, scopes);
    const std::string stored = done.Header("docker-content-digest");
    if (!stored.empty() && stored != digest) {
      Fail("PUT", upload,
           "the registry stored digest " + stored + " for bytes whose digest is " + digest);
    }
    return digest;
  }
};

RegistryClient::RegistryClient(RegistryClientOptions options) {
  HostPort server;
  try {
    server = ParseHostPort(options.url, options.insecure ? 80 : 443);
  } catch (const Error& e) {
    throw Error(std::string("registry.url ") + e.what());
  }
  std::unique_ptr<TlsContext> context;
  try {
    context = std::make_unique<TlsContext>(options.ca_file);
  } catch (const Error& e) {
    throw Error("registry " + options.url + ": registry.ca_file: " + e.what());
  }
  if (options.chunk_size == 0) options.chunk_size = 8 * 1024 * 1024;
  if (options.retry.attempts < 1) options.retry.attempts = 1;
  impl_ = std::make_unique<Impl>(std::move(options), std::move(server), std::move(context));
}

RegistryClient::RegistryClient(std::string url, bool insecure, const std::filesystem::path& ca_file,
                               std::chrono::seconds timeout)
    : RegistryClient(RegistryClientOptions{
          .url = std::move(url), .insecure = insecure, .ca_file = ca_file, .timeout = timeout}) {}

RegistryClient::~RegistryClient() = default;
RegistryClient::RegistryClient(RegistryClient&&) noexcept = default;
RegistryClient& RegistryClient::operator=(RegistryClient&&) noexcept = default;

const std::string& RegistryClient::url() const { return impl_->url(); }

void RegistryClient::Ping() {
  impl_->Retrying([&] { impl_->Call("GET", {"", "/v2/"}, {}, "", {200}, {}); });
}

int RegistryClient::Probe() {
  const HttpResponse first = impl_->Call("GET", {"", "/v2/"}, {}, "", {200, 401}, {});
  if (first.status == 200 || !impl_->options.credentials) return first.status;
  // It is up and wants credentials; whether it takes ours decides only
  // between 200 and 401.
  try {
    impl_->Call("GET", {"", "/v2/"}, {}, "", {200}, {});
    return 200;
  } catch (const Error&) {
    return 401;
  }
}

RegistryClient::Manifest RegistryClient::GetManifest(const std::string& repository,
                                                     const std::string& reference) {
  impl_->CheckRepository(repository);
  impl_->CheckReference(reference);
  const HttpLocation where{"", Impl::ManifestPath(repository, reference)};
  HttpResponse response = impl_->Retrying([&] {
    return impl_->Call("GET", where, {{"Accept", ManifestAccept()}}, "", {200},
                       {RepositoryScope(repository, false)});
  });
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
  const HttpResponse response = impl_->Retrying([&] {
    return impl_->Call("HEAD", {"", Impl::ManifestPath(repository, reference)},
                       {{"Accept", ManifestAccept()}}, "", {200, 404},
                       {RepositoryScope(repository, false)});
  });
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
  const HttpResponse response = impl_->Retrying([&] {
    return impl_->Call("PUT", where, {{"Content-Type", media_type}}, body, {200, 201, 202, 204},
                       {RepositoryScope(repository, true)});
  });
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
  HttpResponse response = impl_->Retrying([&] {
    return impl_->Call("GET", where, {}, "", {200}, {RepositoryScope(repository, false)});
  });
  if (Sha256Digest(response.body) != digest) {
    impl_->Fail("GET", where, "the body's digest is " + Sha256Digest(response.body));
  }
  return std::move(response.body);
}

std::vector<std::string> RegistryClient::ListTags(const std::string& repository) {
  impl_->CheckRepository(repository);
  const HttpLocation where{"", "/v2/" + repository + "/tags/list"};
  const HttpResponse response = impl_->Retrying([&] {
    return impl_->Call("GET", where, {}, "", {200, 404}, {RepositoryScope(repository, false)});
  });
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

std::optional<std::string> RegistryClient::DeleteManifest(const std::string& repository,
                                                          const std::string& digest) {
  impl_->CheckRepository(repository);
  impl_->CheckDigest(digest);
  const HttpLocation where{"", Impl::ManifestPath(repository, digest)};
  const HttpResponse response = impl_->Retrying([&] {
    return impl_->Call("DELETE", where, {}, "", {200, 202, 204, 404, 405},
                       {"repository:" + repository + ":delete"});
  });
  if (response.status != 405) return std::nullopt;
  const std::string errors = RegistryErrors(response.body);
  return std::to_string(response.status) + " " + response.reason +
         (errors.empty() ? "" : ": " + errors);
}

std::string RegistryClient::PutBlob(const std::string& repository, const std::string& bytes,
                                    const std::string& mount_from) {
  impl_->CheckRepository(repository);
  if (!mount_from.empty()) impl_->CheckRepository(mount_from);
  const std::string digest = Sha256Digest(bytes);
  return impl_->Retrying([&] { return impl_->UploadBlob(repository, bytes, digest, mount_from); });
}

}  // namespace hephy

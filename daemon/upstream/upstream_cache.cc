#include "upstream/upstream_cache.h"

#include <stdlib.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <optional>

#include "git/libgit2.h"
#include "hephy/error.h"
#include "upstream/known_hosts.h"
#include "upstream/pinned_stream.h"
#include "upstream/upstream_credentials.h"
#include "util/hex.h"
#include "util/logging.h"

namespace hephy {
namespace {

using git::Owned;
using Repo = Owned<git_repository, git_repository_free>;

bool IsFullHex(const std::string& text) {
  return text.size() == GIT_OID_HEXSZ && std::all_of(text.begin(), text.end(), [](char c) {
           return std::isxdigit(static_cast<unsigned char>(c));
         });
}

// A name git accepts under refs/heads/ and refs/tags/.
bool IsValidRef(const std::string& ref) {
  int valid = 0;
  return !ref.empty() && !ref.starts_with('-') &&
         git_reference_name_is_valid(&valid, ("refs/tags/" + ref).c_str()) == 0 && valid;
}

// Text from the user, fit for one line of a message.
std::string Printable(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < ' ' || c == 0x7f) c = '?';
  }
  return out;
}

// `url` with any user information ("USER:PASSWORD@") replaced by "***@",
// for messages about URLs that were refused.
std::string Redacted(std::string_view url) {
  const auto scheme = url.find("://");
  const size_t start = scheme == std::string_view::npos ? 0 : scheme + 3;
  const std::string_view authority = url.substr(start, url.find('/', start) - start);
  const auto at = authority.rfind('@');
  if (at == std::string_view::npos) return Printable(url);
  return Printable(std::string(url.substr(0, start)) + "***" + std::string(url.substr(start + at)));
}

std::string LastGitError() {
  const git_error* e = git_error_last();
  return e != nullptr && e->message != nullptr ? e->message : "libgit2 error";
}

std::string OidText(const git_oid* oid) {
  char text[GIT_OID_HEXSZ + 1];
  git_oid_tostr(text, sizeof text, oid);
  return text;
}

// The commit `hex` names, when `repo` holds it.
std::optional<std::string> FindCommit(git_repository* repo, const std::string& hex) {
  git_oid oid;
  git_commit* commit = nullptr;
  if (git_oid_fromstr(&oid, hex.c_str()) != 0 || git_commit_lookup(&commit, repo, &oid) != 0) {
    return std::nullopt;
  }
  git_commit_free(commit);
  return OidText(&oid);
}

Repo OpenMirror(const std::filesystem::path& dir, const std::filesystem::path& mirror) {
  if (!std::filesystem::exists(mirror)) {
    std::string temp = (dir / "tmp-XXXXXX").string();
    if (mkdtemp(temp.data()) == nullptr) throw Error(dir.string() + ": cannot create a mirror");
    git_repository* created = nullptr;
    std::error_code ec;
    if (git_repository_init(&created, temp.c_str(), /*is_bare=*/1) != 0) {
      const std::string reason = LastGitError();
      std::filesystem::remove_all(temp, ec);
      throw Error(mirror.string() + ": cannot create mirror: " + reason);
    }
    git_repository_free(created);
    std::filesystem::rename(temp, mirror, ec);
    if (ec) {
      std::filesystem::remove_all(temp, ec);
      throw Error(mirror.string() + ": cannot create mirror: " + ec.message());
    }
  }
  git_repository* repo = nullptr;
  if (git_repository_open_bare(&repo, mirror.c_str()) != 0) git::Throw(mirror.string());
  return Repo(repo);
}

// What the callbacks of one fetch share.
struct FetchState {
  const UpstreamsConfig& config;
  const UpstreamUrl& url;
  std::optional<HttpCredential> http;
  bool offered = false;  // a credential went to libgit2 already
  std::string failure;   // why a callback stopped the fetch; preferred to libgit2's message
  std::stop_token cancel;
};

int Stop(FetchState* state, const std::string& reason, int code) {
  state->failure = reason;
  git_error_set_str(GIT_ERROR_CALLBACK, reason.c_str());
  return code;
}

std::string HostName(const UpstreamUrl& url) {
  return url.port == 0 ? url.host : url.host + ":" + std::to_string(url.port);
}

// libgit2 asks again after a refused credential, for as long as the callback
// answers; hephyd has one credential per URL, so the second request stops.
int AcquireCredential(git_credential** out, const char* /*url*/, const char* username_from_url,
                      unsigned int allowed, void* payload) {
  auto* state = static_cast<FetchState*>(payload);
  const UpstreamUrl& url = state->url;
  const std::string host = HostName(url);
  if ((allowed & GIT_CREDENTIAL_USERNAME) != 0) {
    return git_credential_username_new(out, url.user.empty() ? "git" : url.user.c_str());
  }
  if (url.kind == UpstreamUrl::Kind::kSsh && (allowed & GIT_CREDENTIAL_SSH_KEY) != 0) {
    const std::string key = state->config.ssh_key.string();
    if (key.empty()) {
      return Stop(state, host + " asks for an ssh key and upstreams.ssh_key is not set", GIT_EAUTH);
    }
    if (state->offered) return Stop(state, host + " refused the ssh key " + key, GIT_EAUTH);
    state->offered = true;
    const char* user = username_from_url != nullptr ? username_from_url : "git";
    return git_credential_ssh_key_new(out, user, nullptr, key.c_str(), nullptr);
  }
  const bool http = url.kind == UpstreamUrl::Kind::kHttps || url.kind == UpstreamUrl::Kind::kHttp;
  if (http && (allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT) != 0) {
    if (!state->http) {
      std::string where = state->config.credentials_file.string();
      if (TokenGoesTo(state->config, url)) {
        where += " nor in $" + state->config.token_env;
      } else if (!state->config.token_env.empty()) {
        where += " ($" + state->config.token_env + " goes only to https hosts of " +
                 "upstreams.token_hosts)";
      }
      return Stop(state,
                  host + " asks for credentials and there are none for " + url.scheme + "://" +
                      host + url.path + " in " + where,
                  GIT_EAUTH);
    }
    if (state->offered) {
      return Stop(state, host + " refused the credentials from " + state->http->source, GIT_EAUTH);
    }
    state->offered = true;
    return git_credential_userpass_plaintext_new(out, state->http->user.c_str(),
                                                 state->http->password.c_str());
  }
  return Stop(state, host + " asks for a kind of authentication hephyd does not offer", GIT_EAUTH);
}

// libgit2 reports progress often while it talks to the server and unpacks:
// the places a fetch can be stopped.
int StopIfCancelled(FetchState* state) {
  return state->cancel.stop_requested() ? Stop(state, "cancelled", GIT_EUSER) : 0;
}

// TLS certificates are libgit2's to check (the system's CAs); ssh host keys
// must be in our known_hosts, whatever libgit2 found in $HOME's.
int CheckCertificate(git_cert* cert, int /*valid*/, const char* /*host*/, void* payload) {
  auto* state = static_cast<FetchState*>(payload);
  if (cert->cert_type != GIT_CERT_HOSTKEY_LIBSSH2) return GIT_PASSTHROUGH;
  const auto* hostkey = reinterpret_cast<const git_cert_hostkey*>(cert);
  if ((hostkey->type & GIT_CERT_SSH_RAW) == 0) {
    return Stop(state,
                "cannot check the ssh host key of " + state->url.host + ": libgit2 gave no key",
                GIT_ECERTIFICATE);
  }
  std::filesystem::path known_hosts = state->config.known_hosts;
  if (known_hosts.empty()) {
    const char* home = std::getenv("HOME");
    known_hosts = std::filesystem::path(home != nullptr ? home : "/") / ".ssh" / "known_hosts";
  }
  const auto problem = KnownHostProblem(known_hosts, state->url.host, state->url.port,
                                        std::string_view(hostkey->hostkey, hostkey->hostkey_len));
  if (problem) return Stop(state, *problem, GIT_ECERTIFICATE);
  return 0;
}

uint16_t DefaultPort(UpstreamUrl::Kind kind) {
  switch (kind) {
    case UpstreamUrl::Kind::kHttps:
      return 443;
    case UpstreamUrl::Kind::kHttp:
      return 80;
    case UpstreamUrl::Kind::kGit:
      return 9418;
    case UpstreamUrl::Kind::kSsh:
      return 22;
    case UpstreamUrl::Kind::kLocal:
      break;
  }
  return 0;
}

// Fetches every branch and tag of `url` into `repo`, as the refspecs say.
void Fetch(git_repository* repo, const UpstreamsConfig& config, const EgressPolicy& policy,
           const UpstreamUrl& parsed, const std::string& url, const std::string& ref,
           const std::function<void(const std::string&)>& progress, std::stop_token cancel) {
  const std::string what = url + ": cannot fetch '" + ref + "': ";
  FetchState state{config, parsed, std::nullopt};
  state.cancel = cancel;
  if (parsed.kind == UpstreamUrl::Kind::kHttps || parsed.kind == UpstreamUrl::Kind::kHttp) {
    try {
      state.http = FindHttpCredential(config, parsed);
    } catch (const Error& e) {
      throw Error(what + e.what());
    }
  }
  // An anonymous remote of `repo` without its url.*.insteadOf rewriting:
  // the URL fetched is the URL the unit names and the policy checked, and
  // libgit2 1.5.1 leaks PCRE2 match data (about 20 KiB) for every config
  // entry its insteadOf lookup does not match (fixed upstream by libgit2
  // pull request 6382).
  git_remote_create_options create;
  git_remote_create_options_init(&create, GIT_REMOTE_CREATE_OPTIONS_VERSION);
  create.repository = repo;
  create.flags = GIT_REMOTE_CREATE_SKIP_INSTEADOF;
  git_remote* remote = nullptr;
  if (git_remote_create_with_opts(&remote, url.c_str(), &create) != 0) {
    throw Error(what + LastGitError());
  }
  const Owned<git_remote, git_remote_free> owned_remote(remote);

  git_fetch_options options;
  git_fetch_options_init(&options, GIT_FETCH_OPTIONS_VERSION);
  options.callbacks.credentials = AcquireCredential;
  options.callbacks.certificate_check = CheckCertificate;
  options.callbacks.sideband_progress = [](const char*, int, void* payload) {
    return StopIfCancelled(static_cast<FetchState*>(payload));
  };
  options.callbacks.transfer_progress = [](const git_indexer_progress*, void* payload) {
    return StopIfCancelled(static_cast<FetchState*>(payload));
  };
  options.callbacks.payload = &state;
  options.prune = GIT_FETCH_PRUNE;
  options.update_fetchhead = 0;
  // The refspecs below fetch every tag; no tag-following on top of them.
  options.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
  // Credentials are chosen for the URL as written; a redirect could take
  // them to another host.
  options.follow_redirects = GIT_REMOTE_REDIRECT_NONE;
  const char* specs[] = {"+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"};
  const git_strarray refspecs{const_cast<char**>(specs), 2};

  if (progress) progress("fetching " + url + " (" + ref + ")");
  const PinnedConnections pinned(policy, config.timeout, cancel);
  if (git_remote_fetch(remote, &refspecs, &options, "hephy upstream fetch") != 0) {
    const std::string interrupted = pinned.interruption();
    throw Error(what + (!state.failure.empty() ? state.failure
                        : !interrupted.empty() ? interrupted
                                               : LastGitError()));
  }
  const git_indexer_progress* stats = git_remote_stats(remote);
  if (progress && stats->received_objects > 0) {
    progress("fetched " + url + ": " + std::to_string(stats->received_objects) + " objects, " +
             std::to_string((stats->received_bytes + 1023) / 1024) + " KiB");
  }
}

// `ref` in `repo`: a tag, a branch, or a full commit id, as a commit.
std::string Lookup(git_repository* repo, const std::string& url, const std::string& ref) {
  if (IsFullHex(ref)) {
    if (auto commit = FindCommit(repo, ref)) return *commit;
    throw Error(url + ": commit " + ref +
                " not found (no branch or tag of the upstream repository reaches it)");
  }
  for (const std::string prefix : {"refs/tags/", "refs/heads/"}) {
    git_reference* reference = nullptr;
    const int rc = git_reference_lookup(&reference, repo, (prefix + ref).c_str());
    if (rc == GIT_ENOTFOUND) continue;
    if (rc != 0) throw Error(url + ": ref '" + ref + "': " + LastGitError());
    const Owned<git_reference, git_reference_free> owned_reference(reference);
    git_object* commit = nullptr;
    if (git_reference_peel(&commit, reference, GIT_OBJECT_COMMIT) != 0) {
      throw Error(url + ": ref '" + ref + "' (" + prefix + ref + ") does not point to a commit");
    }
    const Owned<git_object, git_object_free> owned_commit(commit);
    return OidText(git_object_id(commit));
  }
  throw Error(url + ": ref '" + ref + "' not found (no such tag, branch or commit)");
}

}  // namespace

UpstreamCache::UpstreamCache(std::filesystem::path dir, UpstreamsConfig config,
                             EgressPolicy::Resolver resolver)
    : dir_(std::move(dir)),
      config_(std::move(config)),
      policy_(config_.allow_hosts, std::move(resolver)) {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec) throw Error(dir_.string() + ": cannot create directory: " + ec.message());
  for (const auto& entry : std::filesystem::directory_iterator(dir_, ec)) {
    if (entry.path().filename().string().starts_with("tmp-")) {
      std::filesystem::remove_all(entry.path(), ec);
    }
  }
}

std::mutex& UpstreamCache::MirrorMutex(const std::string& name) {
  const std::lock_guard lock(mutexes_mutex_);
  return mirror_mutexes_[name];
}

UpstreamCache::Resolved UpstreamCache::Resolve(
    const std::string& url, const std::string& ref,
    const std::function<void(const std::string&)>& progress, std::stop_token cancel) {
  UpstreamUrl parsed;
  try {
    parsed = ParseUpstreamUrl(url);
  } catch (const Error& e) {
    throw Error(Redacted(url) + ": " + e.what());
  }
  if (parsed.kind == UpstreamUrl::Kind::kLocal && !config_.allow_local) {
    throw Error(url + ": local upstream repositories are not allowed (upstreams.allow_local)");
  }
  git::Init();
  if (!IsValidRef(ref)) {
    throw Error(url + ": invalid ref '" + Printable(ref) +
                "' (expected a tag, a branch or a full commit id)");
  }

  const std::string name = Sha256Hex(url).substr(0, 16) + ".git";
  const std::filesystem::path mirror = dir_ / name;
  const std::lock_guard lock(MirrorMutex(name));
  const Repo repo = OpenMirror(dir_, mirror);
  if (IsFullHex(ref)) {
    if (auto commit = FindCommit(repo.get(), ref)) return Resolved{mirror, *commit, url};
  }
  // Refused before anything is fetched, with the reason alone: the
  // connections themselves are checked again (pinned_stream.h).
  if (parsed.kind != UpstreamUrl::Kind::kLocal) {
    policy_.Resolve(parsed.host,
                    std::to_string(parsed.port != 0 ? parsed.port : DefaultPort(parsed.kind)));
  }
  Fetch(repo.get(), config_, policy_, parsed, url, ref, progress, cancel);
  const std::string commit = Lookup(repo.get(), url, ref);
  ComponentLogger("upstream")->info("{} ({}) is {}", url, ref, commit);
  return Resolved{mirror, commit, url};
}

}  // namespace hephy

#include "registry/docker_config.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <sstream>

#include "hephy/error.h"
#include "util/base64.h"
#include "util/process.h"

namespace hephy {
namespace {

using nlohmann::json;

// Docker Hub's entry, whatever name the registry goes by; docker's own key.
constexpr char kDockerHubKey[] = "https://index.docker.io/v1/";
// The user name with which credential helpers (and hephy's auth files) mark
// the secret as an identity token.
constexpr char kTokenUser[] = "<token>";

std::string KeyFor(const std::string& registry) {
  if (registry == "docker.io" || registry == "index.docker.io" ||
      registry == "registry-1.docker.io") {
    return kDockerHubKey;
  }
  return registry;
}

// "host[:port]" of an auths key written as a URL by older docker versions:
// "https://host:5000/v2/" is "host:5000".
std::string HostOfKey(std::string_view key) {
  for (const std::string_view scheme : {"http://", "https://"}) {
    if (key.starts_with(scheme)) key.remove_prefix(scheme.size());
  }
  return std::string(key.substr(0, key.find('/')));
}

// It becomes part of a program name looked up in PATH: no '/', no spaces.
bool IsHelperName(const std::string& name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '_' || c == '.' || c == '-';
  });
}

// The text of `file`, or nullopt when it does not exist.
std::optional<std::string> ReadIfExists(const std::filesystem::path& file) {
  UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT) return std::nullopt;
    throw Error(file.string() + ": cannot read: " + std::strerror(errno));
  }
  std::string text;
  char buffer[65536];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n == 0) return text;
    if (n < 0 && errno != EINTR) {
      throw Error(file.string() + ": cannot read: " + std::strerror(errno));
    }
    if (n > 0) text.append(buffer, static_cast<size_t>(n));
  }
}

// The 1-based line of byte `byte` (1-based, as nlohmann reports it).
size_t LineOf(const std::string& text, size_t byte) {
  const size_t end = std::min(text.size(), byte > 0 ? byte - 1 : 0);
  return 1 + static_cast<size_t>(std::count(text.begin(), text.begin() + end, '\n'));
}

// `object[field]`, or nullptr when it is absent or null (as Go's decoder,
// and so docker, treats null).
const json* Field(const json& object, const std::string& field) {
  const auto it = object.find(field);
  return it == object.end() || it->is_null() ? nullptr : &*it;
}

// Type checks whose errors name the file and the field, never the value.
struct Fields {
  std::string file;

  Error Fail(const std::string& where, const std::string& reason) const {
    return Error(file + ": " + where + ": " + reason);
  }
  const json* Object(const json& parent, const std::string& field, const std::string& where) const {
    const json* value = Field(parent, field);
    if (value != nullptr && !value->is_object()) throw Fail(where, "expected an object");
    return value;
  }
  std::string String(const json& parent, const std::string& field, const std::string& where) const {
    const json* value = Field(parent, field);
    if (value == nullptr) return "";
    if (!value->is_string()) throw Fail(where, "expected a string");
    return value->get<std::string>();
  }
  std::string Helper(const json& parent, const std::string& field, const std::string& where) const {
    std::string name = String(parent, field, where);
    if (!name.empty() && !IsHelperName(name)) {
      throw Fail(where, json(name).dump() +
                            " is not a credential helper name (letters, digits, '_', '.', '-')");
    }
    return name;
  }
};

std::string Quoted(const std::string& key) { return "[" + json(key).dump() + "]"; }

RegistryCredentials ParseAuthEntry(const Fields& fields, const json& entry,
                                   const std::string& where) {
  if (!entry.is_object()) throw fields.Fail(where, "expected an object");
  RegistryCredentials c;
  c.username = fields.String(entry, "username", where + ".username");
  c.password = fields.String(entry, "password", where + ".password");
  c.identity_token = fields.String(entry, "identitytoken", where + ".identitytoken");
  // docker lets "auth" override the separate fields, and skips an empty one.
  const std::string auth = fields.String(entry, "auth", where + ".auth");
  if (!auth.empty()) {
    const auto decoded = Base64Decode(auth);
    const size_t colon = decoded ? decoded->find(':') : std::string::npos;
    if (colon == std::string::npos || colon == 0) {
      throw fields.Fail(where + ".auth", "expected base64 of \"user:password\"");
    }
    c.username = decoded->substr(0, colon);
    c.password = decoded->substr(colon + 1);
  }
  if (!c.identity_token.empty() && c.username == kTokenUser) c.username.clear();
  return c;
}

// The start of a helper's stderr, for an error message: at most three
// non-blank lines joined by "; ", at most 300 characters.
std::string Excerpt(const std::string& text) {
  constexpr size_t kMaxLines = 3, kMaxChars = 300;
  std::string out;
  size_t lines = 0;
  bool cut = false;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    const size_t begin = line.find_first_not_of(" \t\r");
    if (begin == std::string::npos) continue;
    if (lines == kMaxLines) {
      cut = true;
      break;
    }
    line = line.substr(begin, line.find_last_not_of(" \t\r") + 1 - begin);
    out += (lines++ > 0 ? "; " : "") + line;
  }
  if (out.size() > kMaxChars) {
    out.resize(kMaxChars);
    cut = true;
  }
  return cut ? out + " ..." : out;
}

}  // namespace

DockerConfig DockerConfig::Load(const std::filesystem::path& file) {
  DockerConfig config;
  config.file_ = file;
  const auto text = ReadIfExists(file);
  if (!text || text->find_first_not_of(" \t\r\n") == std::string::npos) return config;
  json root;
  try {
    root = json::parse(*text);
  } catch (const json::parse_error& e) {
    // Not e.what(): it quotes the text last read, which may be a secret.
    throw Error(file.string() + ":" + std::to_string(LineOf(*text, e.byte)) + ": not valid JSON");
  } catch (const json::out_of_range&) {
    // The parser's one other error, a number beyond a double; it has no position.
    throw Error(file.string() + ": not valid JSON: a number is out of range");
  }
  const Fields fields{file.string()};
  if (!root.is_object()) throw Error(file.string() + ": expected a JSON object");

  if (const json* auths = fields.Object(root, "auths", "auths")) {
    for (const auto& [key, entry] : auths->items()) {
      if (entry.is_null()) continue;
      config.auths_[key] = ParseAuthEntry(fields, entry, "auths" + Quoted(key));
    }
  }
  if (const json* helpers = fields.Object(root, "credHelpers", "credHelpers")) {
    for (const auto& item : helpers->items()) {
      const std::string& key = item.key();
      config.credential_helpers_[key] = fields.Helper(*helpers, key, "credHelpers" + Quoted(key));
    }
  }
  config.credentials_store_ = fields.Helper(root, "credsStore", "credsStore");
  return config;
}

std::optional<RegistryCredentials> DockerConfig::CredentialsFor(
    const std::string& registry, std::chrono::milliseconds timeout) const {
  const std::string key = KeyFor(registry);
  // An empty credHelpers entry means the file, not credsStore, as in docker.
  const auto helper = credential_helpers_.find(key);
  const std::string& name =
      helper != credential_helpers_.end() ? helper->second : credentials_store_;
  if (!name.empty()) return FromHelper(name, registry, key, timeout);

  auto entry = auths_.find(key);
  if (entry == auths_.end()) {
    entry = std::find_if(auths_.begin(), auths_.end(),
                         [&](const auto& e) { return HostOfKey(e.first) == key; });
  }
  if (entry == auths_.end() || entry->second == RegistryCredentials{}) return std::nullopt;
  return entry->second;
}

std::optional<RegistryCredentials> DockerConfig::FromHelper(
    const std::string& helper, const std::string& registry, const std::string& key,
    std::chrono::milliseconds timeout) const {
  const std::string program = "docker-credential-" + helper;
  const std::string context =
      "registry " + registry + ": credential helper " + program + " (" + file_.string() + ")";
  RunResult result;
  try {
    result = Run({.argv = {program, "get"}}, key, timeout);
  } catch (const Error& e) {
    throw Error(context + ": " + e.what());
  }
  if (result.timed_out) {
    throw Error(context + ": timed out after " + std::to_string(timeout.count()) + " ms");
  }
  // Never result.out in a message: on success it is the secret, and a
  // confused helper may print one on failure too.
  if (result.exit_code != 0) {
    if (result.out.find("credentials not found") != std::string::npos) return std::nullopt;
    const std::string err = Excerpt(result.err);
    throw Error(context + ": exited with status " + std::to_string(result.exit_code) +
                (err.empty() ? "" : ": " + err));
  }
  json answer;
  try {
    answer = json::parse(result.out);
  } catch (const json::exception&) {  // not JSON, or a number out of range
  }
  const json* username = answer.is_object() ? Field(answer, "Username") : nullptr;
  const json* secret = answer.is_object() ? Field(answer, "Secret") : nullptr;
  if (username == nullptr || secret == nullptr || !username->is_string() || !secret->is_string()) {
    throw Error(context +
                ": answered with something other than {\"Username\": ..., \"Secret\": ...}");
  }
  RegistryCredentials c;
  if (username->get<std::string>() == kTokenUser) {
    c.identity_token = secret->get<std::string>();
  } else {
    c.username = username->get<std::string>();
    c.password = secret->get<std::string>();
  }
  if (c == RegistryCredentials{}) return std::nullopt;
  return c;
}

std::string AuthFileFor(const std::string& registry, const RegistryCredentials& credentials) {
  // containers/image (buildah) skips an entry whose "auth" lacks "user:" and
  // docker (Kaniko) rejects an empty user, so an identity token without a
  // user gets docker's placeholder; Load reads it back as no user.
  std::string user = credentials.username;
  if (user.empty() && !credentials.identity_token.empty()) user = kTokenUser;
  json entry;
  entry["auth"] = Base64Encode(user + ":" + credentials.password);
  if (!credentials.identity_token.empty()) entry["identitytoken"] = credentials.identity_token;
  json file;
  file["auths"][KeyFor(registry)] = entry;
  return file.dump(2) + "\n";
}

}  // namespace hephy

#include "registry/image_index.h"

#include <nlohmann/json.hpp>
#include <regex>

#include "hephy/error.h"

namespace hephy {
namespace {

struct Child {
  std::string digest;
  std::string media_type;
  size_t size = 0;
  Platform platform;
};

// A string member of `json`, or "" when it is absent or not a string.
std::string StringField(const nlohmann::json& json, const char* key) {
  const auto it = json.find(key);
  return it != json.end() && it->is_string() ? it->get<std::string>() : "";
}

// The child's manifest and the platform its config blob declares.
Child ReadChild(RegistryClient& registry, const std::string& repository,
                const std::string& digest) {
  const std::string context = "image index for " + repository + ": child " + digest + ": ";
  RegistryClient::Manifest manifest;
  try {
    manifest = registry.GetManifest(repository, digest);
  } catch (const Error& e) {
    throw Error(context + e.what());
  }
  if (manifest.media_type != kOciManifest && manifest.media_type != kDockerManifest) {
    throw Error(context + "is a " + manifest.media_type + ", not a single-image manifest");
  }
  const auto json = nlohmann::json::parse(manifest.body, nullptr, false);
  const std::string config_digest =
      json.is_object() && json.contains("config") && json["config"].is_object()
          ? StringField(json["config"], "digest")
          : "";
  if (config_digest.empty()) throw Error(context + "manifest has no config digest");

  std::string config_bytes;
  try {
    config_bytes = registry.GetBlob(repository, config_digest);
  } catch (const Error& e) {
    throw Error(context + "config " + config_digest + ": " + e.what());
  }
  const auto config = nlohmann::json::parse(config_bytes, nullptr, false);
  if (!config.is_object()) throw Error(context + "config " + config_digest + " is not JSON");
  Child child{digest, manifest.media_type, manifest.body.size(),
              Platform{StringField(config, "os"), StringField(config, "architecture"),
                       StringField(config, "variant")}};
  if (child.platform.os.empty() || child.platform.architecture.empty()) {
    throw Error(context + "config " + config_digest + " names no os and architecture");
  }
  return child;
}

}  // namespace

Platform ParsePlatform(const std::string& text) {
  static const std::regex kPlatform("([a-z0-9]+)/([a-z0-9_]+)(?:/([a-z0-9]+))?");
  std::smatch match;
  if (!std::regex_match(text, match, kPlatform)) {
    throw Error("invalid platform '" + text +
                "' (expected os/arch[/variant] in lower case, e.g. linux/arm64 or linux/arm/v7)");
  }
  return Platform{match[1], match[2], match[3]};
}

std::string ToString(const Platform& platform) {
  std::string text = platform.os + "/" + platform.architecture;
  if (!platform.variant.empty()) text += "/" + platform.variant;
  return text;
}

StitchedIndex StitchIndex(RegistryClient& registry, const std::string& repository,
                          const std::vector<std::string>& child_digests,
                          const std::map<std::string, std::string>& annotations,
                          const std::vector<std::string>& tags) {
  if (child_digests.empty()) {
    throw Error("image index for " + repository + ": no child manifests to stitch");
  }
  std::vector<Child> children;
  std::map<std::string, std::string> digest_by_platform;
  for (const auto& digest : child_digests) {
    Child child = ReadChild(registry, repository, digest);
    const std::string platform = ToString(child.platform);
    const auto [it, inserted] = digest_by_platform.emplace(platform, digest);
    if (!inserted) {
      throw Error("image index for " + repository + ": children " + it->second + " and " + digest +
                  " are both " + platform);
    }
    if (!children.empty() && child.media_type != children.front().media_type) {
      throw Error("image index for " + repository +
                  ": children mix media types: " + children.front().digest + " is " +
                  children.front().media_type + ", " + digest + " is " + child.media_type);
    }
    children.push_back(std::move(child));
  }

  const bool oci = children.front().media_type == kOciManifest;
  StitchedIndex index;
  index.media_type = oci ? kOciIndex : kDockerManifestList;
  // ordered_json: keys in the order written, the conventional one, so that
  // the same inputs always give the same bytes and the same digest.
  nlohmann::ordered_json json;
  json["schemaVersion"] = 2;
  json["mediaType"] = index.media_type;
  json["manifests"] = nlohmann::ordered_json::array();
  for (const auto& child : children) {
    nlohmann::ordered_json platform;
    platform["architecture"] = child.platform.architecture;
    platform["os"] = child.platform.os;
    if (!child.platform.variant.empty()) platform["variant"] = child.platform.variant;
    nlohmann::ordered_json entry;
    entry["mediaType"] = child.media_type;
    entry["digest"] = child.digest;
    entry["size"] = child.size;
    entry["platform"] = std::move(platform);
    json["manifests"].push_back(std::move(entry));
  }
  if (oci && !annotations.empty()) {
    nlohmann::ordered_json notes = nlohmann::ordered_json::object();
    for (const auto& [key, value] : annotations) notes[key] = value;
    json["annotations"] = std::move(notes);
  }
  index.body = json.dump();
  index.digest = Sha256Digest(index.body);

  if (tags.empty()) registry.PutManifest(repository, index.digest, index.media_type, index.body);
  for (const auto& tag : tags) registry.PutManifest(repository, tag, index.media_type, index.body);
  return index;
}

}  // namespace hephy

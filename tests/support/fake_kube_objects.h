// The objects of the fake Kubernetes API server (fake_kube_api.h): the v1
// JSON the real API server makes of them (Status objects, what it sets on a
// new object, label and field selectors), and FakeKubeStore, what the fake
// server holds under one lock: the objects, the resourceVersion they share,
// and the events sent to watchers.
#pragma once

#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <ctime>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <sstream>
#include <stop_token>
#include <string>
#include <tuple>
#include <vector>

#include "util/base64.h"

namespace hephy {

namespace fake_kube {

inline std::string Now() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

// `when` as the kubelet stamps log lines (Go's RFC3339Nano): UTC, and the
// fraction of the second without its trailing zeros, or none.
inline std::string LogTime(std::chrono::system_clock::time_point when) {
  const auto seconds = std::chrono::floor<std::chrono::seconds>(when);
  const std::time_t whole = std::chrono::system_clock::to_time_t(seconds);
  std::tm utc{};
  gmtime_r(&whole, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
  std::string fraction = std::to_string(
      std::chrono::duration_cast<std::chrono::nanoseconds>(when - seconds).count() + 1000000000);
  fraction.erase(0, 1);
  while (!fraction.empty() && fraction.back() == '0') fraction.pop_back();
  return text + (fraction.empty() ? "" : "." + fraction) + "Z";
}

// A log's sinceTime as the API server hands it on to the kubelet: RFC 3339
// (with or without a fraction), in whole seconds. nullopt if it is not one.
inline std::optional<std::chrono::system_clock::time_point> SinceTime(const std::string& text) {
  std::tm utc{};
  const char* rest = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &utc);
  if (rest == nullptr) return std::nullopt;
  if (*rest == '.') {
    ++rest;
    while (std::isdigit(static_cast<unsigned char>(*rest))) ++rest;
  }
  if (std::string(rest) != "Z") return std::nullopt;
  return std::chrono::system_clock::from_time_t(timegm(&utc));
}

inline std::string Uid() {
  static std::mt19937_64 random{std::random_device{}()};
  static std::mutex random_mutex;
  const std::lock_guard lock(random_mutex);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string uid;
  for (const int length : {8, 4, 4, 4, 12}) {
    if (!uid.empty()) uid += '-';
    for (int i = 0; i < length; ++i) uid += kHex[random() % 16];
  }
  return uid;
}

// The kind of the resources served ("pods": "Pod"); "" for any other.
inline std::string Kind(const std::string& resource) {
  return resource == "pods" ? "Pod" : resource == "secrets" ? "Secret" : "";
}

// The parts of `text` between separators, empty ones left out.
inline std::vector<std::string> Split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::string part;
  std::istringstream in(text);
  while (std::getline(in, part, separator)) {
    if (!part.empty()) parts.push_back(part);
  }
  return parts;
}

// The query parameter `name`, or "".
inline std::string Value(const std::map<std::string, std::string>& query, const std::string& name) {
  const auto it = query.find(name);
  return it == query.end() ? "" : it->second;
}

// Equality-based label selectors ("a=b,c==d,e!=f,g,!h") and field
// selectors on any string field ("metadata.name=x,status.phase!=Failed").
inline bool Selected(const nlohmann::json& object, const std::string& labels,
                     const std::string& fields) {
  const nlohmann::json have =
      object.value("metadata", nlohmann::json::object()).value("labels", nlohmann::json::object());
  for (const std::string& term : Split(labels, ',')) {
    const auto bang = term.find("!=");
    const auto equals = term.find('=');
    if (bang != std::string::npos) {
      const std::string key = term.substr(0, bang);
      if (have.contains(key) && have[key] == term.substr(bang + 2)) return false;
    } else if (equals != std::string::npos) {
      const std::string key = term.substr(0, equals);
      const std::string value = term.substr(term.find_first_not_of('=', equals));
      if (!have.contains(key) || have[key] != value) return false;
    } else if (term.starts_with('!')) {
      if (have.contains(term.substr(1))) return false;
    } else if (!have.contains(term)) {
      return false;
    }
  }
  for (const std::string& term : Split(fields, ',')) {
    const auto bang = term.find("!=");
    const auto equals = term.find('=');
    if (equals == std::string::npos) continue;
    const std::string path = term.substr(0, bang != std::string::npos ? bang : equals);
    const std::string value = term.substr(term.find_first_not_of("!=", path.size()));
    const nlohmann::json::json_pointer pointer("/" + [&] {
      std::string p = path;
      for (char& c : p) c = c == '.' ? '/' : c;
      return p;
    }());
    const std::string actual = object.contains(pointer) && object[pointer].is_string()
                                   ? object[pointer].get<std::string>()
                                   : "";
    if ((actual == value) == (bang != std::string::npos)) return false;
  }
  return true;
}

// A Status object as the API server sends for a failure.
inline nlohmann::json Status(int code, const std::string& reason, const std::string& message,
                             const std::string& name = "", const std::string& kind = "") {
  nlohmann::json status = {
      {"kind", "Status"},    {"apiVersion", "v1"}, {"metadata", nlohmann::json::object()},
      {"status", "Failure"}, {"message", message}, {"reason", reason},
      {"code", code}};
  if (!name.empty()) status["details"] = {{"name", name}, {"kind", kind}};
  return status;
}

// Checks a new object of `resource` sent to namespace `ns` as the API
// server does, and gives it its name (from generateName if need be): the
// Status of the failure, or nullopt when it is accepted.
inline std::optional<nlohmann::json> Admit(const std::string& resource, const std::string& ns,
                                           nlohmann::json& object) {
  const std::string kind = Kind(resource);
  if (!object.is_object() || object.value("kind", kind) != kind ||
      object.value("apiVersion", "v1") != "v1") {
    return Status(400, "BadRequest",
                  "the object provided is unrecognized (must be of type " + kind + ")");
  }
  nlohmann::json& metadata = object["metadata"];
  if (!metadata.is_object()) metadata = nlohmann::json::object();
  if (metadata.value("namespace", ns) != ns) {
    return Status(400, "BadRequest",
                  "the namespace of the provided object does not match the namespace sent "
                  "on the request");
  }
  std::string name = metadata.value("name", "");
  if (name.empty() && !metadata.value("generateName", "").empty()) {
    name = metadata["generateName"].get<std::string>() + Uid().substr(0, 5);
  }
  if (name.empty()) {
    return Status(422, "Invalid",
                  kind +
                      " \"\" is invalid: metadata.name: Required value: name or "
                      "generateName is required");
  }
  if (resource == "pods") {
    const nlohmann::json containers = object["spec"].value("containers", nlohmann::json());
    if (!containers.is_array() || containers.empty()) {
      return Status(422, "Invalid",
                    "Pod \"" + name + "\" is invalid: spec.containers: Required value", name,
                    resource);
    }
  }
  metadata["name"] = name;
  return std::nullopt;
}

// What the API server sets on an admitted object as it stores it in `ns`
// with `resource_version`: its identity, a pod's defaults and status, a
// secret's stringData as data.
inline void Complete(const std::string& resource, const std::string& ns,
                     const std::string& resource_version, nlohmann::json& object) {
  nlohmann::json& metadata = object["metadata"];
  object["kind"] = Kind(resource);
  object["apiVersion"] = "v1";
  metadata["namespace"] = ns;
  metadata["uid"] = Uid();
  metadata["creationTimestamp"] = Now();
  metadata["resourceVersion"] = resource_version;
  if (resource == "pods") {
    nlohmann::json& spec = object["spec"];
    if (!spec.contains("restartPolicy")) spec["restartPolicy"] = "Always";
    if (!spec.contains("terminationGracePeriodSeconds")) spec["terminationGracePeriodSeconds"] = 30;
    object["status"] = {{"phase", "Pending"}, {"qosClass", "BestEffort"}};
  }
  if (resource == "secrets" && object.contains("stringData")) {
    // The API server keeps stringData as data.
    for (const auto& [key_name, value] : object["stringData"].items()) {
      object["data"][key_name] = Base64Encode(value.get<std::string>());
    }
    object.erase("stringData");
  }
}

// The names of a pod's containers in `list` ("initContainers", "containers").
inline std::vector<std::string> ContainerNames(const nlohmann::json& pod, const char* list) {
  std::vector<std::string> names;
  for (const nlohmann::json& c : pod["spec"].value(list, nlohmann::json::array())) {
    names.push_back(c.value("name", ""));
  }
  return names;
}

// The status of `container` in the pod, or null.
inline nlohmann::json ContainerStatus(const nlohmann::json& pod, const std::string& container) {
  for (const char* list : {"initContainerStatuses", "containerStatuses"}) {
    for (const nlohmann::json& status : pod["status"].value(list, nlohmann::json::array())) {
      if (status.value("name", "") == container) return status;
    }
  }
  return nullptr;
}

}  // namespace fake_kube

// What the fake API server holds. Every member is guarded by `mutex`.
struct FakeKubeStore {
  using Key = std::tuple<std::string, std::string, std::string>;  // resource, namespace, name

  // One object; for a pod also its containers' logs, and a stop source
  // requested when it is deleted (or the server stops).
  struct LogLine {
    std::chrono::system_clock::time_point time;  // as the kubelet stamps it
    std::string text;
  };
  struct Record {
    nlohmann::json object;
    std::map<std::string, std::vector<LogLine>> logs;  // by container
    std::stop_source stop;
    bool gone = false;
  };

  struct WatchEvent {
    uint64_t resource_version;
    Key key;
    std::string type;  // ADDED, MODIFIED, DELETED
    nlohmann::json object;
  };

  std::string NextResourceVersion() { return std::to_string(++resource_version); }

  // Records a change of the object under `key` for watchers.
  void Emit(const Key& key, const std::string& type, const nlohmann::json& object) {
    events.push_back({resource_version, key, type, object});
    changed.notify_all();
  }

  // Waits until `condition` holds, checked whenever something changes;
  // false when `timeout` passed first. `condition` runs with `mutex` held.
  bool WaitFor(const std::function<bool()>& condition, std::chrono::milliseconds timeout) const {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, timeout, condition);
  }

  // Recursive: WaitFor's condition runs with it held and may call the
  // server's accessors, which take it too.
  mutable std::recursive_mutex mutex;
  // Notified on every change: a request, an object, a log line, stopping.
  mutable std::condition_variable_any changed;
  bool stopping = false;
  uint64_t resource_version = 1000;
  std::map<Key, std::shared_ptr<Record>> objects;
  std::vector<WatchEvent> events;
};

}  // namespace hephy

// A Kubernetes API server for tests, as far as hephyd uses one: a real
// HTTP/1.1 server on 127.0.0.1 (optionally HTTPS from a test CA, with a
// bearer token or client certificates required) that speaks the v1 JSON of
// pods (create, get, list, delete, watch, log) and secrets, and Status
// objects for errors, as the real API server does. No kubelet runs pods:
// a test installs a script, run on a thread of its own for each pod created,
// that drives the pod through FakePod as a kubelet would (phase, conditions,
// container states, log lines); every change bumps the resourceVersion and
// is sent to watchers. Every request is recorded. Needs Boost.Beast and
// OpenSSL::SSL; stopped at the end.
//
// Its parts: fake_kube_http.h serves HTTP and HTTPS, fake_kube_objects.h
// holds the objects and their JSON, fake_kube_pod.h drives a pod; this file
// routes the API's requests to them.
#pragma once

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "executors/kube_client.h"
#include "fake_kube_http.h"
#include "fake_kube_objects.h"
#include "fake_kube_pod.h"
#include "test_ca.h"

namespace hephy {

class FakeKubeApi {
 public:
  struct Options {
    // With a directory: HTTPS with a certificate for 127.0.0.1 and
    // localhost from a test CA made in it.
    std::filesystem::path tls_dir;
    // When not empty, every request must carry it as a bearer token (else
    // 401 Unauthorized).
    std::string token;
    // HTTPS only: the TLS handshake requires a client certificate from the
    // test CA.
    bool client_certificates = false;
  };

  // What an interceptor answers instead of the API: a status and its body.
  struct Answer {
    int status = 200;
    nlohmann::json body;
  };
  using Interceptor = std::function<std::optional<Answer>(const RecordedRequest&)>;
  using PodScript = std::function<void(FakePod pod)>;

  FakeKubeApi() : FakeKubeApi(Options()) {}
  explicit FakeKubeApi(Options options)
      : options_(std::move(options)),
        ca_(options_.tls_dir.empty() ? std::nullopt : std::optional<TestCa>(options_.tls_dir)),
        http_(ca_ ? &*ca_ : nullptr, options_.client_certificates,
              [this](const RecordedRequest& request) { return Handle(request); }) {}

  // Stops every watch and log stream, ends every connection and waits for
  // the pod scripts, which must end once their pod's stop_token is requested.
  ~FakeKubeApi() {
    std::vector<std::shared_ptr<FakeKubeStore::Record>> records;
    {
      const std::lock_guard lock(store_.mutex);
      store_.stopping = true;
      for (const auto& [key, record] : store_.objects) records.push_back(record);
      store_.changed.notify_all();
    }
    for (const auto& record : records) record->stop.request_stop();
    http_.Stop();
    std::vector<std::thread> scripts;
    {
      const std::lock_guard lock(store_.mutex);
      scripts.swap(scripts_);
    }
    for (auto& script : scripts) script.join();
  }
  FakeKubeApi(const FakeKubeApi&) = delete;
  FakeKubeApi& operator=(const FakeKubeApi&) = delete;

  std::string url() const { return http_.url(); }
  // The test CA's certificate (HTTPS only).
  std::filesystem::path ca_certificate() const { return ca_->certificate(); }

  // How a client reaches this server: its URL, the CA's PEM, the token, and
  // with `client_user` a client certificate with that common name.
  KubeCluster Cluster(const std::string& client_user = "") {
    KubeCluster cluster{.server = url(), .token = options_.token, .default_namespace = "default"};
    if (ca_) cluster.ca_pem = ReadFile(ca_->certificate());
    if (!client_user.empty()) {
      const TestCa::Issued client = ca_->IssueClient(client_user);
      cluster.client_cert_pem = ReadFile(client.certificate);
      cluster.client_key_pem = ReadFile(client.key);
    }
    return cluster;
  }

  // Runs `script` on a thread of its own for every pod created from now on.
  void OnPodCreated(PodScript script) {
    const std::lock_guard lock(store_.mutex);
    script_ = std::move(script);
  }

  // How the next followed log stream (each call, one more) ends before
  // the container's log does: once it has written `after_lines` lines and
  // has another to write, it is `broken` off (the connection closed
  // mid-body, as by an API server that restarts), or else ended as if the
  // log were whole.
  struct LogCut {
    size_t after_lines = 0;
    bool broken = true;
  };
  void CutNextLog(LogCut cut) {
    const std::lock_guard lock(store_.mutex);
    log_cuts_.push_back(cut);
  }

  // Asked first for every request (after authentication); an answer
  // replaces the API's (a 403, a 500 ...).
  void Intercept(Interceptor interceptor) {
    const std::lock_guard lock(store_.mutex);
    interceptor_ = std::move(interceptor);
  }

  std::vector<RecordedRequest> Requests() const {
    const std::lock_guard lock(store_.mutex);
    return requests_;
  }

  // The pod, or nullopt when there is none (any more).
  std::optional<FakePod> Pod(const std::string& ns, const std::string& name) {
    const std::lock_guard lock(store_.mutex);
    const auto it = store_.objects.find({"pods", ns, name});
    if (it == store_.objects.end()) return std::nullopt;
    return FakePod(&store_, it->second, ns, name);
  }
  // The objects of `resource` ("pods", "secrets") in `ns`.
  std::vector<nlohmann::json> Objects(const std::string& resource, const std::string& ns) const {
    const std::lock_guard lock(store_.mutex);
    std::vector<nlohmann::json> out;
    for (const auto& [key, record] : store_.objects) {
      if (std::get<0>(key) == resource && std::get<1>(key) == ns) out.push_back(record->object);
    }
    return out;
  }

  // Waits until `condition` holds, checked whenever a request arrives or
  // an object changes; false when `timeout` passed first. `condition` runs
  // with the server's lock held, and may call the accessors above.
  bool WaitFor(const std::function<bool()>& condition, std::chrono::milliseconds timeout) const {
    return store_.WaitFor(condition, timeout);
  }

  // A Status object as the API server sends for a failure.
  static nlohmann::json Status(int code, const std::string& reason, const std::string& message,
                               const std::string& name = "", const std::string& kind = "") {
    return fake_kube::Status(code, reason, message, name, kind);
  }

 private:
  using Key = FakeKubeStore::Key;
  using Reply = FakeKubeHttp::Reply;
  using Write = FakeKubeHttp::Write;

  static std::string ReadFile(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
  }

  static Reply Json(int status, const nlohmann::json& body) {
    return {status, "application/json", body.dump()};
  }
  static Reply Failure(int code, const std::string& reason, const std::string& message,
                       const std::string& name = "", const std::string& kind = "") {
    return Json(code, Status(code, reason, message, name, kind));
  }
  static Reply NotFound(const std::string& resource, const std::string& name) {
    return Failure(404, "NotFound", resource + " \"" + name + "\" not found", name, resource);
  }

  // Records the request, then answers it.
  Reply Handle(const RecordedRequest& request) {
    {
      const std::lock_guard lock(store_.mutex);
      requests_.push_back(request);
      store_.changed.notify_all();
    }
    if (!options_.token.empty()) {
      const auto it = request.headers.find("authorization");
      if (it == request.headers.end() || it->second != "Bearer " + options_.token) {
        return Failure(401, "Unauthorized", "Unauthorized");
      }
    }
    std::unique_lock lock(store_.mutex);
    if (interceptor_) {
      if (const std::optional<Answer> answer = interceptor_(request)) {
        return Json(answer->status, answer->body);
      }
    }
    // /api/v1/namespaces/NS/RESOURCE[/NAME[/SUBRESOURCE]]
    const std::vector<std::string> parts = fake_kube::Split(request.path, '/');
    if (parts.size() < 5 || parts.size() > 7 || parts[0] != "api" || parts[1] != "v1" ||
        parts[2] != "namespaces" || fake_kube::Kind(parts[4]).empty()) {
      return Failure(404, "NotFound", "the server could not find the requested resource");
    }
    const std::string& ns = parts[3];
    const std::string& resource = parts[4];
    const std::string name = parts.size() > 5 ? parts[5] : "";
    const std::string& method = request.method;
    if (parts.size() == 7) {
      if (resource == "pods" && parts[6] == "log" && method == "GET") {
        return Log(ns, name, request.query);
      }
      return Failure(404, "NotFound", "the server could not find the requested resource");
    }
    if (name.empty() && method == "POST") return Create(resource, ns, request.body);
    if (name.empty() && method == "GET") {
      const auto watch = request.query.find("watch");
      if (watch != request.query.end() && (watch->second == "true" || watch->second == "1")) {
        return Watch(resource, ns, request.query);
      }
      return List(resource, ns, request.query);
    }
    if (!name.empty() && method == "GET") {
      const auto it = store_.objects.find({resource, ns, name});
      if (it == store_.objects.end()) return NotFound(resource, name);
      return Json(200, it->second->object);
    }
    if (!name.empty() && method == "DELETE") {
      return Delete(resource, ns, name, request.query, request.body, lock);
    }
    return Failure(405, "MethodNotAllowed",
                   "the server does not allow this method on the requested resource");
  }

  Reply Create(const std::string& resource, const std::string& ns, const std::string& body) {
    nlohmann::json object = nlohmann::json::parse(body, nullptr, false);
    if (const std::optional<nlohmann::json> refused = fake_kube::Admit(resource, ns, object)) {
      return Json((*refused)["code"].get<int>(), *refused);
    }
    const std::string name = object["metadata"]["name"];
    const Key key{resource, ns, name};
    if (store_.objects.contains(key)) {
      return Failure(409, "AlreadyExists", resource + " \"" + name + "\" already exists", name,
                     resource);
    }
    fake_kube::Complete(resource, ns, store_.NextResourceVersion(), object);
    auto record = std::make_shared<FakeKubeStore::Record>();
    record->object = object;
    store_.objects[key] = record;
    store_.Emit(key, "ADDED", object);
    if (resource == "pods" && script_) {
      scripts_.emplace_back(
          [script = script_, pod = FakePod(&store_, record, ns, name)] { script(pod); });
    }
    return Json(201, object);
  }

  Reply List(const std::string& resource, const std::string& ns,
             const std::map<std::string, std::string>& query) {
    nlohmann::json items = nlohmann::json::array();
    for (const auto& [key, record] : store_.objects) {
      if (std::get<0>(key) != resource || std::get<1>(key) != ns) continue;
      if (!fake_kube::Selected(record->object, fake_kube::Value(query, "labelSelector"),
                               fake_kube::Value(query, "fieldSelector"))) {
        continue;
      }
      nlohmann::json item = record->object;
      // Items of a list carry no kind and apiVersion of their own.
      item.erase("kind");
      item.erase("apiVersion");
      items.push_back(std::move(item));
    }
    return Json(200, {{"kind", fake_kube::Kind(resource) + "List"},
                      {"apiVersion", "v1"},
                      {"metadata", {{"resourceVersion", std::to_string(store_.resource_version)}}},
                      {"items", items}});
  }

  Reply Delete(const std::string& resource, const std::string& ns, const std::string& name,
               const std::map<std::string, std::string>& query, const std::string& body,
               std::unique_lock<std::recursive_mutex>& lock) {
    const Key key{resource, ns, name};
    const auto it = store_.objects.find(key);
    if (it == store_.objects.end()) return NotFound(resource, name);
    const std::shared_ptr<FakeKubeStore::Record> record = it->second;
    store_.objects.erase(it);
    record->gone = true;
    nlohmann::json& object = record->object;
    object["metadata"]["resourceVersion"] = store_.NextResourceVersion();
    if (resource == "pods") {
      // gracePeriodSeconds from the query or a DeleteOptions body.
      const nlohmann::json options = nlohmann::json::parse(body, nullptr, false);
      int64_t grace = object["spec"].value("terminationGracePeriodSeconds", 30);
      if (options.is_object() && options.contains("gracePeriodSeconds")) {
        grace = options["gracePeriodSeconds"].get<int64_t>();
      }
      if (!fake_kube::Value(query, "gracePeriodSeconds").empty()) {
        grace = std::stoll(fake_kube::Value(query, "gracePeriodSeconds"));
      }
      object["metadata"]["deletionTimestamp"] = fake_kube::Now();
      object["metadata"]["deletionGracePeriodSeconds"] = grace;
    }
    store_.Emit(key, "DELETED", object);
    const nlohmann::json answer =
        resource == "pods"
            ? object
            : nlohmann::json{
                  {"kind", "Status"},
                  {"apiVersion", "v1"},
                  {"metadata", nlohmann::json::object()},
                  {"status", "Success"},
                  {"details",
                   {{"name", name}, {"kind", resource}, {"uid", object["metadata"]["uid"]}}}};
    // Stop callbacks of the pod's script may call back into the server.
    lock.unlock();
    record->stop.request_stop();
    return Json(200, answer);
  }

  Reply Watch(const std::string& resource, const std::string& ns,
              const std::map<std::string, std::string>& query) {
    const std::string labels = fake_kube::Value(query, "labelSelector");
    const std::string fields = fake_kube::Value(query, "fieldSelector");
    const std::string since = fake_kube::Value(query, "resourceVersion");
    const std::string timeout = fake_kube::Value(query, "timeoutSeconds");
    const std::chrono::steady_clock::time_point deadline =
        std::chrono::steady_clock::now() +
        (timeout.empty() ? std::chrono::hours(24) : std::chrono::seconds(std::stoll(timeout)));
    // A watch of one named object ends with its deletion.
    std::string named;
    for (const std::string& term : fake_kube::Split(fields, ',')) {
      if (term.starts_with("metadata.name=")) named = term.substr(14);
    }
    const auto selected = [=](const Key& key, const nlohmann::json& object) {
      return std::get<0>(key) == resource && std::get<1>(key) == ns &&
             fake_kube::Selected(object, labels, fields);
    };
    std::vector<std::string> initial;
    size_t next = store_.events.size();
    if (since.empty() || since == "0") {
      // Without a version to start from, the API sends what exists now first.
      for (const auto& [key, record] : store_.objects) {
        if (selected(key, record->object)) {
          initial.push_back(nlohmann::json{{"type", "ADDED"}, {"object", record->object}}.dump() +
                            "\n");
        }
      }
    } else {
      const uint64_t after = std::stoull(since);
      next = 0;
      while (next < store_.events.size() && store_.events[next].resource_version <= after) ++next;
    }
    return Reply{
        200, "application/json", "",
        [=, this](const Write& write, const std::function<bool()>& client_gone) mutable {
          std::vector<std::string> lines = std::move(initial);
          bool ended = false;
          std::unique_lock lock(store_.mutex);
          for (;;) {
            for (; next < store_.events.size() && !ended; ++next) {
              const FakeKubeStore::WatchEvent& event = store_.events[next];
              if (!selected(event.key, event.object)) continue;
              lines.push_back(
                  nlohmann::json{{"type", event.type}, {"object", event.object}}.dump() + "\n");
              ended = event.type == "DELETED" && std::get<2>(event.key) == named;
            }
            if (!lines.empty()) {
              lock.unlock();
              for (const std::string& line : lines) {
                if (!write(line)) return;
              }
              lines.clear();
              lock.lock();
              continue;
            }
            if (ended || store_.stopping || std::chrono::steady_clock::now() >= deadline) return;
            // Woken by every change; the period only bounds how late a
            // client that went away is noticed.
            store_.changed.wait_for(lock, std::chrono::milliseconds(50));
            if (client_gone()) return;
          }
        }};
  }

  Reply Log(const std::string& ns, const std::string& name,
            const std::map<std::string, std::string>& query) {
    const auto it = store_.objects.find({"pods", ns, name});
    if (it == store_.objects.end()) return NotFound("pods", name);
    const std::shared_ptr<FakeKubeStore::Record> record = it->second;
    const nlohmann::json& pod = record->object;
    std::string container = fake_kube::Value(query, "container");
    const std::vector<std::string> app = fake_kube::ContainerNames(pod, "containers");
    std::vector<std::string> all = fake_kube::ContainerNames(pod, "initContainers");
    all.insert(all.end(), app.begin(), app.end());
    if (container.empty()) {
      if (app.size() != 1) {
        std::string choices;
        for (const std::string& c : app) choices += (choices.empty() ? "" : " ") + c;
        return Failure(400, "BadRequest",
                       "a container name must be specified for pod " + name + ", choose one of: [" +
                           choices + "]");
      }
      container = app.front();
    }
    if (std::find(all.begin(), all.end(), container) == all.end()) {
      return Failure(400, "BadRequest", "container " + container + " is not valid for pod " + name);
    }
    const nlohmann::json status = fake_kube::ContainerStatus(pod, container);
    if (status.is_null() || status["state"].contains("waiting")) {
      const std::string reason =
          status.is_null() ? "ContainerCreating"
                           : status["state"]["waiting"].value("reason", "ContainerCreating");
      return Failure(
          400, "BadRequest",
          "container \"" + container + "\" in pod \"" + name + "\" is waiting to start: " + reason);
    }
    // timestamps=true stamps each line as the kubelet does; sinceTime
    // leaves out the lines before it.
    const bool timestamps = fake_kube::Value(query, "timestamps") == "true";
    std::optional<std::chrono::system_clock::time_point> since;
    if (!fake_kube::Value(query, "sinceTime").empty()) {
      since = fake_kube::SinceTime(fake_kube::Value(query, "sinceTime"));
      if (!since) {
        return Failure(400, "BadRequest",
                       "sinceTime: Invalid value: \"" + fake_kube::Value(query, "sinceTime") +
                           "\": must be RFC 3339");
      }
    }
    const auto shown = [=](const FakeKubeStore::LogLine& line) -> std::optional<std::string> {
      if (since && line.time < *since) return std::nullopt;
      return (timestamps ? fake_kube::LogTime(line.time) + " " : "") + line.text + "\n";
    };
    const auto follow = fake_kube::Value(query, "follow");
    if (follow != "true" && follow != "1") {
      std::string text;
      for (const auto& line : record->logs[container]) text += shown(line).value_or("");
      return {200, "text/plain", text};
    }
    std::optional<LogCut> cut;
    if (!log_cuts_.empty()) {
      cut = log_cuts_.front();
      log_cuts_.erase(log_cuts_.begin());
    }
    return Reply{200, "text/plain", "",
                 [=, this](const Write& write, const std::function<bool()>& client_gone) {
                   size_t sent = 0;     // of the container's lines, shown or not
                   size_t written = 0;  // lines written
                   std::unique_lock lock(store_.mutex);
                   for (;;) {
                     const std::vector<FakeKubeStore::LogLine>& lines = record->logs[container];
                     if (sent < lines.size()) {
                       std::string text;
                       for (; sent < lines.size(); ++sent) {
                         if (cut && written == cut->after_lines) break;
                         if (const auto line = shown(lines[sent])) {
                           text += *line;
                           ++written;
                         }
                       }
                       lock.unlock();
                       if (!text.empty() && !write(text)) return;
                       if (cut && written == cut->after_lines && sent < lines.size()) {
                         if (cut->broken) throw FakeKubeHttp::Cut();
                         return;
                       }
                       lock.lock();
                       continue;
                     }
                     const nlohmann::json now =
                         fake_kube::ContainerStatus(record->object, container);
                     if (record->gone || store_.stopping ||
                         (!now.is_null() && now["state"].contains("terminated"))) {
                       return;
                     }
                     store_.changed.wait_for(lock, std::chrono::milliseconds(50));
                     if (client_gone()) return;
                   }
                 }};
  }

  const Options options_;
  std::optional<TestCa> ca_;
  // The objects, and under their lock the requests, the interceptor and the
  // pod scripts.
  FakeKubeStore store_;
  std::vector<RecordedRequest> requests_;
  Interceptor interceptor_;
  std::vector<LogCut> log_cuts_;
  PodScript script_;
  std::vector<std::thread> scripts_;
  FakeKubeHttp http_;  // last: serves once everything else exists
};

}  // namespace hephy

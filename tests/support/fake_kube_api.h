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
#pragma once

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <sstream>
#include <stop_token>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "executors/kube_client.h"
#include "percent_decode.h"
#include "test_ca.h"
#include "util/base64.h"

namespace hephy {

class FakeKubeApi;

// One pod as a kubelet would drive it. Copies refer to the same pod; they
// stay valid after it is deleted (changes are then ignored) and until the
// server is destroyed.
class FakePod {
 public:
  const std::string& ns() const { return ns_; }
  const std::string& name() const { return name_; }

  // The pod as the API serves it now; its last state once deleted.
  nlohmann::json Object() const;
  // The spec of the (init) container `name`: its image, args, env ...; null
  // when the pod has none of that name.
  nlohmann::json Container(const std::string& name) const;

  // status.phase: Pending, Running, Succeeded, Failed.
  void SetPhase(const std::string& phase);
  // Adds or replaces the condition `type` ("PodScheduled", "Ready") in
  // status.conditions; `status` is "True", "False" or "Unknown".
  void SetCondition(const std::string& type, const std::string& status,
                    const std::string& reason = "", const std::string& message = "");

  // A container's state, in initContainerStatuses or containerStatuses as
  // the spec has it, with the phase a kubelet derives: an init container
  // running leaves the pod Pending and its app containers waiting
  // (PodInitializing); an app container running makes it Running; all app
  // containers terminated make it Succeeded (every exit code 0) or Failed,
  // as does an init container ending with another code (restartPolicy
  // Never, as for build pods).
  void SetWaiting(const std::string& container, const std::string& reason,
                  const std::string& message = "");
  void SetRunning(const std::string& container);
  // `reason` defaults as the kubelet's: Completed for 0, else Error.
  // `message` is the termination message (Kaniko's --digest-file
  // /dev/termination-log lands there).
  void SetTerminated(const std::string& container, int exit_code, const std::string& reason = "",
                     const std::string& message = "");

  // A line (without its newline) of the container's log; followers get it
  // at once.
  void AppendLog(const std::string& container, const std::string& line);

  // Any other change to the object; sent to watchers as MODIFIED.
  void Update(const std::function<void(nlohmann::json& pod)>& change);

  // Requested when the pod is deleted, or when the server stops: a script's
  // cue to end.
  std::stop_token stop_token() const;
  bool deleted() const;
  // Whether the pod was deleted within `timeout`.
  bool WaitDeleted(std::chrono::milliseconds timeout) const;

 private:
  friend class FakeKubeApi;
  struct Record;
  FakePod(FakeKubeApi* api, std::shared_ptr<Record> record, std::string ns, std::string name)
      : api_(api), record_(std::move(record)), ns_(std::move(ns)), name_(std::move(name)) {}
  // Applies `change` to a pod that still exists, and sends it to watchers.
  void Change(const std::function<void(nlohmann::json& pod)>& change);
  FakeKubeApi* api_;
  std::shared_ptr<Record> record_;
  std::string ns_;
  std::string name_;
};

struct FakePod::Record {
  nlohmann::json object;
  std::map<std::string, std::vector<std::string>> logs;  // by container
  std::stop_source stop;
  bool gone = false;
};

// What a request was, for assertions.
struct RecordedRequest {
  std::string method;
  std::string target;                          // as sent: "/api/v1/...?watch=true"
  std::string path;                            // the target without its query
  std::map<std::string, std::string> query;    // decoded
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  std::string user;  // the client certificate's common name, if one was sent
};

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
        ssl_(boost::asio::ssl::context::tls_server),
        acceptor_(io_, {boost::asio::ip::make_address("127.0.0.1"), 0}) {
    if (!options_.tls_dir.empty()) {
      ca_.emplace(options_.tls_dir);
      const TestCa::Issued server = ca_->Issue("kube-apiserver", {"IP:127.0.0.1", "DNS:localhost"});
      ssl_.use_certificate_chain_file(server.certificate.string());
      ssl_.use_private_key_file(server.key.string(), boost::asio::ssl::context::pem);
      if (options_.client_certificates) {
        ssl_.load_verify_file(ca_->certificate().string());
        ssl_.set_verify_mode(boost::asio::ssl::verify_peer |
                             boost::asio::ssl::verify_fail_if_no_peer_cert);
      }
    }
    accepting_ = std::thread([this] { Accept(); });
  }

  // Stops every watch and log stream, ends every connection and waits for
  // the pod scripts, which must end once their pod's stop_token is requested.
  ~FakeKubeApi() {
    std::vector<std::shared_ptr<FakePod::Record>> records;
    {
      const std::lock_guard lock(mutex_);
      stopping_ = true;
      for (const auto& [key, record] : objects_) records.push_back(record);
      changed_.notify_all();
    }
    for (const auto& record : records) record->stop.request_stop();
    ::shutdown(acceptor_.native_handle(), SHUT_RDWR);  // wakes accept()
    accepting_.join();
    for (auto& connection : connections_) {
      // Wakes a thread blocked reading; the descriptor stays open (and so
      // not reused) until the thread is joined.
      ::shutdown(connection->socket.native_handle(), SHUT_RDWR);
    }
    for (auto& connection : connections_) connection->thread.join();
    std::vector<std::thread> scripts;
    {
      const std::lock_guard lock(mutex_);
      scripts.swap(scripts_);
    }
    for (auto& script : scripts) script.join();
  }
  FakeKubeApi(const FakeKubeApi&) = delete;
  FakeKubeApi& operator=(const FakeKubeApi&) = delete;

  std::string url() const {
    return std::string(ca_ ? "https" : "http") +
           "://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port());
  }
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
    const std::lock_guard lock(mutex_);
    script_ = std::move(script);
  }

  // Asked first for every request (after authentication); an answer
  // replaces the API's (a 403, a 500 ...).
  void Intercept(Interceptor interceptor) {
    const std::lock_guard lock(mutex_);
    interceptor_ = std::move(interceptor);
  }

  std::vector<RecordedRequest> Requests() const {
    const std::lock_guard lock(mutex_);
    return requests_;
  }

  // The pod, or nullopt when there is none (any more).
  std::optional<FakePod> Pod(const std::string& ns, const std::string& name) {
    const std::lock_guard lock(mutex_);
    const auto it = objects_.find({"pods", ns, name});
    if (it == objects_.end()) return std::nullopt;
    return FakePod(this, it->second, ns, name);
  }
  // The objects of `resource` ("pods", "secrets") in `ns`.
  std::vector<nlohmann::json> Objects(const std::string& resource, const std::string& ns) const {
    const std::lock_guard lock(mutex_);
    std::vector<nlohmann::json> out;
    for (const auto& [key, record] : objects_) {
      if (std::get<0>(key) == resource && std::get<1>(key) == ns) out.push_back(record->object);
    }
    return out;
  }

  // Waits until `condition` holds, checked whenever a request arrives or
  // an object changes; false when `timeout` passed first. `condition` runs
  // with the server's lock held, and may call the accessors above.
  bool WaitFor(const std::function<bool()>& condition, std::chrono::milliseconds timeout) const {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, condition);
  }

  // A Status object as the API server sends for a failure.
  static nlohmann::json Status(int code, const std::string& reason, const std::string& message,
                               const std::string& name = "", const std::string& kind = "") {
    nlohmann::json status = {
        {"kind", "Status"},    {"apiVersion", "v1"}, {"metadata", nlohmann::json::object()},
        {"status", "Failure"}, {"message", message}, {"reason", reason},
        {"code", code}};
    if (!name.empty()) status["details"] = {{"name", name}, {"kind", kind}};
    return status;
  }

 private:
  friend class FakePod;

  using Key = std::tuple<std::string, std::string, std::string>;  // resource, namespace, name
  using Write = std::function<bool(std::string_view)>;

  // What a handler answers: a whole body, or `stream` writing the chunks of
  // one (until it returns) on the connection's thread.
  struct Reply {
    int status = 200;
    std::string content_type = "application/json";
    std::string body;
    std::function<void(const Write& write, const std::function<bool()>& client_gone)> stream;
  };

  struct WatchEvent {
    uint64_t resource_version;
    Key key;
    std::string type;  // ADDED, MODIFIED, DELETED
    nlohmann::json object;
  };

  struct Connection {
    explicit Connection(boost::asio::ip::tcp::socket s) : socket(std::move(s)) {}
    boost::asio::ip::tcp::socket socket;
    std::thread thread;
  };

  static std::string ReadFile(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
  }

  static std::string Now() {
    const std::time_t now = std::time(nullptr);
    std::tm utc{};
    gmtime_r(&now, &utc);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
    return text;
  }

  static std::string Uid() {
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

  static std::string Kind(const std::string& resource) {
    return resource == "pods" ? "Pod" : resource == "secrets" ? "Secret" : "";
  }

  static std::vector<std::string> Split(const std::string& text, char separator) {
    std::vector<std::string> parts;
    std::string part;
    std::istringstream in(text);
    while (std::getline(in, part, separator)) {
      if (!part.empty()) parts.push_back(part);
    }
    return parts;
  }

  // Equality-based label selectors ("a=b,c==d,e!=f,g,!h") and field
  // selectors on any string field ("metadata.name=x,status.phase!=Failed").
  static bool Selected(const nlohmann::json& object, const std::string& labels,
                       const std::string& fields) {
    const nlohmann::json have = object.value("metadata", nlohmann::json::object())
                                    .value("labels", nlohmann::json::object());
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

  static Reply Json(int status, const nlohmann::json& body) {
    return {status, "application/json", body.dump()};
  }
  static Reply Failure(int code, const std::string& reason, const std::string& message,
                       const std::string& name = "", const std::string& kind = "") {
    return Json(code, Status(code, reason, message, name, kind));
  }

  void Accept() {
    for (;;) {
      boost::system::error_code ec;
      boost::asio::ip::tcp::socket socket(io_);
      acceptor_.accept(socket, ec);
      if (ec) return;
      const std::lock_guard lock(mutex_);
      if (stopping_) return;
      Connection& connection =
          *connections_.emplace_back(std::make_unique<Connection>(std::move(socket)));
      connection.thread = std::thread([this, &connection] { Serve(connection.socket); });
    }
  }

  void Serve(boost::asio::ip::tcp::socket& socket) {
    boost::system::error_code ec;
    try {
      if (ca_) {
        boost::asio::ssl::stream<boost::asio::ip::tcp::socket&> tls(socket, ssl_);
        tls.handshake(boost::asio::ssl::stream_base::server);
        std::string user;
        if (X509* peer = SSL_get_peer_certificate(tls.native_handle())) {
          char name[256] = "";
          X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, name, sizeof name);
          user = name;
          X509_free(peer);
        }
        Exchange(tls, socket.native_handle(), user);
      } else {
        Exchange(socket, socket.native_handle(), "");
      }
    } catch (const std::exception&) {
      // The client gave up (a refused certificate, a closed connection).
    }
    socket.shutdown(boost::asio::ip::tcp::socket::shutdown_both, ec);
  }

  template <class Stream>
  void Exchange(Stream& stream, int fd, const std::string& user) {
    namespace http = boost::beast::http;
    boost::beast::flat_buffer buffer;
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(std::numeric_limits<std::uint64_t>::max());
      boost::system::error_code ec;
      http::read(stream, buffer, parser, ec);
      if (ec) return;
      const auto request = parser.release();
      const Reply reply = Handle(Remember(request, user));
      if (reply.stream) {
        http::response<http::empty_body> head{static_cast<http::status>(reply.status), 11};
        head.set(http::field::content_type, reply.content_type);
        head.chunked(true);
        head.keep_alive(false);
        http::response_serializer<http::empty_body> serializer{head};
        http::write_header(stream, serializer, ec);
        if (ec) return;
        const Write write = [&](std::string_view data) {
          boost::asio::write(stream, http::make_chunk(boost::asio::buffer(data)), ec);
          return !ec;
        };
        // A client that closed its end has gone away, even while nothing is
        // written to it.
        const auto client_gone = [fd] {
          pollfd poll_fd{.fd = fd, .events = POLLRDHUP};
          return ::poll(&poll_fd, 1, 0) > 0;
        };
        reply.stream(write, client_gone);
        if (!ec) boost::asio::write(stream, http::make_chunk_last(), ec);
        return;
      }
      http::response<http::string_body> response{static_cast<http::status>(reply.status), 11};
      response.set(http::field::content_type, reply.content_type);
      response.body() = reply.body;
      response.keep_alive(request.keep_alive());
      response.prepare_payload();
      http::write(stream, response, ec);
      if (ec || !request.keep_alive()) return;
    }
  }

  RecordedRequest Remember(
      const boost::beast::http::request<boost::beast::http::string_body>& request,
      const std::string& user) {
    RecordedRequest out{.method = std::string(request.method_string()),
                        .target = std::string(request.target()),
                        .body = request.body(),
                        .user = user};
    const auto question = out.target.find('?');
    out.path = out.target.substr(0, question);
    if (question != std::string::npos) {
      for (const std::string& pair : Split(out.target.substr(question + 1), '&')) {
        const auto equals = pair.find('=');
        out.query[PercentDecode(pair.substr(0, equals))] =
            equals == std::string::npos ? "" : PercentDecode(pair.substr(equals + 1));
      }
    }
    for (const auto& field : request) {
      std::string name(field.name_string());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      out.headers[name] = std::string(field.value());
    }
    const std::lock_guard lock(mutex_);
    requests_.push_back(out);
    changed_.notify_all();
    return out;
  }

  Reply Handle(const RecordedRequest& request) {
    if (!options_.token.empty()) {
      const auto it = request.headers.find("authorization");
      if (it == request.headers.end() || it->second != "Bearer " + options_.token) {
        return Failure(401, "Unauthorized", "Unauthorized");
      }
    }
    std::unique_lock lock(mutex_);
    if (interceptor_) {
      if (const std::optional<Answer> answer = interceptor_(request)) {
        return Json(answer->status, answer->body);
      }
    }
    // /api/v1/namespaces/NS/RESOURCE[/NAME[/SUBRESOURCE]]
    const std::vector<std::string> parts = Split(request.path, '/');
    if (parts.size() < 5 || parts.size() > 7 || parts[0] != "api" || parts[1] != "v1" ||
        parts[2] != "namespaces" || Kind(parts[4]).empty()) {
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
      const auto it = objects_.find({resource, ns, name});
      if (it == objects_.end()) return NotFound(resource, name);
      return Json(200, it->second->object);
    }
    if (!name.empty() && method == "DELETE") {
      return Delete(resource, ns, name, request.query, request.body, lock);
    }
    return Failure(405, "MethodNotAllowed",
                   "the server does not allow this method on the requested resource");
  }

  static Reply NotFound(const std::string& resource, const std::string& name) {
    return Failure(404, "NotFound", resource + " \"" + name + "\" not found", name, resource);
  }

  // Records a change of the object under `key` for watchers.
  void Emit(const Key& key, const std::string& type, const nlohmann::json& object) {
    events_.push_back({resource_version_, key, type, object});
    changed_.notify_all();
  }

  std::string NextResourceVersion() { return std::to_string(++resource_version_); }

  Reply Create(const std::string& resource, const std::string& ns, const std::string& body) {
    const std::string kind = Kind(resource);
    nlohmann::json object = nlohmann::json::parse(body, nullptr, false);
    if (!object.is_object() || object.value("kind", kind) != kind ||
        object.value("apiVersion", "v1") != "v1") {
      return Failure(400, "BadRequest",
                     "the object provided is unrecognized (must be of type " + kind + ")");
    }
    nlohmann::json& metadata = object["metadata"];
    if (!metadata.is_object()) metadata = nlohmann::json::object();
    if (metadata.value("namespace", ns) != ns) {
      return Failure(400, "BadRequest",
                     "the namespace of the provided object does not match the namespace sent "
                     "on the request");
    }
    std::string name = metadata.value("name", "");
    if (name.empty() && !metadata.value("generateName", "").empty()) {
      name = metadata["generateName"].get<std::string>() + Uid().substr(0, 5);
    }
    if (name.empty()) {
      return Failure(422, "Invalid",
                     kind +
                         " \"\" is invalid: metadata.name: Required value: name or "
                         "generateName is required");
    }
    if (resource == "pods") {
      const nlohmann::json containers = object["spec"].value("containers", nlohmann::json());
      if (!containers.is_array() || containers.empty()) {
        return Failure(422, "Invalid",
                       "Pod \"" + name + "\" is invalid: spec.containers: Required value", name,
                       resource);
      }
    }
    const Key key{resource, ns, name};
    if (objects_.contains(key)) {
      return Failure(409, "AlreadyExists", resource + " \"" + name + "\" already exists", name,
                     resource);
    }
    object["kind"] = kind;
    object["apiVersion"] = "v1";
    metadata["name"] = name;
    metadata["namespace"] = ns;
    metadata["uid"] = Uid();
    metadata["creationTimestamp"] = Now();
    metadata["resourceVersion"] = NextResourceVersion();
    if (resource == "pods") {
      nlohmann::json& spec = object["spec"];
      if (!spec.contains("restartPolicy")) spec["restartPolicy"] = "Always";
      if (!spec.contains("terminationGracePeriodSeconds"))
        spec["terminationGracePeriodSeconds"] = 30;
      object["status"] = {{"phase", "Pending"}, {"qosClass", "BestEffort"}};
    }
    if (resource == "secrets" && object.contains("stringData")) {
      // The API server keeps stringData as data.
      for (const auto& [key_name, value] : object["stringData"].items()) {
        object["data"][key_name] = Base64Encode(value.get<std::string>());
      }
      object.erase("stringData");
    }
    auto record = std::make_shared<FakePod::Record>();
    record->object = object;
    objects_[key] = record;
    Emit(key, "ADDED", object);
    if (resource == "pods" && script_) {
      scripts_.emplace_back(
          [script = script_, pod = FakePod(this, record, ns, name)] { script(pod); });
    }
    return Json(201, object);
  }

  Reply List(const std::string& resource, const std::string& ns,
             const std::map<std::string, std::string>& query) {
    nlohmann::json items = nlohmann::json::array();
    for (const auto& [key, record] : objects_) {
      if (std::get<0>(key) != resource || std::get<1>(key) != ns) continue;
      if (!Selected(record->object, Value(query, "labelSelector"), Value(query, "fieldSelector"))) {
        continue;
      }
      nlohmann::json item = record->object;
      // Items of a list carry no kind and apiVersion of their own.
      item.erase("kind");
      item.erase("apiVersion");
      items.push_back(std::move(item));
    }
    return Json(200, {{"kind", Kind(resource) + "List"},
                      {"apiVersion", "v1"},
                      {"metadata", {{"resourceVersion", std::to_string(resource_version_)}}},
                      {"items", items}});
  }

  static std::string Value(const std::map<std::string, std::string>& query,
                           const std::string& name) {
    const auto it = query.find(name);
    return it == query.end() ? "" : it->second;
  }

  Reply Delete(const std::string& resource, const std::string& ns, const std::string& name,
               const std::map<std::string, std::string>& query, const std::string& body,
               std::unique_lock<std::recursive_mutex>& lock) {
    const Key key{resource, ns, name};
    const auto it = objects_.find(key);
    if (it == objects_.end()) return NotFound(resource, name);
    const std::shared_ptr<FakePod::Record> record = it->second;
    objects_.erase(it);
    record->gone = true;
    nlohmann::json& object = record->object;
    object["metadata"]["resourceVersion"] = NextResourceVersion();
    if (resource == "pods") {
      // gracePeriodSeconds from the query or a DeleteOptions body.
      const nlohmann::json options = nlohmann::json::parse(body, nullptr, false);
      int64_t grace = object["spec"].value("terminationGracePeriodSeconds", 30);
      if (options.is_object() && options.contains("gracePeriodSeconds")) {
        grace = options["gracePeriodSeconds"].get<int64_t>();
      }
      if (!Value(query, "gracePeriodSeconds").empty()) {
        grace = std::stoll(Value(query, "gracePeriodSeconds"));
      }
      object["metadata"]["deletionTimestamp"] = Now();
      object["metadata"]["deletionGracePeriodSeconds"] = grace;
    }
    Emit(key, "DELETED", object);
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
    const std::string labels = Value(query, "labelSelector");
    const std::string fields = Value(query, "fieldSelector");
    const std::string since = Value(query, "resourceVersion");
    const std::string timeout = Value(query, "timeoutSeconds");
    const std::chrono::steady_clock::time_point deadline =
        std::chrono::steady_clock::now() +
        (timeout.empty() ? std::chrono::hours(24) : std::chrono::seconds(std::stoll(timeout)));
    // A watch of one named object ends with its deletion.
    std::string named;
    for (const std::string& term : Split(fields, ',')) {
      if (term.starts_with("metadata.name=")) named = term.substr(14);
    }
    const auto selected = [=](const Key& key, const nlohmann::json& object) {
      return std::get<0>(key) == resource && std::get<1>(key) == ns &&
             Selected(object, labels, fields);
    };
    std::vector<std::string> initial;
    size_t next = events_.size();
    if (since.empty() || since == "0") {
      // Without a version to start from, the API sends what exists now first.
      for (const auto& [key, record] : objects_) {
        if (selected(key, record->object)) {
          initial.push_back(nlohmann::json{{"type", "ADDED"}, {"object", record->object}}.dump() +
                            "\n");
        }
      }
    } else {
      const uint64_t after = std::stoull(since);
      next = 0;
      while (next < events_.size() && events_[next].resource_version <= after) ++next;
    }
    return Reply{
        200, "application/json", "",
        [=, this](const Write& write, const std::function<bool()>& client_gone) mutable {
          std::vector<std::string> lines = std::move(initial);
          bool ended = false;
          std::unique_lock lock(mutex_);
          for (;;) {
            for (; next < events_.size() && !ended; ++next) {
              const WatchEvent& event = events_[next];
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
            if (ended || stopping_ || std::chrono::steady_clock::now() >= deadline) return;
            // Woken by every change; the period only bounds how late a
            // client that went away is noticed.
            changed_.wait_for(lock, std::chrono::milliseconds(50));
            if (client_gone()) return;
          }
        }};
  }

  // The status of `container` in the pod, or null.
  static nlohmann::json ContainerStatus(const nlohmann::json& pod, const std::string& container) {
    for (const char* list : {"initContainerStatuses", "containerStatuses"}) {
      for (const nlohmann::json& status : pod["status"].value(list, nlohmann::json::array())) {
        if (status.value("name", "") == container) return status;
      }
    }
    return nullptr;
  }

  static std::vector<std::string> ContainerNames(const nlohmann::json& pod, const char* list) {
    std::vector<std::string> names;
    for (const nlohmann::json& c : pod["spec"].value(list, nlohmann::json::array())) {
      names.push_back(c.value("name", ""));
    }
    return names;
  }

  Reply Log(const std::string& ns, const std::string& name,
            const std::map<std::string, std::string>& query) {
    const auto it = objects_.find({"pods", ns, name});
    if (it == objects_.end()) return NotFound("pods", name);
    const std::shared_ptr<FakePod::Record> record = it->second;
    const nlohmann::json& pod = record->object;
    std::string container = Value(query, "container");
    const std::vector<std::string> app = ContainerNames(pod, "containers");
    std::vector<std::string> all = ContainerNames(pod, "initContainers");
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
    const nlohmann::json status = ContainerStatus(pod, container);
    if (status.is_null() || status["state"].contains("waiting")) {
      const std::string reason =
          status.is_null() ? "ContainerCreating"
                           : status["state"]["waiting"].value("reason", "ContainerCreating");
      return Failure(
          400, "BadRequest",
          "container \"" + container + "\" in pod \"" + name + "\" is waiting to start: " + reason);
    }
    const auto follow = Value(query, "follow");
    if (follow != "true" && follow != "1") {
      std::string text;
      for (const std::string& line : record->logs[container]) text += line + "\n";
      return {200, "text/plain", text};
    }
    return Reply{200, "text/plain", "",
                 [=, this](const Write& write, const std::function<bool()>& client_gone) {
                   size_t sent = 0;
                   std::unique_lock lock(mutex_);
                   for (;;) {
                     const std::vector<std::string>& lines = record->logs[container];
                     if (sent < lines.size()) {
                       std::string text;
                       for (; sent < lines.size(); ++sent) text += lines[sent] + "\n";
                       lock.unlock();
                       if (!write(text)) return;
                       lock.lock();
                       continue;
                     }
                     const nlohmann::json now = ContainerStatus(record->object, container);
                     if (record->gone || stopping_ ||
                         (!now.is_null() && now["state"].contains("terminated"))) {
                       return;
                     }
                     changed_.wait_for(lock, std::chrono::milliseconds(50));
                     if (client_gone()) return;
                   }
                 }};
  }

  const Options options_;
  std::optional<TestCa> ca_;
  boost::asio::ssl::context ssl_;
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;

  // Recursive: WaitFor's condition runs with it held and may call the
  // accessors, which take it too.
  mutable std::recursive_mutex mutex_;
  mutable std::condition_variable_any changed_;
  bool stopping_ = false;
  uint64_t resource_version_ = 1000;
  std::map<Key, std::shared_ptr<FakePod::Record>> objects_;
  std::vector<WatchEvent> events_;
  std::vector<RecordedRequest> requests_;
  Interceptor interceptor_;
  PodScript script_;
  std::vector<std::thread> scripts_;
  std::list<std::unique_ptr<Connection>> connections_;
  std::thread accepting_;  // last: runs once everything else exists
};

inline nlohmann::json FakePod::Object() const {
  const std::lock_guard lock(api_->mutex_);
  return record_->object;
}

inline nlohmann::json FakePod::Container(const std::string& name) const {
  const nlohmann::json pod = Object();
  for (const char* list : {"initContainers", "containers"}) {
    for (const nlohmann::json& container : pod["spec"].value(list, nlohmann::json::array())) {
      if (container.value("name", "") == name) return container;
    }
  }
  return nullptr;
}

inline void FakePod::Change(const std::function<void(nlohmann::json& pod)>& change) {
  const std::lock_guard lock(api_->mutex_);
  if (record_->gone) return;
  change(record_->object);
  record_->object["metadata"]["resourceVersion"] = api_->NextResourceVersion();
  api_->Emit({"pods", ns_, name_}, "MODIFIED", record_->object);
}

inline void FakePod::Update(const std::function<void(nlohmann::json& pod)>& change) {
  Change(change);
}

inline void FakePod::SetPhase(const std::string& phase) {
  Change([&](nlohmann::json& pod) { pod["status"]["phase"] = phase; });
}

inline void FakePod::SetCondition(const std::string& type, const std::string& status,
                                  const std::string& reason, const std::string& message) {
  Change([&](nlohmann::json& pod) {
    nlohmann::json condition = {{"type", type},
                                {"status", status},
                                {"lastProbeTime", nullptr},
                                {"lastTransitionTime", FakeKubeApi::Now()}};
    if (!reason.empty()) condition["reason"] = reason;
    if (!message.empty()) condition["message"] = message;
    nlohmann::json& conditions = pod["status"]["conditions"];
    if (!conditions.is_array()) conditions = nlohmann::json::array();
    for (nlohmann::json& existing : conditions) {
      if (existing["type"] == type) {
        existing = condition;
        return;
      }
    }
    conditions.push_back(condition);
  });
}

namespace fake_kube_detail {

// Sets the state of `container` and the phase a kubelet derives from all of
// them (see FakePod::SetWaiting).
inline void SetState(nlohmann::json& pod, const std::string& container,
                     const nlohmann::json& state) {
  const auto names = [&](const char* list) {
    std::vector<std::string> out;
    for (const auto& c : pod["spec"].value(list, nlohmann::json::array())) {
      out.push_back(c.value("name", ""));
    }
    return out;
  };
  const std::vector<std::string> init = names("initContainers");
  const std::vector<std::string> app = names("containers");
  const bool is_init = std::find(init.begin(), init.end(), container) != init.end();
  if (!is_init && std::find(app.begin(), app.end(), container) == app.end()) {
    throw std::invalid_argument("pod " + pod["metadata"]["name"].get<std::string>() +
                                " has no container " + container);
  }
  nlohmann::json& statuses = pod["status"][is_init ? "initContainerStatuses" : "containerStatuses"];
  if (!statuses.is_array()) statuses = nlohmann::json::array();
  const auto entry = [&](nlohmann::json& list, const std::string& name) -> nlohmann::json& {
    for (nlohmann::json& status : list) {
      if (status["name"] == name) return status;
    }
    std::string image;
    for (const char* spec_list : {"initContainers", "containers"}) {
      for (const auto& c : pod["spec"].value(spec_list, nlohmann::json::array())) {
        if (c["name"] == name) image = c.value("image", "");
      }
    }
    list.push_back({{"name", name},
                    {"image", image},
                    {"imageID", ""},
                    {"restartCount", 0},
                    {"ready", false},
                    {"started", false},
                    {"state", nlohmann::json::object()}});
    return list.back();
  };
  nlohmann::json& status = entry(statuses, container);
  status["state"] = state;
  status["ready"] = state.contains("running");
  status["started"] = state.contains("running");
  if (!state.contains("waiting")) {
    status["containerID"] =
        "containerd://" + pod["metadata"]["uid"].get<std::string>() + "-" + container;
  }

  std::string phase = pod["status"].value("phase", "Pending");
  if (is_init) {
    if (state.contains("running")) {
      nlohmann::json& app_statuses = pod["status"]["containerStatuses"];
      if (!app_statuses.is_array()) app_statuses = nlohmann::json::array();
      for (const std::string& name : app) {
        nlohmann::json& app_status = entry(app_statuses, name);
        if (app_status["state"].empty()) {
          app_status["state"] = {{"waiting", {{"reason", "PodInitializing"}}}};
        }
      }
    }
    if (state.contains("terminated") && state["terminated"]["exitCode"] != 0) phase = "Failed";
  } else {
    bool all_ended = true;
    bool all_zero = true;
    for (const std::string& name : app) {
      const nlohmann::json* found = nullptr;
      for (const auto& s : statuses) {
        if (s["name"] == name) found = &s;
      }
      const bool ended = found != nullptr && (*found)["state"].contains("terminated");
      all_ended = all_ended && ended;
      all_zero = all_zero && ended && (*found)["state"]["terminated"]["exitCode"] == 0;
    }
    if (all_ended) {
      phase = all_zero ? "Succeeded" : "Failed";
    } else if (state.contains("running")) {
      phase = "Running";
    }
  }
  pod["status"]["phase"] = phase;
}

}  // namespace fake_kube_detail

inline void FakePod::SetWaiting(const std::string& container, const std::string& reason,
                                const std::string& message) {
  nlohmann::json waiting = {{"reason", reason}};
  if (!message.empty()) waiting["message"] = message;
  Change([&](nlohmann::json& pod) {
    fake_kube_detail::SetState(pod, container, {{"waiting", waiting}});
  });
}

inline void FakePod::SetRunning(const std::string& container) {
  Change([&](nlohmann::json& pod) {
    fake_kube_detail::SetState(pod, container, {{"running", {{"startedAt", FakeKubeApi::Now()}}}});
  });
}

inline void FakePod::SetTerminated(const std::string& container, int exit_code,
                                   const std::string& reason, const std::string& message) {
  nlohmann::json terminated = {
      {"exitCode", exit_code},
      {"reason", reason.empty() ? (exit_code == 0 ? "Completed" : "Error") : reason},
      {"startedAt", FakeKubeApi::Now()},
      {"finishedAt", FakeKubeApi::Now()}};
  if (!message.empty()) terminated["message"] = message;
  Change([&](nlohmann::json& pod) {
    const nlohmann::json before = FakeKubeApi::ContainerStatus(pod, container);
    if (!before.is_null() && before["state"].contains("running")) {
      terminated["startedAt"] = before["state"]["running"]["startedAt"];
    }
    fake_kube_detail::SetState(pod, container, {{"terminated", terminated}});
  });
}

inline void FakePod::AppendLog(const std::string& container, const std::string& line) {
  const std::lock_guard lock(api_->mutex_);
  if (record_->gone) return;
  record_->logs[container].push_back(line);
  api_->changed_.notify_all();
}

inline std::stop_token FakePod::stop_token() const { return record_->stop.get_token(); }

inline bool FakePod::deleted() const {
  const std::lock_guard lock(api_->mutex_);
  return record_->gone;
}

inline bool FakePod::WaitDeleted(std::chrono::milliseconds timeout) const {
  api_->WaitFor([this] { return record_->gone || api_->stopping_; }, timeout);
  return deleted();
}

}  // namespace hephy

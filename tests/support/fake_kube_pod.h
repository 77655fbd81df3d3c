// A pod of the fake Kubernetes API server (fake_kube_api.h) as a test's
// script drives it in place of a kubelet: phase, conditions, container
// states (and the phase a kubelet derives from them), log lines. Every
// change bumps the resourceVersion and is sent to watchers.
#pragma once

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <vector>

#include "fake_kube_objects.h"

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

  // A line (without its newline) of the container's log, stamped `when`
  // (default: now); followers get it at once.
  void AppendLog(const std::string& container, const std::string& line);
  void AppendLog(const std::string& container, const std::string& line,
                 std::chrono::system_clock::time_point when);

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
  FakePod(FakeKubeStore* store, std::shared_ptr<FakeKubeStore::Record> record, std::string ns,
          std::string name)
      : store_(store), record_(std::move(record)), ns_(std::move(ns)), name_(std::move(name)) {}
  // Applies `change` to a pod that still exists, and sends it to watchers.
  void Change(const std::function<void(nlohmann::json& pod)>& change);
  FakeKubeStore* store_;
  std::shared_ptr<FakeKubeStore::Record> record_;
  std::string ns_;
  std::string name_;
};

inline nlohmann::json FakePod::Object() const {
  const std::lock_guard lock(store_->mutex);
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
  const std::lock_guard lock(store_->mutex);
  if (record_->gone) return;
  change(record_->object);
  record_->object["metadata"]["resourceVersion"] = store_->NextResourceVersion();
  store_->Emit({"pods", ns_, name_}, "MODIFIED", record_->object);
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
                                {"lastTransitionTime", fake_kube::Now()}};
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
    fake_kube_detail::SetState(pod, container, {{"running", {{"startedAt", fake_kube::Now()}}}});
  });
}

inline void FakePod::SetTerminated(const std::string& container, int exit_code,
                                   const std::string& reason, const std::string& message) {
  nlohmann::json terminated = {
      {"exitCode", exit_code},
      {"reason", reason.empty() ? (exit_code == 0 ? "Completed" : "Error") : reason},
      {"startedAt", fake_kube::Now()},
      {"finishedAt", fake_kube::Now()}};
  if (!message.empty()) terminated["message"] = message;
  Change([&](nlohmann::json& pod) {
    const nlohmann::json before = fake_kube::ContainerStatus(pod, container);
    if (!before.is_null() && before["state"].contains("running")) {
      terminated["startedAt"] = before["state"]["running"]["startedAt"];
    }
    fake_kube_detail::SetState(pod, container, {{"terminated", terminated}});
  });
}

inline void FakePod::AppendLog(const std::string& container, const std::string& line) {
  AppendLog(container, line, std::chrono::system_clock::now());
}

inline void FakePod::AppendLog(const std::string& container, const std::string& line,
                               std::chrono::system_clock::time_point when) {
  const std::lock_guard lock(store_->mutex);
  if (record_->gone) return;
  record_->logs[container].push_back({when, line});
  store_->changed.notify_all();
}

inline std::stop_token FakePod::stop_token() const { return record_->stop.get_token(); }

inline bool FakePod::deleted() const {
  const std::lock_guard lock(store_->mutex);
  return record_->gone;
}

inline bool FakePod::WaitDeleted(std::chrono::milliseconds timeout) const {
  store_->WaitFor([this] { return record_->gone || store_->stopping; }, timeout);
  return deleted();
}

}  // namespace hephy

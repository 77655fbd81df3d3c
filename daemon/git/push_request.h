// What git's pre-receive hook tells hephyd about one push, and what hephyd
// decides.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace hephy {

struct RefUpdate {
  std::string old_id;  // 40 zeros: the ref is created
  std::string new_id;  // 40 zeros: the ref is deleted
  std::string ref;     // "refs/heads/main"
};

struct PushRequest {
  std::string app;
  std::string user;
  std::string key_fingerprint;
  std::string push_id;
  std::map<std::string, std::string> env;  // GIT_QUARANTINE_PATH and friends
  std::vector<std::string> options;        // git push -o ...
  std::vector<RefUpdate> updates;
  // "push" from the hook; "manual" from `hephyd rebuild`, which names units
  // (none: every unit) instead of sending updates; "prune" from `hephyd
  // prune` (build/pruner.h), with user and options only.
  std::string trigger = "push";
  std::vector<std::string> units;
};

// hephyd's answer to a pre-receive hook.
struct PushVerdict {
  bool accepted = false;  // git may update the refs (the hook exits 0)
  std::string reason;     // why not, in one line ("build 7 (web) failed: ...")
};

}  // namespace hephy

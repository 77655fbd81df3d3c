// SshSession: what the channel asks for (exec, env, shell, subsystem), the
// git or hephyd command it starts, and the push's audit record.
#include "git/git_access.h"
#include "hephy/error.h"
#include "push/push_audit.h"
#include "ssh/command_words.h"
#include "ssh/ssh_session.h"
#include "ssh/ssh_session_parts.h"
#include "util/disk_space.h"

namespace hephy {
namespace {

using session_parts::Log;

// "ssh -p PORT git@HOST" for the address a client connected to ("HOST:PORT",
// "[V6]:PORT").
std::string SshCommandFor(const std::string& address) {
  const auto colon = address.rfind(':');
  std::string host = address.substr(0, colon);
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  return "ssh -p " + address.substr(colon + 1) + " git@" + host;
}

}  // namespace

int SshSession::OnEnv(const char* name, const char* value) {
  // git sends its protocol version this way ("version=2"); nothing else passes.
  if (std::string_view(name) == "GIT_PROTOCOL" && IsWellFormedGitProtocol(value)) {
    git_protocol_ = value;
    return 0;
  }
  return -1;
}

int SshSession::OnShell() {
  command_ = "(shell)";
  failure_ = "Hi " + (user_ ? user_->name : "deploy key of " + deploy_key_->app) +
             "! You've authenticated, but hephyd does not provide shell access.\n"
             "Commands: " +
             SshCommandFor(local_) +
             " help\n"
             "Push with: git push ssh://git@" +
             local_ + "/APP.git " + context_.config.builder.branches.front() + "\n";
  return 0;
}

int SshSession::OnSubsystem(const char* name) {
  command_ = std::string("(subsystem ") + name + ")";
  failure_ = std::string("hephyd: the ") + name + " subsystem is not supported; use git\n";
  return 0;
}

int SshSession::OnExec(const char* command) {
  if (exec_requested_ || failure_) return -1;  // one exec per channel
  exec_requested_ = true;
  command_ = command;
  try {
    if (!session_slot_) {
      throw Error("ssh.max_sessions (" + std::to_string(context_.config.ssh.max_sessions) +
                  ") sessions are open; try again later");
    }
    if (pty_requested_) throw Error("terminals are not supported; run commands without -t");
    const std::string_view text(command);
    if (text.starts_with("git-") || text.starts_with("git ")) {
      StartGit(command);
    } else {
      StartCommand(command);
    }
  } catch (const Error& e) {
    failure_ = std::string("hephyd: ") + e.what() + "\n";
  } catch (const std::exception& e) {
    // Nothing may unwind through libssh's C frames.
    Log()->error("remote={} exec \"{}\": {}", remote_, command_, e.what());
    failure_ = "hephyd: internal error; the daemon's log has the details\n";
  }
  // Accepted either way: a refusal is told on stderr with exit status 1,
  // which git shows the user, rather than a bare "exec request failed".
  return 0;
}

void SshSession::StartGit(const std::string& command) {
  GitAccessRequest request{
      ParseGitCommand(command), user_, deploy_key_, fingerprint_, git_protocol_,
      push_id_ = NewPushId()};
  git_ = request.command;
  if (git_->service == GitService::kReceivePack) {
    // Not an Error: the words are said as they are, without "hephyd: ".
    drain_pass_ = context_.drain.Admit();
    if (!drain_pass_) {
      failure_ = std::string(DrainGate::kRefusal) + "\n";
      return;
    }
    RequireFreeSpaceForPush(context_.config.data_dir, context_.config.serve.min_free_space);
    // A deploy key counts on its own, as builds name it.
    push_slot_ = context_.limits.StartPush(user_ ? user_->name : "deploy:" + fingerprint_);
    if (!push_slot_) {
      const int most = context_.config.ssh.max_pushes_per_user;
      throw Error((user_ ? user_->name : "deploy key " + fingerprint_) + " already has " +
                  std::to_string(most) + (most == 1 ? " push" : " pushes") +
                  " running (ssh.max_pushes_per_user)");
    }
  }
  SpawnOptions spawn = AdmitGitCommand(request, context_.config, *store_, context_.repos);
  if (git_->service == GitService::kReceivePack) context_.pushes.Open(push_id_);
  StartChild(spawn);
}

void SshSession::StartCommand(const std::string& command) {
  std::vector<std::string> words = SplitCommandWords(command);
  if (words.front().starts_with("-") || words.front() == "serve") {
    throw Error("unknown command '" + words.front() + "'; try 'help'");
  }
  // hephyd's own command line, as the caller: one parser for both, and the
  // channel's bytes bridged as for git (keys on stdin, logs followed live).
  SpawnOptions spawn;
  spawn.argv = {std::filesystem::read_symlink("/proc/self/exe").string()};
  if (!context_.config.file.empty()) {
    spawn.argv.insert(spawn.argv.end(), {"--config", context_.config.file.string()});
  }
  spawn.argv.insert(spawn.argv.end(), words.begin(), words.end());
  std::vector<std::string> env;
  for (char** variable = environ; *variable != nullptr; ++variable) {
    if (!std::string_view(*variable).starts_with("HEPHY_SSH_")) env.emplace_back(*variable);
  }
  env.push_back(user_ ? "HEPHY_SSH_USER=" + user_->name : "HEPHY_SSH_DEPLOY_KEY=" + fingerprint_);
  env.push_back("HEPHY_SSH_KEY=" + fingerprint_);
  env.push_back("HEPHY_SSH_REMOTE=" + remote_);
  spawn.env = std::move(env);
  spawn.pipe_stdin = spawn.pipe_stdout = spawn.pipe_stderr = true;
  StartChild(spawn);
}

void SshSession::AuditPush(const std::string& result) {
  if (!git_ || git_->service != GitService::kReceivePack || push_audited_) return;
  push_audited_ = true;
  const auto verdict = context_.pushes.Close(push_id_);
  // As builds record the pusher (PusherName).
  PushAttempt push{user_ ? user_->name : "deploy:" + fingerprint_, fingerprint_, git_->app, remote_,
                   std::nullopt};
  std::string outcome;
  try {
    if (!child_started_) {
      std::string reason = failure_.value_or(result);
      if (reason.starts_with("hephyd: ")) reason.erase(0, 8);
      outcome = "denied: " + reason;
    } else {
      push.updates = push_commands_.Updates();
      // A client with nothing to push asks for no update, or hangs up at once.
      if (push.updates ? push.updates->empty() : bytes_in_ == 0 && !verdict) return;
      outcome = RanPushResult(verdict, context_.repos.PathFor(git_->app), push.updates, result);
    }
    store_->Audit(PushAuditEntry(push, outcome));
  } catch (const std::exception& e) {
    Log()->error("remote={} push {} app={}: cannot write its audit record: {}", remote_, push_id_,
                 git_->app, e.what());
  }
}

}  // namespace hephy

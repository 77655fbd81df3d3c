// SshSession: public-key authentication, and the per-address throttle of
// connections that never authenticate.
#include "hephy/ssh_key.h"
#include "ssh/ssh_session.h"
#include "ssh/ssh_session_parts.h"

namespace hephy {
namespace {

using session_parts::Log;
using session_parts::Now;

}  // namespace

int SshSession::OnAuthPublicKey(const char* user, ssh_key key, char signature_state) {
  (void)user;  // identity is the key; the SSH user name ("git") is not used
  std::string fingerprint;
  std::optional<User> owner;
  std::optional<DeployKey> deploy_key;
  try {
    fingerprint = KeyFingerprint(key);
    owner = store_->FindUserByKey(fingerprint);
    if (!owner) deploy_key = store_->FindDeployKey(fingerprint);
  } catch (const std::exception& e) {  // nothing may unwind through libssh
    Log()->error("remote={} key lookup failed: {}", remote_, e.what());
    return SSH_AUTH_DENIED;
  }
  const bool known = owner || deploy_key;
  if (!known || signature_state == SSH_PUBLICKEY_STATE_WRONG) {
    ++failed_auths_;
    Log()->info("remote={} key={} denied: {}", remote_, fingerprint,
                known ? "bad signature" : "unknown key");
    return SSH_AUTH_DENIED;
  }
  // STATE_NONE is the client asking whether the key would do: yes, prove it.
  if (signature_state == SSH_PUBLICKEY_STATE_VALID) {
    user_ = owner;
    deploy_key_ = deploy_key;
    fingerprint_ = fingerprint;
    last_activity_ = Now();
    // Over ssh.max_sessions, the session keeps its handshake place just long
    // enough to tell the client (OnExec).
    session_slot_ = context_.limits.StartSession();
    if (session_slot_) handshake_slot_ = {};
  }
  return SSH_AUTH_SUCCESS;
}

int SshSession::OnAuthPassword(const char* user) {
  ++failed_auths_;
  Log()->info("remote={} password authentication for '{}' refused", remote_, user);
  return SSH_AUTH_DENIED;
}

void SshSession::RecordAuthFailure() {
  const std::string host = HostOfAddress(remote_);
  if (!context_.throttle.Failed(host, std::chrono::steady_clock::now())) return;
  const auto& limits = context_.config.ssh.auth_failures;
  Log()->warn(
      "remote address {} blocked for {}s: {} connections failed to authenticate within {}s "
      "(ssh.auth_failures)",
      host, limits.block.count(), limits.limit, limits.window.count());
}

}  // namespace hephy

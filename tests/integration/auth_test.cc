// Who gets in: public keys from the store, checked at each connection.
#include <gtest/gtest.h>
#include <libssh/libssh.h>

#include "test_daemon.h"

namespace hephy {
namespace {

class AuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    alice_ = daemon_.AddUser("alice");
    daemon_.Start();
  }

  // An exec that needs no repository: its refusal proves we got past auth.
  RunResult Probe(const TestKey& key) { return daemon_.Ssh(key, "git-upload-pack 'nope.git'"); }

  TestDaemon daemon_;
  TestKey alice_;
};

TEST_F(AuthTest, RegisteredKeyGetsIn) {
  const RunResult r = Probe(alice_);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "hephyd: no app 'nope'\n");
}

TEST_F(AuthTest, UnknownKeyIsDenied) {
  const RunResult r = Probe(daemon_.NewKey("mallory"));
  EXPECT_EQ(r.exit_code, 255);
  EXPECT_NE(r.err.find("Permission denied (publickey)"), std::string::npos) << r.err;
  EXPECT_TRUE(daemon_.WaitForLog("denied: unknown key"));
}

TEST_F(AuthTest, OpenSshClientIsOfferedNoPasswordOrKeyboardInteractive) {
  const RunResult r = daemon_.Ssh(alice_, "git-upload-pack 'nope.git'",
                                  {"-o", "PreferredAuthentications=password,keyboard-interactive"});
  EXPECT_EQ(r.exit_code, 255);
  EXPECT_NE(r.err.find("Permission denied (publickey)"), std::string::npos) << r.err;
}

// The OpenSSH client will not even try methods the server does not list, so
// a libssh client sends password and keyboard-interactive requests anyway.
TEST_F(AuthTest, PasswordAndKeyboardInteractiveRequestsAreRefused) {
  ssh_session client = ssh_new();
  const unsigned int port = daemon_.port();
  ssh_options_set(client, SSH_OPTIONS_HOST, "127.0.0.1");
  ssh_options_set(client, SSH_OPTIONS_PORT, &port);
  ssh_options_set(client, SSH_OPTIONS_USER, "alice");
  const bool no = false;
  ssh_options_set(client, SSH_OPTIONS_PROCESS_CONFIG, &no);
  ASSERT_EQ(ssh_connect(client), SSH_OK) << ssh_get_error(client);
  EXPECT_EQ(ssh_userauth_none(client, nullptr), SSH_AUTH_DENIED);
  EXPECT_EQ(ssh_userauth_list(client, nullptr), SSH_AUTH_METHOD_PUBLICKEY);
  EXPECT_EQ(ssh_userauth_password(client, nullptr, "hunter2"), SSH_AUTH_DENIED);
  EXPECT_EQ(ssh_userauth_kbdint(client, nullptr, nullptr), SSH_AUTH_DENIED);
  ssh_disconnect(client);
  ssh_free(client);
}

TEST_F(AuthTest, KeyAddedByCliWorksWithoutRestart) {
  const RunResult added = daemon_.Cli({"users", "add", "bob"});
  ASSERT_EQ(added.exit_code, 0);
  const TestKey bob = daemon_.NewKey("bob");
  EXPECT_EQ(Probe(bob).exit_code, 255);
  ASSERT_EQ(daemon_.Cli({"keys", "add", "bob", bob.public_key.string()}).exit_code, 0);
  EXPECT_EQ(Probe(bob).exit_code, 1);  // in, and told the app does not exist
}

TEST_F(AuthTest, RemovedKeyAndRemovedUserStopWorking) {
  const auto keys = daemon_.Cli({"keys", "list", "alice"}).out;
  const auto at = keys.find("SHA256:");
  ASSERT_NE(at, std::string::npos);
  const std::string fingerprint = keys.substr(at, keys.find(' ', at) - at);
  ASSERT_EQ(daemon_.Cli({"keys", "remove", fingerprint}).exit_code, 0);
  EXPECT_EQ(Probe(alice_).exit_code, 255);

  const TestKey carol = daemon_.AddUser("carol");
  EXPECT_EQ(Probe(carol).exit_code, 1);
  ASSERT_EQ(daemon_.Cli({"users", "remove", "carol"}).exit_code, 0);
  EXPECT_EQ(Probe(carol).exit_code, 255);
}

}  // namespace
}  // namespace hephy

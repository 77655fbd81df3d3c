#include "cli.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "cli_fixture.h"
#include "fixtures.h"

namespace hephy {
namespace {

TEST_F(CliTest, EveryCommandHasHelp) {
  for (const auto& command : std::vector<std::vector<std::string>>{{"--help"},
                                                                   {"serve", "--help"},
                                                                   {"users", "--help"},
                                                                   {"users", "add", "--help"},
                                                                   {"users", "list", "--help"},
                                                                   {"users", "remove", "--help"},
                                                                   {"keys", "add", "--help"},
                                                                   {"keys", "list", "--help"},
                                                                   {"keys", "remove", "--help"},
                                                                   {"apps", "create", "--help"},
                                                                   {"apps", "list", "--help"},
                                                                   {"builds", "--help"},
                                                                   {"builds", "list", "--help"},
                                                                   {"builds", "show", "--help"},
                                                                   {"logs", "--help"}}) {
    const Outcome r = Run(command);
    EXPECT_EQ(r.code, 0) << command[0];
    EXPECT_NE(r.out.find("usage: hephyd"), std::string::npos) << r.out;
  }
}

TEST_F(CliTest, UsageErrorsExitTwo) {
  EXPECT_EQ(Run({}).code, 2);
  EXPECT_EQ(Run({"frobnicate"}).code, 2);
  EXPECT_EQ(Run({"users"}).code, 2);
  EXPECT_EQ(Run({"users", "add"}).code, 2);
  const Outcome r = Run({"users", "add", "alice", "--bogus"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("unknown option '--bogus'"), std::string::npos);
  EXPECT_NE(r.err.find("usage: hephyd users add NAME [--admin]"), std::string::npos);
  EXPECT_EQ(Run({"users", "list", "extra"}).code, 2);
}

TEST_F(CliTest, FailuresExitOneWithAMessage) {
  EXPECT_EQ(Run({"users", "add", "alice"}).code, 0);
  const Outcome r = Run({"users", "add", "alice"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "hephyd: user 'alice' already exists\n");
  EXPECT_EQ(Run({"users", "remove", "nobody"}).err, "hephyd: no user 'nobody'\n");
}

TEST_F(CliTest, UsersListAsTableAndJson) {
  Run({"users", "add", "alice", "--admin"});
  Run({"users", "add", "bob"});
  Run({"keys", "add", "bob", "-"}, KeyFixture("ed25519.pub"));
  const Outcome table = Run({"users", "list"});
  EXPECT_EQ(table.out.substr(0, table.out.find('\n')), "NAME   ADMIN  KEYS  CREATED");
  EXPECT_NE(table.out.find("bob    no     1"), std::string::npos) << table.out;

  const auto json = nlohmann::json::parse(Run({"users", "list", "--json"}).out);
  ASSERT_EQ(json.size(), 2u);
  EXPECT_EQ(json[0]["name"], "alice");
  EXPECT_EQ(json[0]["admin"], true);
  EXPECT_EQ(json[1]["keys"], 1);
}

TEST_F(CliTest, KeysAddFromFileAndStdin) {
  Run({"users", "add", "alice"});
  const auto file = dir_.path() / "id.pub";
  std::ofstream(file) << KeyFixture("rsa-2048.pub");
  Outcome r = Run({"keys", "add", "alice", file.string()});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "added ssh-rsa key SHA256:jptRFCJg8JKfOv3otftwa+q94sD5TLYRiMKiuI5fT50 "
            "(rsa-2048@fixture) for alice\n");
  r = Run({"keys", "add", "alice"}, KeyFixture("ecdsa-384.pub"));
  EXPECT_EQ(r.code, 0) << r.err;

  const auto keys = nlohmann::json::parse(Run({"keys", "list", "alice", "--json"}).out);
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[1]["type"], "ecdsa-sha2-nistp384");
  EXPECT_EQ(keys[1]["bits"], 384);
}

TEST_F(CliTest, BadOrDuplicateKeysAddNothing) {
  Run({"users", "add", "alice"});
  Run({"users", "add", "bob"});
  Outcome r = Run({"keys", "add", "alice"}, KeyFixture("ed25519.pub") + KeyFixture("rsa-1024.pub"));
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "hephyd: stdin:2: RSA key of 1024 bits is too weak (at least 2048 required)\n");
  EXPECT_EQ(nlohmann::json::parse(Run({"keys", "list", "--json"}).out).size(), 0u);

  EXPECT_EQ(Run({"keys", "add", "alice"}, KeyFixture("ed25519.pub")).code, 0);
  r = Run({"keys", "add", "bob"}, KeyFixture("ed25519.pub"));
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err,
            "hephyd: key SHA256:MVU2IOQb4PgeKLvdXI+/ZmMnJIFbCUw433K5EYS8hpg is already "
            "registered to another user ('alice')\n");
  r = Run({"keys", "add", "bob"}, KeyFixture("ecdsa-256.pub") + KeyFixture("ecdsa-256.pub"));
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err,
            "hephyd: key SHA256:9AxQDIGehmSFLgHMFHyQw19myiAsQXlIDs31WFahov8 is given twice\n");
  EXPECT_EQ(nlohmann::json::parse(Run({"keys", "list", "bob", "--json"}).out).size(), 0u);
  EXPECT_EQ(Run({"keys", "add", "alice", "/nonexistent.pub"}).err,
            "hephyd: /nonexistent.pub: cannot read key file\n");
  EXPECT_EQ(Run({"keys", "add", "carol"}, KeyFixture("rsa-2048.pub")).err,
            "hephyd: no user 'carol'\n");
}

TEST_F(CliTest, KeysRemoveByFingerprint) {
  Run({"users", "add", "alice"});
  Run({"keys", "add", "alice"}, KeyFixture("ed25519.pub"));
  EXPECT_EQ(Run({"keys", "remove", "SHA256:MVU2IOQb4PgeKLvdXI+/ZmMnJIFbCUw433K5EYS8hpg"}).code, 0);
  EXPECT_EQ(Run({"keys", "remove", "SHA256:MVU2IOQb4PgeKLvdXI+/ZmMnJIFbCUw433K5EYS8hpg"}).code, 1);
}

TEST_F(CliTest, AppsCreateAndList) {
  Run({"users", "add", "alice"});
  EXPECT_EQ(Run({"apps", "create", "web", "--owner", "alice"}).code, 0);
  EXPECT_EQ(Run({"apps", "create", "infra"}).code, 0);
  EXPECT_EQ(Run({"apps", "create", "Bad_Name"}).code, 1);
  EXPECT_EQ(Run({"apps", "create", "api", "--owner"}).code, 2);
  const auto apps = nlohmann::json::parse(Run({"apps", "list", "--json"}).out);
  ASSERT_EQ(apps.size(), 2u);
  EXPECT_EQ(apps[0]["name"], "infra");
  EXPECT_TRUE(apps[0]["owner"].is_null());
  EXPECT_EQ(apps[1]["owner"], "alice");
}

TEST_F(CliTest, RemovingAnOwnerLeavesTheirAppsToAdmins) {
  Run({"users", "add", "alice"});
  Run({"apps", "create", "web", "--owner", "alice"});
  const Outcome r = Run({"users", "remove", "alice"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "removed user alice and their keys\napp web is now managed by admins\n");
}

TEST_F(CliTest, ConfigErrorsNameTheFileAndLine) {
  std::ofstream(config_) << "data_dir: /tmp/x\nssh:\n  listen: 2222\n";
  const Outcome r = Run({"users", "list"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err,
            "hephyd: " + config_.string() + ":3: ssh.listen: expected HOST:PORT, got '2222'\n");
}

}  // namespace
}  // namespace hephy

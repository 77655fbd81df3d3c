#include "registry/embedded_registry.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <iterator>

#include "hephy/error.h"
#include "hephy/registry_client.h"
#include "test_dir.h"
#include "test_registry.h"

namespace hephy {
namespace {

TEST(EmbeddedRegistry, ServesFromItsDirectory) {
  TestRegistry registry;
  RegistryClient client(registry.url(), true);
  client.Ping();
  std::ifstream in(registry.dir() / "config.yml");
  const std::string config(std::istreambuf_iterator<char>(in), {});
  EXPECT_NE(config.find("rootdirectory: \"" + (registry.dir() / "data").string() + "\""),
            std::string::npos)
      << config;
  EXPECT_NE(config.find("addr: \"" + registry.url() + "\""), std::string::npos) << config;
  client.PutBlob("web", "kept on disk");
  EXPECT_TRUE(std::filesystem::exists(registry.dir() / "data" / "docker" / "registry" / "v2" /
                                      "repositories" / "web"));
}

TEST(EmbeddedRegistry, RefusesATakenPortSayingWhatToDoInstead) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(listen(fd, 8), 0);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length), 0);
  const std::string url = "127.0.0.1:" + std::to_string(ntohs(address.sin_port));
  TestDir dir;
  try {
    EmbeddedRegistry registry(url, dir.path());
    ADD_FAILURE() << "started on a taken port";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("embedded registry on " + url + ": docker-registry exited with code 1"),
              std::string::npos)
        << message;
    EXPECT_NE(message.find("bind: address already in use"), std::string::npos) << message;
    EXPECT_NE(message.find("registry.embedded: false"), std::string::npos) << message;
    EXPECT_NE(message.find("another registry.url"), std::string::npos) << message;
  }
  close(fd);
}

TEST(EmbeddedRegistry, RestartsWhenItDiesAndKeepsItsData) {
  TestRegistry registry;
  EmbeddedRegistry& process = registry.process();
  EXPECT_EQ(process.starts(), 1);
  RegistryClient client(registry.url(), true);
  const std::string digest = client.PutBlob("web", "survives a restart");

  const pid_t first = process.pid();
  ASSERT_GT(first, 0);
  ASSERT_EQ(kill(first, SIGKILL), 0);
  ASSERT_TRUE(process.WaitForStarts(2, std::chrono::seconds(30)));
  EXPECT_NE(process.pid(), first);
  // The client's kept-alive connection died with the first process.
  EXPECT_EQ(client.GetBlob("web", digest), "survives a restart");
}

TEST(EmbeddedRegistry, GarbageCollectionFreesUnreferencedBlobsAndServesOn) {
  TestRegistry registry;
  EmbeddedRegistry& process = registry.process();
  RegistryClient client(registry.url(), true);
  const std::string big(512 * 1024, 'x');
  const TestImage dropped =
      PushTestImage(client, "web", ParsePlatform("linux/amd64"), false, big + "dropped");
  const TestImage kept =
      PushTestImage(client, "web", ParsePlatform("linux/amd64"), false, big + "kept");
  client.PutManifest("web", "web-latest", kOciManifest, kept.body);
  ASSERT_EQ(client.DeleteManifest("web", dropped.digest), std::nullopt);

  const EmbeddedRegistry::Collected collected = process.CollectGarbage();
  EXPECT_GE(collected.bytes_before, collected.bytes_after + big.size());
  EXPECT_EQ(process.starts(), 2);  // stopped for the collection, started again
  // What a tag names is intact, and the registry takes writes again.
  const auto manifest = client.GetManifest("web", "web-latest");
  EXPECT_EQ(manifest.digest, kept.digest);
  EXPECT_EQ(client.GetBlob("web", kept.config_digest).empty(), false);
  EXPECT_NO_THROW(client.PutBlob("web", "after the collection"));
}

TEST(EmbeddedRegistry, DestructionStopsAndReapsTheProcess) {
  pid_t pid = -1;
  {
    TestRegistry registry;
    pid = registry.process().pid();
    ASSERT_GT(pid, 0);
    ASSERT_EQ(kill(pid, 0), 0);
  }
  // Reaped, not a zombie: the pid is gone.
  EXPECT_EQ(kill(pid, 0), -1);
  EXPECT_EQ(errno, ESRCH);
}

TEST(EmbeddedRegistry, BadUrlIsAnErrorNamingIt) {
  TestDir dir;
  try {
    EmbeddedRegistry registry("http://127.0.0.1:5000", dir.path());
    ADD_FAILURE() << "accepted a url with a scheme";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("registry.url 'http://127.0.0.1:5000'"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace hephy

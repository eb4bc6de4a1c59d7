// transport-unix, loaded from its .so and driven over real UNIX-domain sockets.
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <fstream>
#include <random>

#include "plugin_harness.hpp"

namespace quictun::testing {
namespace {

namespace fs = std::filesystem;

class UnixTransportTest : public ::testing::Test {
 protected:
  UnixTransportTest() {
    char pattern[] = "/tmp/quictun-unix-XXXXXX";
    if (!::mkdtemp(pattern)) throw std::runtime_error("mkdtemp failed");
    dir = pattern;
    transport = plugin.transport("unix").create(sdk::PluginConfig{}, host);
  }
  ~UnixTransportTest() override {
    transport.reset();
    host.drain();
    std::error_code ignored;
    fs::remove_all(dir, ignored);
  }

  std::string path(const std::string& name) const { return (dir / name).string(); }

  // A socket bound at `file` by someone else: listening (a live server) or not (a crashed one).
  static Fd foreign_socket(const std::string& file, bool listening) {
    Fd fd(::socket(AF_UNIX, SOCK_STREAM, 0));
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, file.c_str(), sizeof address.sun_path - 1);
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0)
      throw std::runtime_error("bind " + file + ": " + std::strerror(errno));
    if (listening) ::listen(fd.get(), 8);
    return fd;
  }

  static bool is_socket(const std::string& file) {
    struct stat st {};
    return ::lstat(file.c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
  }

  void expect_round_trip(const std::string& address, int listener) {
    ConnectProbe probe;
    transport->connect(address, probe.callback());
    ASSERT_EQ(probe.calls, 1);
    ASSERT_GE(probe.result->fd, 0) << probe.result->error;
    Fd client(probe.result->fd);
    EXPECT_TRUE(is_nonblocking(client.get()));
    EXPECT_TRUE(is_cloexec(client.get()));

    auto accepted = accept_one(*transport, listener);
    ASSERT_TRUE(accepted);
    Fd server(accepted->fd);
    EXPECT_TRUE(is_nonblocking(server.get()));
    EXPECT_TRUE(is_cloexec(server.get()));
    EXPECT_EQ(accepted->peer_address, "");
    EXPECT_EQ(accepted->peer_ip, "");

    send_all(client.get(), "hello over unix");
    EXPECT_EQ(receive(server.get(), 15), "hello over unix");
    send_all(server.get(), "and back");
    EXPECT_EQ(receive(client.get(), 8), "and back");
  }

  PluginLibrary plugin{"transport-unix"};
  TestHost host;
  std::unique_ptr<sdk::Transport> transport;
  fs::path dir;  // a fresh directory per test, removed afterwards
};

TEST_F(UnixTransportTest, DescribesItselfAndExportsItsMarker) {
  EXPECT_EQ(plugin.abi(), sdk::abi_version);
  EXPECT_EQ(plugin.descriptor().name, "transport-unix");
  ASSERT_EQ(plugin.descriptor().transports.size(), 1u);
  EXPECT_EQ(plugin.descriptor().transports[0].schemes, std::vector<std::string>{"unix"});
  EXPECT_TRUE(plugin.provides("transport__unix"));
}

TEST_F(UnixTransportTest, MovesBytesThroughASocketFile) {
  std::string address = "unix:" + path("app.sock");
  Fd listener(transport->listen(address));
  EXPECT_TRUE(is_nonblocking(listener.get()));
  EXPECT_TRUE(is_cloexec(listener.get()));
  EXPECT_TRUE(is_socket(path("app.sock")));
  EXPECT_EQ(transport->accept(listener.get()), std::nullopt);
  expect_round_trip(address, listener.get());
}

TEST_F(UnixTransportTest, RemovesAStaleSocketFile) {
  foreign_socket(path("stale.sock"), false);  // bound, then closed without unlinking: a crash
  ASSERT_TRUE(is_socket(path("stale.sock")));
  Fd listener(transport->listen("unix:" + path("stale.sock")));
  EXPECT_TRUE(host.logged("removed stale socket file " + path("stale.sock")));
  expect_round_trip("unix:" + path("stale.sock"), listener.get());
}

TEST_F(UnixTransportTest, RefusesToTakeOverALiveSocket) {
  Fd other = foreign_socket(path("live.sock"), true);
  std::string address = "unix:" + path("live.sock");
  EXPECT_EQ(error_of([&] { Fd fd(transport->listen(address)); }), address + ": another process is listening there");
  EXPECT_TRUE(is_socket(path("live.sock"))) << "the other server keeps its socket file";
}

TEST_F(UnixTransportTest, RefusesAPathThatIsNotASocket) {
  std::ofstream(path("notes.txt")) << "precious";
  std::string address = "unix:" + path("notes.txt");
  EXPECT_EQ(error_of([&] { Fd fd(transport->listen(address)); }),
            address + ": cannot listen: " + path("notes.txt") + " exists and is not a socket");
  std::ifstream kept(path("notes.txt"));
  std::string content;
  kept >> content;
  EXPECT_EQ(content, "precious");
}

TEST_F(UnixTransportTest, ReportsAMissingDirectory) {
  std::string address = "unix:" + path("no/such/dir.sock");
  EXPECT_EQ(error_of([&] { Fd fd(transport->listen(address)); }), address + ": cannot listen: No such file or directory");
}

TEST_F(UnixTransportTest, UnlistenRemovesTheSocketFile) {
  std::string address = "unix:" + path("gone.sock");
  Fd listener(transport->listen(address));
  transport->unlisten(address, listener.get());
  EXPECT_FALSE(fs::exists(path("gone.sock")));
}

TEST_F(UnixTransportTest, UnlistenLeavesAFileThatReplacedOursAlone) {
  std::string address = "unix:" + path("taken.sock");
  Fd listener(transport->listen(address));
  fs::remove(path("taken.sock"));
  Fd successor = foreign_socket(path("taken.sock"), true);  // another server took the path over
  transport->unlisten(address, listener.get());
  EXPECT_TRUE(is_socket(path("taken.sock")));
}

TEST_F(UnixTransportTest, ExplainsMalformedAddresses) {
  std::string long_path = "/" + std::string(120, 'a');
  std::string with_nul("unix:/tmp/a\0b", 13);
  const std::pair<std::string, std::string> cases[] = {
      {"unix:", "bad address \"unix:\": missing path"},
      {"unix:@", "bad address \"unix:@\": missing name after '@'"},
      {"unix:" + long_path, "bad address \"unix:" + long_path + "\": the path is 121 bytes long; the limit is 107"},
      {with_nul, "bad address \"unix:/tmp/a\\x00b\": the path contains a NUL byte"},
      {"tcp:/tmp/x", "bad address \"tcp:/tmp/x\": expected unix:/PATH or unix:@NAME"},
  };
  for (const auto& [address, message] : cases) {
    EXPECT_EQ(error_of([&] { Fd fd(transport->listen(address)); }), message);
    ConnectProbe probe;
    transport->connect(address, probe.callback());
    ASSERT_EQ(probe.calls, 1);
    EXPECT_EQ(probe.result->fd, -1);
    EXPECT_EQ(probe.result->error, message);
  }
}

TEST_F(UnixTransportTest, ReportsConnectFailures) {
  std::string missing = "unix:" + path("missing.sock");
  ConnectProbe nobody;
  transport->connect(missing, nobody.callback());
  ASSERT_EQ(nobody.calls, 1);
  EXPECT_EQ(nobody.result->error, missing + ": cannot connect: No such file or directory");

  foreign_socket(path("dead.sock"), false);
  std::string dead = "unix:" + path("dead.sock");
  ConnectProbe refused;
  transport->connect(dead, refused.callback());
  ASSERT_EQ(refused.calls, 1);
  EXPECT_EQ(refused.result->error, dead + ": cannot connect: Connection refused");
}

TEST_F(UnixTransportTest, ServesAbstractSocketsAndRefusesTakenNames) {
  std::string address = "unix:@quictun-test-" + std::to_string(::getpid()) + "-" + std::to_string(std::random_device{}());
  Fd listener(transport->listen(address));
  expect_round_trip(address, listener.get());
  EXPECT_EQ(error_of([&] { Fd fd(transport->listen(address)); }), address + ": another process is listening there");
  transport->unlisten(address, listener.get());
}

}  // namespace
}  // namespace quictun::testing

// transport-tcp, loaded from its .so and driven over loopback sockets.
#include <arpa/inet.h>
#include <dirent.h>

#include "plugin_harness.hpp"

namespace quictun::testing {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// A nameserver on 127.0.0.1, on the test's own loop: it answers an A query for `name` with
// 127.0.0.1 and any other query with no records, each `delay` after it arrived. Lets a test
// see a lookup that really waits for the network, for a name no real nameserver knows.
class TestNameserver {
 public:
  TestNameserver(event_base* loop, std::string name, std::chrono::milliseconds delay)
      : loop_(loop), name_(std::move(name)), delay_(delay) {
    fd_ = Fd(::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    sockaddr_in any{};
    any.sin_family = AF_INET;
    any.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (!fd_ || ::bind(fd_.get(), reinterpret_cast<sockaddr*>(&any), sizeof any) != 0)
      throw std::runtime_error("cannot bind the test nameserver");
    socklen_t length = sizeof any;
    ::getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&any), &length);
    port_ = ntohs(any.sin_port);
    read_.reset(event_new(loop, fd_.get(), EV_READ | EV_PERSIST, &TestNameserver::on_query, this));
    event_add(read_.get(), nullptr);
  }

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  int queries = 0;                       // datagrams received
  int answers = 0;                       // replies sent
  std::optional<Clock::time_point> first_answer;  // when the first reply went out

 private:
  struct Reply {
    TestNameserver* server;
    std::vector<std::uint8_t> bytes;
    sockaddr_storage to{};
    socklen_t to_length = 0;
    sdk::EventPtr timer;
  };

  static void on_query(evutil_socket_t fd, short, void* arg) {
    auto* self = static_cast<TestNameserver*>(arg);
    std::uint8_t packet[512];
    auto reply = std::make_unique<Reply>();
    reply->to_length = sizeof reply->to;
    ssize_t n = ::recvfrom(fd, packet, sizeof packet, 0, reinterpret_cast<sockaddr*>(&reply->to), &reply->to_length);
    if (n < 12) return;
    ++self->queries;
    // The question: labels up to a zero byte, then type and class. evdns varies the case of
    // the name it asks (0x20 randomisation) and checks the reply repeats it byte for byte.
    std::size_t end = 12;
    std::string asked;
    while (end < static_cast<std::size_t>(n) && packet[end] != 0) {
      std::size_t label = packet[end];
      for (std::size_t i = 1; i <= label && end + i < static_cast<std::size_t>(n); ++i)
        asked += static_cast<char>(std::tolower(packet[end + i]));
      asked += '.';
      end += label + 1;
    }
    end += 1 + 4;
    if (end > static_cast<std::size_t>(n)) return;
    std::uint16_t type = static_cast<std::uint16_t>(packet[end - 4] << 8 | packet[end - 3]);
    bool known = asked == self->name_ + "." && type == 1;  // A
    reply->bytes.assign(packet, packet + end);
    reply->bytes[2] = 0x81;  // a response, recursion desired
    reply->bytes[3] = 0x80;  // recursion available, no error
    reply->bytes[6] = 0;
    reply->bytes[7] = known ? 1 : 0;
    for (int i = 8; i < 12; ++i) reply->bytes[i] = 0;  // no authority or additional records
    if (known) {
      const std::uint8_t record[] = {0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 127, 0, 0, 1};
      reply->bytes.insert(reply->bytes.end(), std::begin(record), std::end(record));
    }
    reply->server = self;
    reply->timer.reset(evtimer_new(self->loop_, &TestNameserver::on_due, reply.get()));
    timeval delay{0, static_cast<suseconds_t>(std::chrono::microseconds(self->delay_).count())};
    evtimer_add(reply->timer.get(), &delay);
    self->replies_.push_back(std::move(reply));
  }

  static void on_due(evutil_socket_t, short, void* arg) {
    auto* reply = static_cast<Reply*>(arg);
    TestNameserver* self = reply->server;
    ::sendto(self->fd_.get(), reply->bytes.data(), reply->bytes.size(), 0, reinterpret_cast<sockaddr*>(&reply->to),
             reply->to_length);
    ++self->answers;
    if (!self->first_answer) self->first_answer = Clock::now();
  }

  event_base* loop_;
  std::string name_;
  std::chrono::milliseconds delay_;
  Fd fd_;
  std::uint16_t port_ = 0;
  sdk::EventPtr read_;
  std::vector<std::unique_ptr<Reply>> replies_;  // sent or due; freed with the server
};

// How many descriptors this process has open: a resolver's nameserver socket is one.
int open_descriptors() {
  int count = 0;
  DIR* dir = ::opendir("/proc/self/fd");
  if (!dir) return -1;
  while (dirent* entry = ::readdir(dir))
    if (entry->d_name[0] != '.') ++count;
  ::closedir(dir);
  return count - 1;  // the one opendir() holds
}

sdk::PluginConfig nameservers_config(const std::vector<std::string>& servers) {
  sdk::ConfigArray array;
  for (const auto& s : servers) array.emplace_back(s, "quictun.toml:8");
  sdk::PluginConfig config;
  config.table["nameservers"] = sdk::ConfigValue(std::move(array), "quictun.toml:8");
  return config;
}

class TcpTransportTest : public ::testing::Test {
 protected:
  TcpTransportTest() { transport = plugin.transport("tcp").create(sdk::PluginConfig{}, host); }
  ~TcpTransportTest() override {
    transport.reset();
    host.drain();
  }

  // Listens through the plugin and reports the port the kernel chose.
  std::pair<Fd, std::uint16_t> listen(const std::string& address) {
    Fd fd(transport->listen(address));
    sockaddr_storage local{};
    socklen_t length = sizeof local;
    ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&local), &length);
    auto port = local.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&local)->sin6_port
                                            : reinterpret_cast<sockaddr_in*>(&local)->sin_port;
    return {std::move(fd), ntohs(port)};
  }

  static std::uint16_t local_port(int fd) {
    sockaddr_storage local{};
    socklen_t length = sizeof local;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &length);
    return ntohs(local.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&local)->sin6_port
                                             : reinterpret_cast<sockaddr_in*>(&local)->sin_port);
  }

  static bool has_ipv6_loopback() {
    Fd fd(::socket(AF_INET6, SOCK_STREAM, 0));
    sockaddr_in6 any{};
    any.sin6_family = AF_INET6;
    any.sin6_addr = in6addr_loopback;
    return fd.get() >= 0 && ::bind(fd.get(), reinterpret_cast<sockaddr*>(&any), sizeof any) == 0;
  }

  // A loopback port nobody listens on (just released by us).
  std::uint16_t closed_port() {
    auto [fd, port] = listen("tcp:127.0.0.1:0");
    transport->unlisten("tcp:127.0.0.1:0", fd.get());
    return port;
  }

  // Connects `address` to `listener`, checks both ends, and moves bytes both ways.
  void expect_round_trip(const std::string& address, int listener, const std::string& peer_ip) {
    ConnectProbe probe;
    transport->connect(address, probe.callback());
    ASSERT_TRUE(host.run_until([&] { return probe.calls > 0; }));
    ASSERT_EQ(probe.calls, 1);
    ASSERT_GE(probe.result->fd, 0) << probe.result->error;
    Fd client(probe.result->fd);
    EXPECT_TRUE(is_nonblocking(client.get()));
    EXPECT_TRUE(is_cloexec(client.get()));
    EXPECT_EQ(int_option(client.get(), IPPROTO_TCP, TCP_NODELAY), 1);

    auto accepted = accept_one(*transport, listener);
    ASSERT_TRUE(accepted);
    Fd server(accepted->fd);
    EXPECT_TRUE(is_nonblocking(server.get()));
    EXPECT_TRUE(is_cloexec(server.get()));
    EXPECT_EQ(int_option(server.get(), IPPROTO_TCP, TCP_NODELAY), 1);
    EXPECT_EQ(accepted->peer_ip, peer_ip);
    std::string port = std::to_string(local_port(client.get()));
    EXPECT_EQ(accepted->peer_address, peer_ip.find(':') == std::string::npos ? peer_ip + ":" + port
                                                                             : "[" + peer_ip + "]:" + port);

    ASSERT_TRUE(wait_for(client.get(), POLLOUT));
    EXPECT_EQ(socket_error(client.get()), 0);
    send_all(client.get(), "ping from the client");
    EXPECT_EQ(receive(server.get(), 20), "ping from the client");
    send_all(server.get(), "pong from the backend");
    EXPECT_EQ(receive(client.get(), 21), "pong from the backend");
  }

  PluginLibrary plugin{"transport-tcp"};
  TestHost host;
  std::unique_ptr<sdk::Transport> transport;
};

TEST_F(TcpTransportTest, DescribesItselfAndExportsItsMarkers) {
  EXPECT_EQ(plugin.abi(), sdk::abi_version);
  EXPECT_EQ(plugin.descriptor().name, "transport-tcp");
  ASSERT_EQ(plugin.descriptor().transports.size(), 1u);
  EXPECT_EQ(plugin.descriptor().transports[0].schemes, (std::vector<std::string>{"tcp", "tcp4", "tcp6"}));
  EXPECT_TRUE(plugin.provides("transport__tcp"));
  EXPECT_TRUE(plugin.provides("transport__tcp4"));
  EXPECT_TRUE(plugin.provides("transport__tcp6"));
}

TEST_F(TcpTransportTest, RefusesSettingsItDoesNotHave) {
  sdk::PluginConfig config;
  config.table["nodelay"] = sdk::ConfigValue(true, "quictun.toml:4");
  EXPECT_EQ(error_of([&] { plugin.transport("tcp").create(config, host); }),
            "quictun.toml:4: 'nodelay' is not a setting of the tcp transport (it has 'nameservers')");
}

TEST_F(TcpTransportTest, MovesBytesOverIPv4Loopback) {
  auto [listener, port] = listen("tcp:127.0.0.1:0");
  EXPECT_TRUE(is_nonblocking(listener.get()));
  EXPECT_TRUE(is_cloexec(listener.get()));
  EXPECT_EQ(int_option(listener.get(), SOL_SOCKET, SO_REUSEADDR), 1);
  expect_round_trip("tcp:127.0.0.1:" + std::to_string(port), listener.get(), "127.0.0.1");
  expect_round_trip("tcp4:127.0.0.1:" + std::to_string(port), listener.get(), "127.0.0.1");
}

TEST_F(TcpTransportTest, MovesBytesOverIPv6Loopback) {
  if (!has_ipv6_loopback()) GTEST_SKIP() << "no IPv6 loopback here";
  auto [listener, port] = listen("tcp6:[::1]:0");
  EXPECT_EQ(int_option(listener.get(), IPPROTO_IPV6, IPV6_V6ONLY), 1);
  expect_round_trip("tcp:[::1]:" + std::to_string(port), listener.get(), "::1");
  expect_round_trip("tcp6:[::1]:" + std::to_string(port), listener.get(), "::1");
}

TEST_F(TcpTransportTest, ConnectsToANumericAddressAtOnce) {
  auto [listener, port] = listen("tcp:127.0.0.1:0");
  ConnectProbe probe;
  transport->connect("tcp:127.0.0.1:" + std::to_string(port), probe.callback());
  ASSERT_EQ(probe.calls, 1) << "a numeric address needs no loop turn";
  EXPECT_GE(probe.result->fd, 0);
  Fd client(probe.result->fd);
}

TEST_F(TcpTransportTest, IPv4AndIPv6WildcardListenersShareAPort) {
  if (!has_ipv6_loopback()) GTEST_SKIP() << "no IPv6 here";
  auto [v6, port] = listen("tcp6:[::]:0");
  Fd v4;
  ASSERT_NO_THROW(v4 = Fd(transport->listen("tcp4::" + std::to_string(port))));
  expect_round_trip("tcp:127.0.0.1:" + std::to_string(port), v4.get(), "127.0.0.1");
  expect_round_trip("tcp:[::1]:" + std::to_string(port), v6.get(), "::1");
}

TEST_F(TcpTransportTest, ListensOnLocalhostAsLoopback) {
  auto [listener, port] = listen("tcp:localhost:0");
  sockaddr_in local{};
  socklen_t length = sizeof local;
  ::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&local), &length);
  EXPECT_EQ(local.sin_family, AF_INET);
  EXPECT_EQ(ntohl(local.sin_addr.s_addr), INADDR_LOOPBACK);
}

TEST_F(TcpTransportTest, AcceptAnswersNothingWhenNoConnectionWaits) {
  auto [listener, port] = listen("tcp:127.0.0.1:0");
  EXPECT_EQ(transport->accept(listener.get()), std::nullopt);
}

TEST_F(TcpTransportTest, ABusyPortIsReportedWithTheAddress) {
  auto [listener, port] = listen("tcp:127.0.0.1:0");
  std::string address = "tcp:127.0.0.1:" + std::to_string(port);
  EXPECT_EQ(error_of([&] { Fd again(transport->listen(address)); }),
            address + ": cannot listen: Address already in use");
}

TEST_F(TcpTransportTest, ResolvesNamesFromEtcHosts) {
  auto [listener, port] = listen("tcp:127.0.0.1:0");
  expect_round_trip("tcp:localhost:" + std::to_string(port), listener.get(), "127.0.0.1");
  expect_round_trip("tcp4:localhost:" + std::to_string(port), listener.get(), "127.0.0.1");
}

TEST_F(TcpTransportTest, ResolvesHostNamesAsynchronouslyThroughItsNameservers) {
  TestNameserver dns(host.loop(), "backend.quictun.test", 300ms);
  transport.reset();
  transport = plugin.transport("tcp").create(nameservers_config({dns.address()}), host);
  auto [listener, port] = listen("tcp:127.0.0.1:0");

  ConnectProbe probe;
  auto record = probe.callback();
  std::optional<Clock::time_point> called;
  transport->connect("tcp:backend.quictun.test:" + std::to_string(port), [&](sdk::ConnectResult result) {
    called = Clock::now();
    record(std::move(result));
  });
  Clock::time_point returned = Clock::now();
  EXPECT_EQ(probe.calls, 0) << "connect() must not wait for the nameserver";
  EXPECT_EQ(dns.answers, 0);

  ASSERT_TRUE(host.run_until([&] { return probe.calls > 0; }));
  ASSERT_EQ(probe.calls, 1);
  EXPECT_GE(dns.queries, 1);
  ASSERT_TRUE(dns.first_answer) << "the connection was made without the nameserver's answer";
  EXPECT_LT(returned, *dns.first_answer);
  EXPECT_LE(*dns.first_answer, *called);
  ASSERT_GE(probe.result->fd, 0) << probe.result->error;
  Fd client(probe.result->fd);
  auto accepted = accept_one(*transport, listener.get());
  ASSERT_TRUE(accepted);
  Fd server(accepted->fd);
  EXPECT_EQ(accepted->peer_ip, "127.0.0.1");
  ASSERT_TRUE(wait_for(client.get(), POLLOUT));
  send_all(client.get(), "resolved");
  EXPECT_EQ(receive(server.get(), 8), "resolved");
}

TEST_F(TcpTransportTest, NameserversMustBeIPAddressesWithAnOptionalPort) {
  EXPECT_NO_THROW(plugin.transport("tcp").create(
      nameservers_config({"192.0.2.53", "192.0.2.53:5353", "2001:db8::53", "[2001:db8::53]:5353"}), host));
  const std::pair<const char*, const char*> cases[] = {
      {"dns.example", "nameserver \"dns.example\" is not an IP address (a nameserver cannot be found by name)"},
      {"192.0.2.53:0", "nameserver \"192.0.2.53:0\" has port \"0\", not a number from 1 to 65535"},
      {"192.0.2.53:dns", "nameserver \"192.0.2.53:dns\" has port \"dns\", not a number from 1 to 65535"},
      {"[2001:db8::53", "nameserver \"[2001:db8::53\" lacks the ']' after its IPv6 address"},
      {"[2001:db8::53]x", "nameserver \"[2001:db8::53]x\" has something other than :PORT after ']'"},
  };
  for (const auto& [server, why] : cases)
    EXPECT_EQ(error_of([&] { plugin.transport("tcp").create(nameservers_config({server}), host); }),
              std::string("quictun.toml:8: 'nameservers' ") + why +
                  " (write 192.0.2.53, 192.0.2.53:5353, 2001:db8::53 or [2001:db8::53]:5353)");
  EXPECT_EQ(error_of([&] { plugin.transport("tcp").create(nameservers_config({}), host); }),
            "quictun.toml:8: 'nameservers' is empty; leave it out to use /etc/resolv.conf");
  sdk::PluginConfig not_a_list;
  not_a_list.table["nameservers"] = sdk::ConfigValue(std::string("127.0.0.1"), "quictun.toml:8");
  EXPECT_EQ(error_of([&] { plugin.transport("tcp").create(not_a_list, host); }),
            "quictun.toml:8: 'nameservers' must be an array of strings");
}

TEST_F(TcpTransportTest, ARefusedConnectionIsAnError) {
  std::string address = "tcp:127.0.0.1:" + std::to_string(closed_port());
  ConnectProbe probe;
  transport->connect(address, probe.callback());
  ASSERT_EQ(probe.calls, 1);
  if (probe.result->fd >= 0) {
    // The kernel may report the refusal later, through the socket, as it does for remote hosts.
    Fd client(probe.result->fd);
    ASSERT_TRUE(wait_for(client.get(), POLLOUT));
    EXPECT_EQ(socket_error(client.get()), ECONNREFUSED);
  } else {
    EXPECT_EQ(probe.result->error, address + ": cannot connect: Connection refused");
  }
}

TEST_F(TcpTransportTest, ExplainsMalformedAddresses) {
  const std::pair<const char*, const char*> cases[] = {
      {"tcp:127.0.0.1", "bad address \"tcp:127.0.0.1\": missing port"},
      {"tcp:127.0.0.1:", "bad address \"tcp:127.0.0.1:\": missing port"},
      {"tcp:[::1]", "bad address \"tcp:[::1]\": missing port"},
      {"tcp:[::1:80", "bad address \"tcp:[::1:80\": missing ']' after the IPv6 address"},
      {"tcp:[]:80", "bad address \"tcp:[]:80\": empty IPv6 address in brackets"},
      {"tcp:127.0.0.1:ssh", "bad address \"tcp:127.0.0.1:ssh\": port \"ssh\" is not a number from 1 to 65535"},
      {"tcp:127.0.0.1:65536", "bad address \"tcp:127.0.0.1:65536\": port \"65536\" is not a number from 1 to 65535"},
      {"tcp:::1:80", "bad address \"tcp:::1:80\": an IPv6 address must be written in brackets, as in tcp:[::1]:PORT"},
      {"tcp4:[::1]:80", "bad address \"tcp4:[::1]:80\": tcp4 takes an IPv4 address, not \"[::1]\""},
      {"tcp6:127.0.0.1:80", "bad address \"tcp6:127.0.0.1:80\": tcp6 takes an IPv6 address in brackets, not 127.0.0.1"},
      {"tcp:[example.com]:80", "bad address \"tcp:[example.com]:80\": \"example.com\" is not an IPv6 address"},
      {"tcp:bad host:80", "bad address \"tcp:bad host:80\": \"bad host\" is neither an IP address nor a host name"},
      {"udp:127.0.0.1:80", "bad address \"udp:127.0.0.1:80\": scheme \"udp\" is not tcp, tcp4 or tcp6"},
  };
  for (const auto& [address, message] : cases) {
    EXPECT_EQ(error_of([&] { Fd fd(transport->listen(address)); }), message) << "listen " << address;
    ConnectProbe probe;
    transport->connect(address, probe.callback());
    ASSERT_EQ(probe.calls, 1) << "connect " << address;
    EXPECT_EQ(probe.result->fd, -1);
    EXPECT_EQ(probe.result->error, message) << "connect " << address;
  }
}

TEST_F(TcpTransportTest, ExplainsAddressesThatOnlyOneSideCanUse) {
  EXPECT_EQ(error_of([&] { Fd fd(transport->listen("tcp:example.com:80")); }),
            "tcp:example.com:80: cannot listen: \"example.com\" is a host name; listen on an IP address (or localhost)");
  ConnectProbe no_host, port_zero;
  transport->connect("tcp::80", no_host.callback());
  EXPECT_EQ(no_host.result->error, "bad address \"tcp::80\": missing host");
  transport->connect("tcp:127.0.0.1:0", port_zero.callback());
  EXPECT_EQ(port_zero.result->error, "bad address \"tcp:127.0.0.1:0\": cannot connect to port 0");
}

TEST_F(TcpTransportTest, DestroyingTheTransportCancelsPendingLookups) {
  // Not in /etc/hosts, so it goes to a nameserver, which cannot answer before the loop runs.
  ConnectProbe probe;
  transport->connect("tcp:quictun-pending-lookup.invalid:80", probe.callback());
  ASSERT_EQ(probe.calls, 0);
  transport.reset();
  host.drain();
  host.run_until([] { return false; }, std::chrono::milliseconds(100));
  EXPECT_EQ(probe.calls, 0) << "a cancelled lookup reports nothing";
}

TEST_F(TcpTransportTest, DestroyingTheTransportDuringALookupReleasesTheResolverAtOnce) {
  TestNameserver dns(host.loop(), "backend.quictun.test", 300ms);
  transport.reset();
  transport = plugin.transport("tcp").create(nameservers_config({dns.address()}), host);
  const int descriptors = open_descriptors();
  const int events = event_base_get_num_events(host.loop(), EVENT_BASE_COUNT_ADDED);

  ConnectProbe probe;
  transport->connect("tcp:backend.quictun.test:80", probe.callback());
  ASSERT_TRUE(host.run_until([&] { return dns.queries > 0; })) << "the lookup never reached the nameserver";
  ASSERT_EQ(probe.calls, 0);
  ASSERT_GT(open_descriptors(), descriptors) << "a lookup in flight has a socket to its nameserver";
  int queries = dns.queries;

  transport.reset();  // the answer is still 300 ms away
  // At once, without a loop turn: the nameserver socket is closed (and so off the loop). What
  // libevent still queues is its own report of the cancellations, which a loop turn delivers.
  EXPECT_EQ(open_descriptors(), descriptors);
  // The answer comes, and finds nobody.
  host.run_until([&] { return dns.answers >= queries; });
  host.run_until([] { return false; }, 100ms);
  EXPECT_EQ(event_base_get_num_events(host.loop(), EVENT_BASE_COUNT_ADDED), events) << "something was left behind";
  EXPECT_EQ(probe.calls, 0) << "a cancelled lookup reports nothing";
  EXPECT_EQ(dns.queries, queries) << "nothing is asked after the transport is gone";
}

TEST_F(TcpTransportTest, DestroyingTheTransportAfterItsLookupsFreesTheResolverAtOnce) {
  TestNameserver dns(host.loop(), "backend.quictun.test", 10ms);
  transport.reset();
  transport = plugin.transport("tcp").create(nameservers_config({dns.address()}), host);
  auto [listener, port] = listen("tcp:127.0.0.1:0");
  const int descriptors = open_descriptors();
  const int events = event_base_get_num_events(host.loop(), EVENT_BASE_COUNT_ADDED);
  ConnectProbe probe;
  transport->connect("tcp:backend.quictun.test:" + std::to_string(port), probe.callback());
  ASSERT_TRUE(host.run_until([&] { return probe.calls > 0; }));
  ASSERT_GE(probe.result->fd, 0) << probe.result->error;
  Fd client(probe.result->fd);
  host.drain();
  int with_resolver = open_descriptors();

  transport.reset();
  // Nothing is pending, so nothing needs the loop: the resolver and its socket are gone now.
  EXPECT_EQ(open_descriptors(), with_resolver - 1);
  EXPECT_EQ(open_descriptors(), descriptors + 1) << "only the connected socket is left";
  EXPECT_EQ(event_base_get_num_events(host.loop(), EVENT_BASE_COUNT_ADDED), events);
}

TEST_F(TcpTransportTest, AnUnknownHostNameIsAnErrorAndTheCallbackMayDestroyTheTransport) {
  ConnectProbe probe;
  auto record = probe.callback();
  // The host may well drop the transport from inside the callback (shutting down, say).
  transport->connect("tcp:quictun-no-such-host.invalid:80", [&](sdk::ConnectResult result) {
    record(std::move(result));
    transport.reset();
  });
  if (!host.run_until([&] { return probe.calls > 0; }, std::chrono::seconds(10)))
    GTEST_SKIP() << "no nameserver answered here";
  host.drain();
  EXPECT_EQ(probe.calls, 1);
  EXPECT_EQ(probe.result->fd, -1);
  EXPECT_EQ(probe.result->error.rfind("tcp:quictun-no-such-host.invalid:80: cannot resolve \"quictun-no-such-host.invalid\": ", 0), 0u)
      << probe.result->error;
}

TEST_F(TcpTransportTest, TheCallbackMayDestroyTheTransportWhenTheAnswerComesAtOnce) {
  auto [listener, port] = listen("tcp:127.0.0.1:0");
  ConnectProbe probe;
  auto record = probe.callback();
  transport->connect("tcp:localhost:" + std::to_string(port), [&](sdk::ConnectResult result) {
    record(std::move(result));
    transport.reset();
  });
  host.drain();
  ASSERT_EQ(probe.calls, 1);
  ASSERT_GE(probe.result->fd, 0) << probe.result->error;
  Fd client(probe.result->fd);
}

TEST_F(TcpTransportTest, TheResolverDoesNotKeepTheLoopRunning) {
  auto [listener, port] = listen("tcp:127.0.0.1:0");
  expect_round_trip("tcp:localhost:" + std::to_string(port), listener.get(), "127.0.0.1");
  // A resolver that kept its nameserver socket registered would keep the host's loop from
  // ever running out of work, so it could not exit its loop on shutdown.
  EXPECT_EQ(event_base_get_num_events(host.loop(), EVENT_BASE_COUNT_ADDED), 0);
}

}  // namespace
}  // namespace quictun::testing

// The server's backend allow list: what each kind of entry admits, and how bad entries are named.
#include <gtest/gtest.h>

#include "tunnel/backend_allowlist.hpp"
#include "util/error.hpp"

using namespace quictun;
using quictun::tunnel::BackendAllowlist;

namespace {

BackendAllowlist list(std::vector<std::string> entries) {
  std::vector<std::string> origins(entries.size(), "test");
  return BackendAllowlist(entries, origins);
}

bool allows(const BackendAllowlist& l, const std::string& backend) { return !l.refusal(backend).has_value(); }

}  // namespace

TEST(IpNetwork, ContainsAddressesUnderItsPrefix) {
  std::string problem;
  auto net = parse_network("10.0.0.0/8", &problem);
  ASSERT_TRUE(net) << problem;
  EXPECT_TRUE(net->contains(*parse_ip("10.255.1.2")));
  EXPECT_FALSE(net->contains(*parse_ip("11.0.0.1")));
  EXPECT_FALSE(net->contains(*parse_ip("::1")));
  auto odd = parse_network("192.168.4.0/22", &problem);
  ASSERT_TRUE(odd) << problem;
  EXPECT_TRUE(odd->contains(*parse_ip("192.168.7.255")));
  EXPECT_FALSE(odd->contains(*parse_ip("192.168.8.0")));
  auto v6 = parse_network("fd00::/8", &problem);
  ASSERT_TRUE(v6) << problem;
  EXPECT_TRUE(v6->contains(*parse_ip("fd12:3456::1")));
  EXPECT_FALSE(v6->contains(*parse_ip("fe80::1")));
  EXPECT_TRUE(parse_network("0.0.0.0/0", &problem)->contains(*parse_ip("8.8.8.8")));
}

TEST(IpNetwork, AnIpv4MappedAddressIsTheIpv4Address) {
  auto mapped = parse_ip("::ffff:10.1.2.3");
  ASSERT_TRUE(mapped);
  EXPECT_EQ(mapped->family, AF_INET);
  std::string problem;
  EXPECT_TRUE(parse_network("10.0.0.0/8", &problem)->contains(*mapped));
  auto mapped_net = parse_network("::ffff:10.0.0.0/104", &problem);
  ASSERT_TRUE(mapped_net) << problem;
  EXPECT_TRUE(mapped_net->contains(*parse_ip("10.9.9.9")));
}

TEST(IpNetwork, OnlyStrictNumericFormsAreAddresses) {
  for (const char* not_ip : {"127.1", "0x7f.0.0.1", "017.0.0.1", "localhost", "", "1.2.3.4.5", "fe80::1%eth0"})
    EXPECT_FALSE(parse_ip(not_ip)) << not_ip;
}

TEST(IpNetwork, BadNetworksSayWhy) {
  std::string problem;
  EXPECT_FALSE(parse_network("10.1.0.0/8", &problem));
  EXPECT_NE(problem.find("bits set after its prefix"), std::string::npos) << problem;
  EXPECT_FALSE(parse_network("10.0.0.0/33", &problem));
  EXPECT_NE(problem.find("from 0 to 32"), std::string::npos) << problem;
  EXPECT_FALSE(parse_network("10.0.0.0/", &problem));
  EXPECT_FALSE(parse_network("10.0.0/8", &problem));
  EXPECT_NE(problem.find("not an IPv4 or IPv6 address"), std::string::npos) << problem;
}

TEST(PortRange, ParsesOnePortARangeOrAny) {
  std::string problem;
  EXPECT_TRUE(parse_port_range("22", &problem)->contains(22));
  EXPECT_FALSE(parse_port_range("22", &problem)->contains(23));
  auto r = parse_port_range("8000-8100", &problem);
  EXPECT_TRUE(r->contains(8000) && r->contains(8100) && !r->contains(8101));
  EXPECT_TRUE(parse_port_range("*", &problem)->contains(65535));
  for (const char* bad : {"", "x", "65536", "9-1", "-5", "+5", "1-", "22 "}) EXPECT_FALSE(parse_port_range(bad, &problem)) << bad;
}

TEST(BackendAllowlist, InactiveAdmitsEverything) {
  BackendAllowlist none;
  EXPECT_FALSE(none.active());
  EXPECT_TRUE(allows(none, "tcp:1.2.3.4:5"));
  EXPECT_TRUE(allows(none, "unix:/etc/shadow"));
}

TEST(BackendAllowlist, AnEmptyListRefusesEverything) {
  auto l = list({});
  EXPECT_TRUE(l.active());
  EXPECT_FALSE(allows(l, "tcp:127.0.0.1:22"));
}

TEST(BackendAllowlist, TcpNetworksMatchAddressAndPortForEveryTcpScheme) {
  auto l = list({"tcp:10.0.0.0/8:22", "tcp:[fd00::]/8:8000-8100", "tcp:[::1]:443", "tcp:192.168.1.5:*"});
  EXPECT_TRUE(allows(l, "tcp:10.0.0.5:22"));
  EXPECT_TRUE(allows(l, "tcp4:10.200.0.5:22"));
  EXPECT_TRUE(allows(l, "TCP:10.0.0.5:22"));
  EXPECT_TRUE(allows(l, "tcp:[::ffff:10.0.0.5]:22"));
  EXPECT_FALSE(allows(l, "tcp:10.0.0.5:23"));
  EXPECT_FALSE(allows(l, "tcp:11.0.0.5:22"));
  EXPECT_TRUE(allows(l, "tcp6:[fd00::7]:8050"));
  EXPECT_FALSE(allows(l, "tcp6:[fd00::7]:8101"));
  EXPECT_TRUE(allows(l, "tcp:[::1]:443"));
  EXPECT_FALSE(allows(l, "tcp:[::2]:443"));
  EXPECT_TRUE(allows(l, "tcp:192.168.1.5:1"));
  EXPECT_FALSE(allows(l, "tcp:192.168.1.6:1"));
  // Forms the tcp transport might read as an address are refused, not guessed at.
  EXPECT_FALSE(allows(l, "tcp:10.1:22"));
  EXPECT_FALSE(allows(l, "tcp:0x0a.0.0.5:22"));
  EXPECT_FALSE(allows(l, "tcp:10.0.0.5:022x"));
  EXPECT_FALSE(allows(l, "tcp:10.0.0.5"));
  EXPECT_FALSE(allows(l, "tcp:10.0.0.5:20-30"));
}

TEST(BackendAllowlist, HostNamesMatchByNameNeverByANetworkEntry) {
  auto l = list({"tcp:127.0.0.0/8:*", "tcp:db.internal:5432", "tcp:*.svc.example:80"});
  EXPECT_FALSE(allows(l, "tcp:localhost:22")) << "a name must not pass a network entry, whatever it resolves to";
  EXPECT_TRUE(allows(l, "tcp:db.internal:5432"));
  EXPECT_TRUE(allows(l, "tcp:DB.Internal:5432"));
  EXPECT_FALSE(allows(l, "tcp:db.internal:5433"));
  EXPECT_FALSE(allows(l, "tcp:db.internal.evil.com:5432"));
  EXPECT_TRUE(allows(l, "tcp:web.svc.example:80"));
  EXPECT_FALSE(allows(l, "tcp:svc.example:80"));
  EXPECT_FALSE(allows(l, "tcp:web.svc.example.evil:80"));
}

TEST(BackendAllowlist, AStarHostAdmitsAnyAddressAndName) {
  auto l = list({"tcp:*:22"});
  EXPECT_TRUE(allows(l, "tcp:8.8.8.8:22"));
  EXPECT_TRUE(allows(l, "tcp:example.com:22"));
  EXPECT_FALSE(allows(l, "tcp:8.8.8.8:23"));
  EXPECT_FALSE(allows(l, "unix:/x:22"));
}

TEST(BackendAllowlist, UnixGlobsStayInTheirFolder) {
  auto l = list({"unix:/run/app/*.sock"});
  EXPECT_TRUE(allows(l, "unix:/run/app/web.sock"));
  EXPECT_FALSE(allows(l, "unix:/run/app/sub/web.sock"));
  EXPECT_FALSE(allows(l, "unix:/run/app/.hidden.sock"));
  EXPECT_FALSE(allows(l, "unix:/run/app/../../etc/x.sock"));
  EXPECT_FALSE(allows(l, "unix:/run/app//web.sock"));
  EXPECT_FALSE(allows(l, "unix:run/app/web.sock"));
  EXPECT_FALSE(allows(l, "tcp:10.0.0.1:22"));
  auto up = list({"unix:/run/*/*.sock"});
  EXPECT_FALSE(allows(up, "unix:/run/../x.sock"));
  EXPECT_FALSE(allows(up, "unix:/run/./x.sock"));
  auto why = l.refusal("unix:/run/app/../x.sock");
  ASSERT_TRUE(why);
  EXPECT_NE(why->find("not in the server's allow list"), std::string::npos) << *why;
}

TEST(BackendAllowlist, OtherSchemesMatchByGlob) {
  auto l = list({"vsock:3:*"});
  EXPECT_TRUE(allows(l, "vsock:3:1024"));
  EXPECT_FALSE(allows(l, "vsock:4:1024"));
  EXPECT_FALSE(allows(l, "tcp:3:1024"));
}

TEST(BackendAllowlist, ABadEntryIsNamedWithWhereItWasGiven) {
  struct Case {
    const char* entry;
    const char* says;
  };
  for (const Case& c : {Case{"10.0.0.0/8:22", "missing scheme"}, Case{"tcp:10.0.0.0/8", "expected tcp:NETWORK:PORTS"},
                        Case{"tcp:10.0.0.0/40:22", "from 0 to 32"}, Case{"tcp:10.1.0.0/8:22", "bits set"},
                        Case{"tcp:10.0.0.0/8:99999", "is not a port"}, Case{"tcp4:10.0.0.1:22", "write tcp:"},
                        Case{"unix:run/*.sock", "must be absolute"}, Case{"tcp:bad host!:22", "neither an address"},
                        Case{"tcp:", "nothing after"}}) {
    try {
      BackendAllowlist({"tcp:127.0.0.1:1", c.entry}, {"quictun.toml:3", "quictun.toml:4"});
      ADD_FAILURE() << c.entry;
    } catch (const UsageError& e) {
      std::string msg = e.what();
      EXPECT_EQ(msg.rfind(std::string("quictun.toml:4: allow entry \"") + c.entry + "\": ", 0), 0u) << msg;
      EXPECT_NE(msg.find(c.says), std::string::npos) << msg;
    }
  }
}

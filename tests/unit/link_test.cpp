// The link layer between two real UDP sockets on loopback: what a connection writes to its link
// reaches the peer link's sink in order, a datagram lost on the way is asked for and resent by
// the links alone, and NACKs and resends follow the path the connection gives its link.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdint>
#include <string>
#include <vector>

#include "link/link.hpp"
#include "util/event.hpp"

using namespace quictun;

namespace {

using Bytes = std::vector<std::uint8_t>;

// Stands in for the connection above a link: keeps what comes up.
struct RecordingSink : link::PacketSink {
  std::vector<Bytes> packets;
  void on_packet(const quic::ReceivedDatagram& p) override { packets.emplace_back(p.data, p.data + p.size); }
  std::uint64_t min_rtt_ns() const override { return 1'000'000; }
};

quic::UdpSocket loopback_socket() { return quic::UdpSocket::bind(resolve_udp({"127.0.0.1", "0"}, "test")); }

// Hands what arrives on `socket` to `to` until `to` has taken `total` datagrams in all (or a
// second has passed); how many it has taken.
std::uint64_t pump(quic::UdpSocket& socket, link::Link& to, std::uint64_t total) {
  for (int i = 0; i < 200 && to.stats().datagrams_received < total; ++i) {
    if (!socket.receive([&](const quic::ReceivedDatagram& d) { to.on_datagram(d); })) usleep(5000);
  }
  return to.stats().datagrams_received;
}

// A QUIC-sized packet (large enough to be numbered and stored by ARQ).
Bytes packet(std::uint8_t fill) { return Bytes(1000, fill); }

// What a connection does: the packet behind the link's headroom, sealed in place.
Bytes seal(link::Link& l, const Bytes& p) {
  Bytes d(l.headroom() + p.size());
  std::copy(p.begin(), p.end(), d.begin() + static_cast<std::ptrdiff_t>(l.headroom()));
  d.resize(l.seal(d.data(), p.size(), 0));
  return d;
}

struct Pair {
  EventBasePtr loop{event_base_new()};
  quic::UdpSocket a = loopback_socket(), b = loopback_socket();
  link::Link la{loop.get(), a, true, "a"}, lb{loop.get(), b, true, "b"};
  RecordingSink sa, sb;
  Pair() {
    la.attach(sa, b.local_address(), a.local_address());
    lb.attach(sb, a.local_address(), b.local_address());
  }
  ~Pair() {
    la.detach();
    lb.detach();
  }
  void send_a(const Bytes& d) { la.send(b.local_address(), &a.local_address(), d.data(), d.size(), d.size()); }
};

}  // namespace

TEST(Link, PlainPacketsPassBothWaysUnchanged) {
  Pair p;
  EXPECT_EQ(p.la.headroom(), 0u);
  EXPECT_STREQ(p.la.kind(), "plain");
  const Bytes one = packet(0x41);
  p.send_a(seal(p.la, one));
  ASSERT_EQ(pump(p.b, p.lb, 1), 1u);
  ASSERT_EQ(p.sb.packets.size(), 1u);
  EXPECT_EQ(p.sb.packets[0], one);
  EXPECT_EQ(p.lb.stats().datagrams_received, 1u);
}

TEST(Link, ALostDatagramIsAskedForAndResentBelowTheConnection) {
  Pair p;
  p.la.start_arq();
  p.lb.start_arq();
  EXPECT_EQ(p.la.headroom(), link::kArqHeader);
  EXPECT_STREQ(p.la.kind(), "arq");
  const Bytes one = packet(1), two = packet(2), three = packet(3);
  const Bytes d1 = seal(p.la, one);
  seal(p.la, two);  // lost on the way
  const Bytes d3 = seal(p.la, three);
  p.send_a(d1);
  p.send_a(d3);
  ASSERT_EQ(pump(p.b, p.lb, 2), 2u);
  ASSERT_EQ(p.sb.packets.size(), 1u) << "the packet behind the gap waits for it";
  // b's link asked a's for the missing one; a's link answers on its own.
  ASSERT_GE(pump(p.a, p.la, 1), 1u);
  EXPECT_TRUE(p.sa.packets.empty()) << "NACKs stay inside the link";
  EXPECT_GE(p.la.stats().arq_resent, 1u);
  pump(p.b, p.lb, 3);
  EXPECT_EQ(p.sb.packets, (std::vector<Bytes>{one, two, three})) << "in order, the repaired one in its place";
  EXPECT_EQ(p.lb.stats().arq_repaired, 1u);
}

TEST(Link, NacksGoToThePathTheConnectionGaveItsLinkNotToWhereDataCameFrom) {
  Pair p;
  p.la.start_arq();
  p.lb.start_arq();
  // The peer moved: b's connection validated a new path to `moved`; a's datagrams still come
  // from the old address, but b's requests must go to the new one.
  quic::UdpSocket moved = loopback_socket();
  p.lb.set_path(moved.local_address(), p.b.local_address());
  link::Link lm{p.loop.get(), moved, true, "moved"};
  RecordingSink sm;
  lm.attach(sm, p.b.local_address(), moved.local_address());
  lm.start_arq();
  const Bytes d1 = seal(p.la, packet(1));
  seal(p.la, packet(2));  // lost
  const Bytes d3 = seal(p.la, packet(3));
  p.send_a(d1);
  p.send_a(d3);
  ASSERT_EQ(pump(p.b, p.lb, 2), 2u);
  EXPECT_GE(pump(moved, lm, 1), 1u) << "the NACK went to the connection's current path";
  EXPECT_EQ(p.a.receive([](const quic::ReceivedDatagram&) {}), false) << "and none to the old one";
  lm.detach();
}

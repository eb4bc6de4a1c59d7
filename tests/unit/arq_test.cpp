// The ARQ shim below QUIC: numbered datagrams, NACKs, resends, and in-order delivery that holds
// packets behind a gap until it is repaired or given up.
#include <gtest/gtest.h>

#include <deque>
#include <random>
#include <set>
#include <vector>

#include "link/arq.hpp"
#include "util/error.hpp"

using namespace quictun::link;

namespace {

using Bytes = std::vector<std::uint8_t>;
constexpr std::uint64_t kMs = 1'000'000;

// A packet of `size` bytes whose first bytes say which one it is.
Bytes packet(std::uint32_t id, std::size_t size) {
  Bytes p(size, static_cast<std::uint8_t>(id * 7));
  p[0] = 0x40;
  for (std::size_t i = 0; i < 4; ++i) p[1 + i] = static_cast<std::uint8_t>(id >> (8 * i));
  return p;
}

std::uint32_t id_of(const Bytes& p) {
  return p[1] | (std::uint32_t{p[2]} << 8) | (std::uint32_t{p[3]} << 16) | (std::uint32_t{p[4]} << 24);
}

// One direction of a path: a sender, a receiver, a lossy channel each way with a fixed delay,
// and a virtual clock. Every delivered packet is recorded.
struct Path {
  ArqSender sender;
  ArqReceiver receiver;
  std::mt19937_64 rng{7};
  double loss = 0;          // each datagram (data, resend, NACK) is lost with this chance
  std::uint64_t delay = 20 * kMs;
  std::uint64_t now = 1000 * kMs;
  struct InFlight {
    std::uint64_t at;
    Bytes bytes;
    bool to_receiver;
  };
  std::deque<InFlight> wire;  // in arrival order (constant delay keeps it sorted)
  std::vector<Bytes> delivered;
  std::size_t nacks_seen = 0;
  std::set<std::uint32_t> drop_always;  // packet ids whose every copy is lost

  explicit Path(std::uint32_t first = 1000, std::size_t max_held = 32 << 20)
      : sender(first), receiver(16384, max_held) {}

  bool lose(const std::uint8_t* d, std::size_t n) {
    if (n > kArqHeader && d[0] != kArqMarkerNack && drop_always.count(id_of(Bytes(d + kArqHeader, d + n)))) return true;
    std::bernoulli_distribution b(loss);
    return b(rng);
  }
  void to_receiver(const std::uint8_t* d, std::size_t n) {
    if (!lose(d, n)) wire.push_back({now + delay, Bytes(d, d + n), true});
  }
  void to_sender(const std::uint8_t* d, std::size_t n) {
    ++nacks_seen;
    if (!lose(d, n)) wire.push_back({now + delay, Bytes(d, d + n), false});
  }
  void send(const Bytes& p) {
    DatagramBatch out;
    sender.wrap(p.data(), p.size(), now, out);
    for (std::size_t i = 0; i < out.size(); ++i) to_receiver(out[i].data(), out[i].size());
  }
  ArqReceiver::Deliver deliver() {
    return [this](const std::uint8_t* p, std::size_t n) { delivered.emplace_back(p, p + n); };
  }
  ArqReceiver::Send nack() {
    return [this](const std::uint8_t* p, std::size_t n) { to_sender(p, n); };
  }
  // Advances the clock to `until`, handing over what arrives and firing the receiver's timer.
  void run(std::uint64_t until) {
    while (true) {
      std::uint64_t next = wire.empty() ? until : std::min(until, wire.front().at);
      next = std::min(next, std::max(now, receiver.deadline()));
      if (next > until) break;
      now = next;
      if (!wire.empty() && wire.front().at <= now) {
        InFlight f = std::move(wire.front());
        wire.pop_front();
        if (f.to_receiver)
          receiver.receive(f.bytes.data(), f.bytes.size(), now, deliver(), nack());
        else
          sender.on_nack(f.bytes.data(), f.bytes.size(), now, [this](const std::uint8_t* d, std::size_t n) {
            to_receiver(d, n);
          });
      } else if (receiver.deadline() <= now) {
        receiver.on_timer(now, deliver(), nack());
      } else if (now >= until) {
        break;
      }
    }
    now = until;
  }
};

TEST(Arq, LosslessPathDeliversEverythingInOrderWithoutRequests) {
  Path path;
  std::vector<Bytes> sent;
  for (std::uint32_t i = 0; i < 500; ++i) {
    sent.push_back(packet(i, i % 5 == 0 ? 60 : 1200));  // every fifth travels light
    path.send(sent.back());
    path.now += kMs / 10;
  }
  path.run(path.now + 200 * kMs);
  EXPECT_EQ(path.delivered, sent);
  EXPECT_EQ(path.nacks_seen, 0u);
  EXPECT_EQ(path.sender.stats().light, 100u);
  EXPECT_EQ(path.sender.stats().sequenced, 400u);
  EXPECT_EQ(path.receiver.stats().held, 0u);
  EXPECT_EQ(path.receiver.deadline(), ArqReceiver::kNever);
}

TEST(Arq, RandomLossIsRepairedAndDeliveredInOrder) {
  for (double loss : {0.01, 0.05, 0.10, 0.15}) {
    Path path;
    path.loss = loss;
    std::vector<Bytes> sent;
    for (std::uint32_t i = 0; i < 3000; ++i) {
      sent.push_back(packet(i, 1000 + i % 400));
      path.send(sent.back());
      path.now += kMs / 5;
      path.run(path.now);
    }
    path.run(path.now + 5000 * kMs);
    // Sequenced packets are never lost for good at these rates: every one arrives, once, in order.
    const auto& st = path.receiver.stats();
    ASSERT_EQ(path.delivered.size(), sent.size())
        << "loss " << loss << ": resent " << path.sender.stats().resent << " repaired " << st.repaired << " late "
        << st.late << " duplicates " << st.duplicates << " restarts " << st.restarts << " given up " << st.given_up;
    EXPECT_EQ(path.delivered, sent) << "loss " << loss;
    EXPECT_GT(path.receiver.stats().repaired, 0u);
    EXPECT_EQ(path.receiver.stats().given_up, 0u) << "loss " << loss;
    EXPECT_EQ(path.receiver.held_bytes(), 0u);
    EXPECT_EQ(path.receiver.deadline(), ArqReceiver::kNever);
  }
}

TEST(Arq, LightPacketsWaitBehindAGapAndRevealATailLoss) {
  Path path;
  path.drop_always = {};
  std::vector<Bytes> sent = {packet(0, 1200), packet(1, 1200), packet(2, 80)};
  // Packet 1 (sequenced) is lost once; the light packet behind it must not overtake it, and it
  // is the light packet that tells the receiver of the loss (nothing sequenced follows).
  path.send(sent[0]);
  DatagramBatch out;
  path.sender.wrap(sent[1].data(), sent[1].size(), path.now, out);  // not put on the wire
  path.send(sent[2]);
  path.run(path.now + path.delay + kMs);
  ASSERT_EQ(path.delivered.size(), 1u);
  EXPECT_EQ(path.receiver.held_bytes(), 80u);
  path.run(path.now + 100 * kMs);
  EXPECT_EQ(path.delivered, sent);
  EXPECT_EQ(path.receiver.stats().repaired, 1u);
  EXPECT_EQ(path.sender.stats().resent, 1u);
}

TEST(Arq, AGapThatCannotBeRepairedIsGivenUpAndTheRestMovesOn) {
  Path path;
  path.drop_always = {3};
  std::vector<Bytes> sent;
  for (std::uint32_t i = 0; i < 10; ++i) {
    sent.push_back(packet(i, 1200));
    path.send(sent.back());
  }
  path.run(path.now + 100 * kMs);
  EXPECT_EQ(path.delivered.size(), 3u);  // held behind packet 3
  path.run(path.now + 5000 * kMs);
  ASSERT_EQ(path.delivered.size(), 9u);
  sent.erase(sent.begin() + 3);
  EXPECT_EQ(path.delivered, sent);
  EXPECT_EQ(path.receiver.stats().given_up, 1u);
  EXPECT_EQ(path.sender.stats().resent, kArqMaxNacks);  // asked for at most kArqMaxNacks times
  EXPECT_EQ(path.receiver.deadline(), ArqReceiver::kNever);
}

TEST(Arq, HeldBytesAreBounded) {
  Path path(5, 8 * 1200);
  path.drop_always = {1};
  for (std::uint32_t i = 0; i < 20; ++i) path.send(packet(i, 1200));
  path.run(path.now + path.delay + 1);
  // Packet 1 never comes; at most 8 packets' worth may wait behind it, so the gap is skipped
  // long before any request could be answered.
  EXPECT_EQ(path.delivered.size(), 19u);
  for (const auto& p : path.delivered) EXPECT_NE(id_of(p), 1u);
  EXPECT_EQ(path.receiver.held_bytes(), 0u);
  EXPECT_EQ(path.receiver.stats().given_up, 1u);
}

TEST(Arq, ANewSenderNumberingIsTakenAsARestart) {
  Path path(100);
  for (std::uint32_t i = 0; i < 5; ++i) path.send(packet(i, 1200));
  path.run(path.now + 50 * kMs);
  // The peer's connection restarts with another random first number.
  ArqSender fresh(100 + (1u << 31));
  DatagramBatch out;
  Bytes p = packet(99, 1200);
  fresh.wrap(p.data(), p.size(), path.now, out);
  path.receiver.receive(out[0].data(), out[0].size(), path.now, path.deliver(), path.nack());
  ASSERT_EQ(path.delivered.size(), 6u);
  EXPECT_EQ(id_of(path.delivered.back()), 99u);
  EXPECT_EQ(path.receiver.stats().restarts, 1u);
  EXPECT_EQ(path.nacks_seen, 0u);
}

TEST(Arq, DuplicatesAreDroppedAndLateCopiesPassedOn) {
  Path path;
  DatagramBatch out;
  Bytes first = packet(0, 1200), a = packet(1, 1200), b = packet(2, 1200), c = packet(3, 1200);
  for (const Bytes* p : {&first, &a, &b, &c}) path.sender.wrap(p->data(), p->size(), path.now, out);
  auto feed = [&](std::size_t i) {
    path.receiver.receive(out[i].data(), out[i].size(), path.now, path.deliver(), path.nack());
  };
  feed(0);
  feed(2);  // a is missing: b waits
  feed(3);
  feed(3);  // a copy of c while it waits: dropped
  EXPECT_EQ(path.receiver.stats().duplicates, 1u);
  feed(1);  // a arrives: a, b, c go
  feed(2);  // a copy of b after it went: dropped
  EXPECT_EQ(path.delivered, (std::vector<Bytes>{first, a, b, c}));
  EXPECT_EQ(path.receiver.stats().duplicates, 2u);
  EXPECT_EQ(path.receiver.stats().repaired, 1u);
  EXPECT_EQ(path.receiver.stats().late, 0u);
}

TEST(Arq, ALateRepairOfAGapGivenUpStillReachesQuic) {
  Path path(5, 2 * 1200);
  DatagramBatch out;
  std::vector<Bytes> p;
  for (std::uint32_t i = 0; i < 5; ++i) {
    p.push_back(packet(i, 1200));
    path.sender.wrap(p.back().data(), p.back().size(), path.now, out);
  }
  auto feed = [&](std::size_t i) {
    path.receiver.receive(out[i].data(), out[i].size(), path.now, path.deliver(), path.nack());
  };
  feed(0);
  for (std::size_t i = 2; i < 5; ++i) feed(i);  // 1 missing; the held-bytes bound gives it up
  EXPECT_EQ(path.receiver.stats().given_up, 1u);
  feed(1);  // QUIC has declared it lost by now, but takes it: the loss turns out spurious
  EXPECT_EQ(path.delivered, (std::vector<Bytes>{p[0], p[2], p[3], p[4], p[1]}));
  EXPECT_EQ(path.receiver.stats().late, 1u);
}

TEST(Arq, MalformedAndRepeatedNacksDoNotAmplify) {
  ArqSender sender(10);
  DatagramBatch out;
  Bytes p = packet(1, 1200);
  sender.wrap(p.data(), p.size(), 0, out);
  std::size_t resends = 0;
  auto count = [&](const std::uint8_t*, std::size_t) { ++resends; };
  const std::uint8_t bad[][8] = {
      {kArqMarkerNack, 1, 0},                      // no ranges
      {kArqMarkerNack, 3, 1, 0, 0, 0, 10, 1},      // three copies
      {kArqMarkerNack, 1, 1, 0, 0, 0, 10, 0},      // empty range
  };
  for (const auto& d : bad) sender.on_nack(d, sizeof d, 10 * kMs, count);
  const std::uint8_t truncated[] = {kArqMarkerNack, 1, 2, 0, 0, 0, 10, 1};
  sender.on_nack(truncated, sizeof truncated, 10 * kMs, count);
  EXPECT_EQ(resends, 0u);
  EXPECT_EQ(sender.stats().malformed, 4u);

  const std::uint8_t ask[] = {kArqMarkerNack, 1, 1, 0, 0, 0, 10, 1};
  sender.on_nack(ask, sizeof ask, 10 * kMs, count);
  sender.on_nack(ask, sizeof ask, 10 * kMs + kArqResendGap / 2, count);  // a copy of the same request
  EXPECT_EQ(resends, 1u);
  sender.on_nack(ask, sizeof ask, 10 * kMs + 2 * kArqResendGap, count);
  EXPECT_EQ(resends, 2u);
  const std::uint8_t unknown[] = {kArqMarkerNack, 1, 1, 0, 0, 0, 11, 200};  // never sent
  sender.on_nack(unknown, sizeof unknown, 20 * kMs, count);
  EXPECT_EQ(resends, 2u);
  EXPECT_EQ(sender.stats().expired, 200u);
}

TEST(Arq, BadSizesAreRefused) {
  EXPECT_THROW(ArqSender(0, 1000), quictun::UsageError);
  EXPECT_THROW(ArqReceiver(1000), quictun::UsageError);
}

}  // namespace

// The FEC shim below QUIC: systematic Reed-Solomon blocks of k data + m parity datagrams, any k
// of which rebuild the block's packets.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <vector>

#include "quic/fec.hpp"
#include "util/error.hpp"

using namespace quictun::quic;

namespace {

using Bytes = std::vector<std::uint8_t>;

struct Datagram {
  Bytes bytes;
  std::uint32_t block;
  bool parity;
};

std::uint32_t block_of(const Bytes& d) {
  return (std::uint32_t{d[1]} << 24) | (std::uint32_t{d[2]} << 16) | (std::uint32_t{d[3]} << 8) | d[4];
}

// Packets with random sizes and bytes; the first bytes hold a sequence number so all differ.
std::vector<Bytes> make_packets(std::mt19937_64& rng, std::size_t count, std::size_t min_size = 20,
                                std::size_t max_size = 1452) {
  std::uniform_int_distribution<std::size_t> size(min_size, max_size);
  std::vector<Bytes> out;
  for (std::size_t n = 0; n < count; ++n) {
    Bytes p(size(rng));
    for (auto& b : p) b = static_cast<std::uint8_t>(rng());
    p[0] = 0x40 | (p[0] & 0x3f);  // looks like QUIC: fixed bit set
    for (std::size_t i = 0; i < 4 && i + 1 < p.size(); ++i) p[i + 1] = static_cast<std::uint8_t>(n >> (8 * i));
    out.push_back(std::move(p));
  }
  return out;
}

// Encodes `packets`, calling flush() after every `burst` packets and at the end.
std::vector<Datagram> encode(FecEncoder& enc, const std::vector<Bytes>& packets, std::size_t burst = 0) {
  std::vector<Datagram> out;
  DatagramBatch batch;
  auto collect = [&] {
    for (std::size_t i = 0; i < batch.size(); ++i) {
      Bytes d(batch[i].begin(), batch[i].end());
      const std::uint32_t block = block_of(d);
      const bool parity = d[0] == kFecMarkerParity;
      out.push_back({std::move(d), block, parity});
    }
    batch.clear();
  };
  for (std::size_t n = 0; n < packets.size(); ++n) {
    enc.add(packets[n].data(), packets[n].size(), batch);
    if (burst != 0 && (n + 1) % burst == 0) enc.flush(batch);
    collect();
  }
  enc.flush(batch);
  collect();
  return out;
}

// A decoder that records what it passes on.
struct Receiver {
  explicit Receiver(const FecDecoderLimits& limits = {}) : dec(limits) {}
  void feed(const Bytes& d) { dec.receive(d.data(), d.size(), sink); }
  std::map<Bytes, int> counts() const {
    std::map<Bytes, int> c;
    for (const auto& p : got) ++c[p];
    return c;
  }

  FecDecoder dec;
  std::vector<Bytes> got;
  FecDecoder::Deliver sink = [this](const std::uint8_t* p, std::size_t n) { got.emplace_back(p, p + n); };
};

// Every packet in `expected` passed on exactly once, and nothing else.
void expect_exactly_once(const Receiver& rx, const std::vector<Bytes>& expected) {
  auto counts = rx.counts();
  ASSERT_EQ(rx.got.size(), expected.size());
  for (const auto& p : expected) {
    auto it = counts.find(p);
    ASSERT_NE(it, counts.end()) << "packet of " << p.size() << " bytes never passed on";
    ASSERT_EQ(it->second, 1) << "packet of " << p.size() << " bytes passed on " << it->second << " times";
  }
}

// Groups datagrams by block, in send order.
std::vector<std::vector<Datagram>> by_block(const std::vector<Datagram>& dgrams) {
  std::vector<std::vector<Datagram>> blocks;
  for (const auto& d : dgrams) {
    if (blocks.empty() || blocks.back().front().block != d.block) blocks.emplace_back();
    blocks.back().push_back(d);
  }
  return blocks;
}

}  // namespace

TEST(Fec, WithoutLossEveryPacketIsPassedOnOnceAndAtOnce) {
  std::mt19937_64 rng(1);
  auto packets = make_packets(rng, 1000);
  FecEncoder enc({.k = 20, .m = 2, .max_packet = 1452});
  auto dgrams = encode(enc, packets);
  Receiver rx;
  std::size_t next = 0;
  for (const auto& d : dgrams) {
    const std::size_t before = rx.got.size();
    rx.feed(d.bytes);
    if (d.parity) {
      ASSERT_EQ(rx.got.size(), before) << "a parity datagram passed something on";
    } else {
      ASSERT_EQ(rx.got.size(), before + 1) << "data datagram " << next << " was held back";
      ASSERT_EQ(rx.got.back(), packets[next]);
      ++next;
    }
  }
  EXPECT_EQ(next, packets.size());
  EXPECT_EQ(rx.dec.stats().recovered, 0u);
  EXPECT_EQ(rx.dec.stats().malformed, 0u);
  EXPECT_EQ(rx.dec.stats().unrecoverable_blocks, 0u);
  EXPECT_EQ(rx.dec.stats().delivered, packets.size());
  EXPECT_EQ(rx.dec.stats().received, dgrams.size());
  // Finished blocks keep no packet bytes.
  EXPECT_EQ(rx.dec.buffered_bytes(), 0u);
}

TEST(Fec, DatagramsHaveTheDocumentedLayoutAndOverhead) {
  FecEncoder enc({.k = 3, .m = 2, .max_packet = 1452}, 0x01020304);
  DatagramBatch out;
  std::vector<Bytes> packets = {Bytes(100, 0x41), Bytes(1452, 0x42), Bytes(7, 0x43)};
  for (const auto& p : packets) enc.add(p.data(), p.size(), out);
  ASSERT_EQ(out.size(), 5u);
  for (std::size_t i = 0; i < 3; ++i) {
    auto d = out[i];
    ASSERT_EQ(d.size(), kFecDataHeader + packets[i].size());
    EXPECT_EQ(d[0], kFecMarkerData);
    EXPECT_LT(d[0], 0x40);
    EXPECT_EQ(block_of(Bytes(d.begin(), d.end())), 0x01020304u);
    EXPECT_EQ(d[5], i);
    EXPECT_TRUE(std::equal(packets[i].begin(), packets[i].end(), d.begin() + kFecDataHeader));
    EXPECT_TRUE(FecDecoder::is_fec(d.data(), d.size()));
  }
  for (std::size_t j = 0; j < 2; ++j) {
    auto d = out[3 + j];
    ASSERT_EQ(d.size(), kFecParityHeader + 2 + 1452);
    EXPECT_LE(d.size(), 1452 + kFecOverhead);
    EXPECT_EQ(d[0], kFecMarkerParity);
    EXPECT_EQ(d[5], j);
    EXPECT_EQ(d[6], 3);
    EXPECT_EQ(d[7], 2);
    EXPECT_TRUE(FecDecoder::is_fec(d.data(), d.size()));
  }
  // Parity row 0 is the XOR of the length-prefixed, zero-padded packets.
  Bytes x(2 + 1452, 0);
  for (const auto& p : packets) {
    x[0] ^= static_cast<std::uint8_t>(p.size() >> 8);
    x[1] ^= static_cast<std::uint8_t>(p.size());
    for (std::size_t i = 0; i < p.size(); ++i) x[2 + i] ^= p[i];
  }
  EXPECT_TRUE(std::equal(x.begin(), x.end(), out[3].begin() + kFecParityHeader));
  // Parity row 1 with the documented weights c(1, i) = y_i / (1 ^ y_i), y_i = 255 - i, computed
  // here with schoolbook GF(2^8) arithmetic: pins the wire format and the encoder's tables.
  auto slow_mul = [](unsigned a, unsigned b) {
    unsigned r = 0;
    for (; b; b >>= 1, a = (a << 1) ^ ((a & 0x80) ? 0x11d : 0)) r ^= (b & 1) ? a : 0;
    return static_cast<std::uint8_t>(r);
  };
  auto slow_div = [&](unsigned a, unsigned b) {
    for (unsigned q = 1; q < 256; ++q)
      if (slow_mul(q, b) == a) return static_cast<std::uint8_t>(q);
    return std::uint8_t{0};
  };
  Bytes row1(2 + 1452, 0);
  for (std::size_t i = 0; i < packets.size(); ++i) {
    const unsigned y = 255 - static_cast<unsigned>(i);
    const std::uint8_t c = slow_div(y, 1 ^ y);
    Bytes coded(2 + 1452, 0);
    coded[0] = static_cast<std::uint8_t>(packets[i].size() >> 8);
    coded[1] = static_cast<std::uint8_t>(packets[i].size());
    std::copy(packets[i].begin(), packets[i].end(), coded.begin() + 2);
    for (std::size_t b = 0; b < coded.size(); ++b) row1[b] ^= slow_mul(c, coded[b]);
  }
  EXPECT_TRUE(std::equal(row1.begin(), row1.end(), out[4].begin() + kFecParityHeader));
  EXPECT_EQ(enc.next_block_id(), 0x01020305u);
  // Anything starting like QUIC (fixed bit set) is not FEC.
  for (int first = 0x40; first < 0x100; ++first) {
    Bytes d = Bytes(out[0].begin(), out[0].end());
    d[0] = static_cast<std::uint8_t>(first);
    ASSERT_FALSE(FecDecoder::is_fec(d.data(), d.size())) << first;
  }
}

TEST(Fec, AnyErasureOfAtMostMDatagramsIsRepairedExactly) {
  // Exhaustive: every subset of up to m of the k + m datagrams of a block, data or parity.
  const std::size_t k = 6, m = 3;
  std::mt19937_64 rng(7);
  auto packets = make_packets(rng, k, 1, 300);
  FecEncoder enc({.k = k, .m = m, .max_packet = 1452});
  auto dgrams = encode(enc, packets);
  ASSERT_EQ(dgrams.size(), k + m);
  std::size_t patterns = 0;
  for (unsigned mask = 0; mask < (1u << (k + m)); ++mask) {
    if (static_cast<std::size_t>(__builtin_popcount(mask)) > m) continue;
    Receiver rx;
    for (std::size_t i = 0; i < k + m; ++i)
      if (!(mask & (1u << i))) rx.feed(dgrams[i].bytes);
    ASSERT_NO_FATAL_FAILURE(expect_exactly_once(rx, packets)) << "erasure mask " << mask;
    ++patterns;
  }
  EXPECT_EQ(patterns, 1u + 9 + 36 + 84);
}

TEST(Fec, RandomLossUpToMPerBlockIsRepairedAcrossManyBlocks) {
  struct Case {
    std::size_t k, m;
  };
  for (Case c : {Case{20, 2}, Case{10, 4}, Case{1, 1}, Case{50, 10}, Case{200, 55}}) {
    for (std::uint64_t seed = 1; seed <= 5; ++seed) {
      SCOPED_TRACE("k=" + std::to_string(c.k) + " m=" + std::to_string(c.m) + " seed=" + std::to_string(seed));
      std::mt19937_64 rng(seed);
      auto packets = make_packets(rng, c.k * (c.k > 100 ? 6 : 30) + 7);
      FecEncoder enc({.k = c.k, .m = c.m, .max_packet = 1452});
      auto blocks = by_block(encode(enc, packets));
      Receiver rx;
      std::size_t lost_data = 0;
      for (auto& block : blocks) {
        // Lose up to m' (this block's parity count) random datagrams; deliver the rest shuffled.
        const std::size_t parity = static_cast<std::size_t>(
            std::count_if(block.begin(), block.end(), [](const Datagram& d) { return d.parity; }));
        std::shuffle(block.begin(), block.end(), rng);
        const std::size_t lose = std::uniform_int_distribution<std::size_t>(0, parity)(rng);
        for (std::size_t i = 0; i < block.size(); ++i) {
          if (i < lose) {
            lost_data += block[i].parity ? 0 : 1;
            continue;
          }
          rx.feed(block[i].bytes);
        }
      }
      ASSERT_NO_FATAL_FAILURE(expect_exactly_once(rx, packets));
      // Shuffled, a block can be complete before all its surviving data arrived: the stragglers
      // are then rebuilt early, and dropped as duplicates when they come.
      EXPECT_GE(rx.dec.stats().recovered, lost_data);
      EXPECT_EQ(rx.dec.stats().delivered + rx.dec.stats().recovered, packets.size());
      EXPECT_GT(lost_data, 0u);
      EXPECT_EQ(rx.dec.stats().unrecoverable_blocks, 0u);
      EXPECT_EQ(rx.dec.stats().inconsistent_blocks, 0u);
    }
  }
}

TEST(Fec, MoreThanMLossesStillPassOnTheSurvivorsAndNothingElse) {
  std::mt19937_64 rng(3);
  auto packets = make_packets(rng, 20 * 100);
  FecEncoder enc({.k = 20, .m = 2, .max_packet = 1452});
  auto dgrams = encode(enc, packets);
  Receiver rx;
  std::set<Bytes> sent(packets.begin(), packets.end());
  std::set<Bytes> dropped;
  std::size_t data_seen_in_block = 0;
  std::uint32_t block = dgrams.front().block;
  for (const auto& d : dgrams) {
    if (d.block != block) {
      block = d.block;
      data_seen_in_block = 0;
    }
    // In the first 10 blocks drop the first three data packets: one more than parity can repair.
    if (!d.parity && d.block < 10 && data_seen_in_block++ < 3) {
      dropped.emplace(d.bytes.begin() + kFecDataHeader, d.bytes.end());
      continue;
    }
    rx.feed(d.bytes);
  }
  ASSERT_EQ(dropped.size(), 30u);
  auto counts = rx.counts();
  EXPECT_EQ(rx.got.size(), packets.size() - dropped.size());
  for (const auto& [p, n] : counts) {
    EXPECT_TRUE(sent.count(p)) << "passed on a packet never sent";
    EXPECT_FALSE(dropped.count(p)) << "passed on a packet that could not be rebuilt";
    EXPECT_EQ(n, 1);
  }
  EXPECT_EQ(rx.dec.stats().recovered, 0u);
  // The window (64 blocks) has moved past the first 10 blocks, so they were given up.
  EXPECT_EQ(rx.dec.stats().unrecoverable_blocks, 10u);
}

TEST(Fec, FlushClosesAPartialBlockWithParityScaledToIt) {
  FecEncoder enc({.k = 20, .m = 2, .max_packet = 1452});
  DatagramBatch out;
  enc.flush(out);
  EXPECT_TRUE(out.empty()) << "flushing an empty block sends parity";

  auto parity_of = [&](std::size_t n) {
    out.clear();
    Bytes p(100, 0x55);
    for (std::size_t i = 0; i < n; ++i) enc.add(p.data(), p.size(), out);
    enc.flush(out);
    std::size_t parity = 0;
    for (std::size_t i = 0; i < out.size(); ++i) {
      if (out[i][0] != kFecMarkerParity) continue;
      ++parity;
      EXPECT_EQ(out[i][6], n % 20 == 0 ? 20 : n % 20);
    }
    return parity;
  };
  EXPECT_EQ(parity_of(1), 1u);   // ceil(1 * 2 / 20) = 1
  EXPECT_EQ(parity_of(5), 1u);   // ceil(10 / 20)
  EXPECT_EQ(parity_of(10), 1u);  // ceil(20 / 20)
  EXPECT_EQ(parity_of(11), 2u);  // ceil(22 / 20)
  EXPECT_EQ(parity_of(20), 2u);  // a full block; flush then has nothing left
  EXPECT_EQ(enc.pending(), 0u);

  // A flushed short block repairs a loss like a full one.
  std::mt19937_64 rng(11);
  auto packets = make_packets(rng, 5);
  FecEncoder enc2({.k = 20, .m = 2, .max_packet = 1452});
  auto dgrams = encode(enc2, packets, 5);
  ASSERT_EQ(dgrams.size(), 6u);
  Receiver rx;
  for (std::size_t i = 0; i < dgrams.size(); ++i)
    if (i != 2) rx.feed(dgrams[i].bytes);
  ASSERT_NO_FATAL_FAILURE(expect_exactly_once(rx, packets));
  EXPECT_EQ(rx.dec.stats().recovered, 1u);
}

TEST(Fec, FlushAfterEveryBurstProtectsTheTailOfATransfer) {
  std::mt19937_64 rng(12);
  auto packets = make_packets(rng, 333);
  FecEncoder enc({.k = 20, .m = 2, .max_packet = 1452});
  auto blocks = by_block(encode(enc, packets, 7));  // bursts of 7: every block is short
  Receiver rx;
  for (auto& block : blocks) {
    ASSERT_EQ(block.back().bytes[6], block.size() - 1) << "a burst of 7 packets should get 1 parity";
    for (std::size_t i = 1; i < block.size(); ++i) rx.feed(block[i].bytes);  // first data packet lost
  }
  ASSERT_NO_FATAL_FAILURE(expect_exactly_once(rx, packets));
  EXPECT_EQ(rx.dec.stats().recovered, blocks.size());
}

TEST(Fec, DuplicatesAndReorderingAcrossBlocksPassEachPacketOnce) {
  for (std::uint64_t seed = 1; seed <= 10; ++seed) {
    SCOPED_TRACE("seed=" + std::to_string(seed));
    std::mt19937_64 rng(seed);
    auto packets = make_packets(rng, 20 * 40);
    FecEncoder enc({.k = 20, .m = 2, .max_packet = 1452});
    auto blocks = by_block(encode(enc, packets));
    // One loss per block, then every datagram sent twice, shuffled within windows of 8 blocks.
    std::vector<Bytes> wire;
    for (auto& block : blocks) {
      const std::size_t lose = std::uniform_int_distribution<std::size_t>(0, block.size() - 1)(rng);
      for (std::size_t i = 0; i < block.size(); ++i)
        if (i != lose) {
          wire.push_back(block[i].bytes);
          wire.push_back(block[i].bytes);
        }
    }
    const std::size_t span = wire.size() / blocks.size() * 8;
    for (std::size_t start = 0; start < wire.size(); start += span)
      std::shuffle(wire.begin() + start, wire.begin() + std::min(start + span, wire.size()), rng);
    Receiver rx;
    for (const auto& d : wire) rx.feed(d);
    ASSERT_NO_FATAL_FAILURE(expect_exactly_once(rx, packets));
    EXPECT_GT(rx.dec.stats().duplicates, 0u);
    EXPECT_EQ(rx.dec.stats().malformed, 0u);
  }
}

TEST(Fec, BlockIdsWrapAround) {
  std::mt19937_64 rng(5);
  auto packets = make_packets(rng, 20 * 40);
  FecEncoder enc({.k = 20, .m = 2, .max_packet = 1452}, 0xffffffe0u);
  auto blocks = by_block(encode(enc, packets));
  ASSERT_EQ(blocks.front().front().block, 0xffffffe0u);
  ASSERT_EQ(blocks.back().front().block, 0x7u);
  // Lose two datagrams per block and reverse the order of each pair of blocks, so blocks from
  // after the wrap arrive before blocks from before it.
  std::vector<Bytes> wire;
  for (std::size_t b = 0; b < blocks.size(); b += 2) {
    for (std::size_t n : {b + 1, b}) {
      if (n >= blocks.size()) continue;
      for (std::size_t i = 2; i < blocks[n].size(); ++i) wire.push_back(blocks[n][i].bytes);
    }
  }
  Receiver rx;
  for (const auto& d : wire) rx.feed(d);
  ASSERT_NO_FATAL_FAILURE(expect_exactly_once(rx, packets));
  EXPECT_EQ(rx.dec.stats().recovered, 2 * blocks.size());
  EXPECT_EQ(rx.dec.stats().late, 0u);
}

TEST(Fec, ADataPacketOlderThanTheWindowIsStillPassedOn) {
  std::mt19937_64 rng(6);
  auto packets = make_packets(rng, 20 * 100);
  FecEncoder enc({.k = 20, .m = 2, .max_packet = 1452});
  auto dgrams = encode(enc, packets);
  Receiver rx;
  // Block 0 loses three data packets (beyond repair); the first arrives 99 blocks late.
  for (std::size_t i = 3; i < dgrams.size(); ++i) rx.feed(dgrams[i].bytes);
  rx.feed(dgrams[0].bytes);
  EXPECT_EQ(rx.dec.stats().late, 1u);
  EXPECT_EQ(rx.dec.stats().unrecoverable_blocks, 1u);
  ASSERT_EQ(rx.got.size(), packets.size() - 2);
  EXPECT_EQ(rx.got.back(), packets[0]);

  // The price of that: a packet rebuilt in time and then arriving that late is passed on twice
  // (the block's record is gone); QUIC discards the duplicate packet number.
  Receiver twice;
  for (std::size_t i = 1; i < dgrams.size(); ++i) twice.feed(dgrams[i].bytes);
  twice.feed(dgrams[0].bytes);
  EXPECT_EQ(twice.counts()[packets[0]], 2);
}

TEST(Fec, ASenderThatStartsOverIsFollowed) {
  std::mt19937_64 rng(8);
  auto first = make_packets(rng, 20 * 5);
  auto second = make_packets(rng, 20 * 5);
  FecEncoder old_sender({.k = 20, .m = 2, .max_packet = 1452}, 1'000'000);
  FecEncoder new_sender({.k = 20, .m = 2, .max_packet = 1452}, 0);
  Receiver rx;
  for (const auto& d : encode(old_sender, first)) rx.feed(d.bytes);
  for (auto& block : by_block(encode(new_sender, second)))
    for (std::size_t i = 1; i < block.size(); ++i) rx.feed(block[i].bytes);  // lose one per block
  auto all = first;
  all.insert(all.end(), second.begin(), second.end());
  ASSERT_NO_FATAL_FAILURE(expect_exactly_once(rx, all));
  EXPECT_EQ(rx.dec.stats().recovered, 5u);
}

TEST(Fec, ARebuildThatFailsItsConsistencyCheckPassesNothingOn) {
  // Block of a 10-byte and a 100-byte packet; the short one is lost and rebuilt from parity
  // with one bit flipped at `corrupt_at` (nullopt: intact).
  struct Outcome {
    std::vector<Bytes> got;
    FecDecoderStats stats;
  };
  auto run = [](std::optional<std::size_t> corrupt_at, std::uint8_t bit = 0) {
    FecEncoder enc({.k = 2, .m = 1, .max_packet = 1452});
    auto dgrams = encode(enc, {Bytes(10, 0x41), Bytes(100, 0x42)});
    if (corrupt_at) dgrams[2].bytes[kFecParityHeader + *corrupt_at] ^= bit;
    Receiver rx;
    rx.feed(dgrams[1].bytes);
    rx.feed(dgrams[2].bytes);
    return Outcome{rx.got, rx.dec.stats()};
  };
  // A flipped bit in the short packet's zero padding, or one making its length exceed L, is
  // caught. (One that lengthens it into its zero padding is not: QUIC's AEAD catches that.)
  for (auto [at, bit] : {std::pair<std::size_t, std::uint8_t>{2 + 50, 0x01}, {0, 0x01}, {1, 0x80}}) {
    auto out = run(at, bit);
    EXPECT_EQ(out.got.size(), 1u) << "corrupt byte " << at;
    EXPECT_EQ(out.stats.recovered, 0u);
    EXPECT_EQ(out.stats.inconsistent_blocks, 1u);
  }
  // Control: with the parity intact the short packet is rebuilt.
  auto out = run(std::nullopt);
  ASSERT_EQ(out.got.size(), 2u);
  EXPECT_EQ(out.got[1], Bytes(10, 0x41));
  EXPECT_EQ(out.stats.inconsistent_blocks, 0u);
}

TEST(Fec, ParityContradictingItsBlockIsDropped) {
  FecEncoder enc({.k = 4, .m = 2, .max_packet = 1452});
  std::mt19937_64 rng(9);
  auto packets = make_packets(rng, 4);
  auto dgrams = encode(enc, packets);
  Receiver rx;
  rx.feed(dgrams[4].bytes);  // parity 0 fixes k = 4, m = 2 and L
  Bytes other_k = dgrams[5].bytes;
  other_k[6] = 3;
  rx.feed(other_k);
  Bytes other_len = dgrams[5].bytes;
  other_len.pop_back();
  rx.feed(other_len);
  Bytes index_beyond_k = dgrams[0].bytes;
  index_beyond_k[5] = 4;
  rx.feed(index_beyond_k);
  EXPECT_EQ(rx.dec.stats().malformed, 3u);
  EXPECT_TRUE(rx.got.empty());
  // The block still works with its genuine datagrams.
  rx.feed(dgrams[0].bytes);
  rx.feed(dgrams[1].bytes);
  rx.feed(dgrams[5].bytes);
  ASSERT_NO_FATAL_FAILURE(expect_exactly_once(rx, packets));

  // Parity claiming fewer data packets than already seen is refused too.
  Receiver rx2;
  rx2.feed(dgrams[3].bytes);  // index 3
  Bytes small_k = dgrams[4].bytes;
  small_k[6] = 3;
  rx2.feed(small_k);
  EXPECT_EQ(rx2.dec.stats().malformed, 1u);
}

TEST(Fec, GarbageNeverCrashesAndIllFormedInputIsNeverPassedOn) {
  std::mt19937_64 rng(2024);
  Receiver rx;
  // Random bytes that do not start with an FEC marker, and truncated headers.
  for (int n = 0; n < 50000; ++n) {
    Bytes d(std::uniform_int_distribution<std::size_t>(0, 64)(rng));
    for (auto& b : d) b = static_cast<std::uint8_t>(rng());
    if (!d.empty() && (d[0] == kFecMarkerData || d[0] == kFecMarkerParity)) d[0] = 0x40;
    rx.feed(d);
  }
  for (std::uint8_t marker : {kFecMarkerData, kFecMarkerParity}) {
    for (std::size_t size = 0; size <= kFecParityHeader + 2; ++size) {
      Bytes d(size, 0x01);
      if (size > 0) d[0] = marker;
      if (marker == kFecMarkerData && size > kFecDataHeader) continue;  // a well-formed 1-2 byte packet
      rx.feed(d);
    }
  }
  // Parity headers with k, m or j out of range.
  for (int k = 0; k < 256; k += 5)
    for (int m = 0; m < 256; m += 5)
      for (int j : {0, m - 1, m, 255}) {
        Bytes d = {kFecMarkerParity, 0, 0, 0, 9, static_cast<std::uint8_t>(j), static_cast<std::uint8_t>(k),
                   static_cast<std::uint8_t>(m), 0, 5, 1, 2, 3, 4, 5};
        const bool valid = k >= 1 && m >= 1 && k + m <= 255 && j >= 0 && j < m;
        EXPECT_EQ(FecDecoder::is_fec(d.data(), d.size()), valid) << k << " " << m << " " << j;
        if (!valid) rx.feed(d);
      }
  EXPECT_TRUE(rx.got.empty());
  EXPECT_EQ(rx.dec.stats().received, 0u);
  EXPECT_GT(rx.dec.stats().malformed, 50000u);

  // Random bytes behind valid markers, in a small id space so that blocks collide: no crash,
  // and a data datagram passes on exactly its own bytes (the shim has no checksum; QUIC's AEAD
  // rejects forged packets).
  Receiver fuzz({.window_blocks = 4, .max_packet = 1500, .max_buffered_bytes = 255 * 1502});
  for (int n = 0; n < 200000; ++n) {
    Bytes d(std::uniform_int_distribution<std::size_t>(1, 80)(rng));
    for (auto& b : d) b = static_cast<std::uint8_t>(rng());
    d[0] = (rng() & 1) ? kFecMarkerData : kFecMarkerParity;
    if (d.size() > 4) {
      d[1] = d[2] = d[3] = 0;
      d[4] &= 7;
    }
    if (d.size() > 7 && (rng() & 1)) {  // plausible k, m, j so parity gets past the header check
      d[6] = static_cast<std::uint8_t>(1 + rng() % 4);
      d[7] = static_cast<std::uint8_t>(1 + rng() % 3);
      d[5] = static_cast<std::uint8_t>(rng() % d[7]);
    }
    const std::size_t before = fuzz.got.size();
    const auto recovered_before = fuzz.dec.stats().recovered;
    fuzz.feed(d);
    const std::size_t passed = fuzz.got.size() - before - (fuzz.dec.stats().recovered - recovered_before);
    if (passed == 1) {
      ASSERT_EQ(d[0], kFecMarkerData);
      ASSERT_EQ(fuzz.got[before], Bytes(d.begin() + kFecDataHeader, d.end()));
    } else {
      ASSERT_EQ(passed, 0u);
    }
    ASSERT_LE(fuzz.dec.buffered_bytes(), 255u * 1502);
  }
  const auto& s = fuzz.dec.stats();
  std::printf("[ fuzz     ] received %llu, malformed %llu, duplicates %llu, rebuilt %llu, inconsistent %llu\n",
              static_cast<unsigned long long>(s.received), static_cast<unsigned long long>(s.malformed),
              static_cast<unsigned long long>(s.duplicates), static_cast<unsigned long long>(s.recovered),
              static_cast<unsigned long long>(s.inconsistent_blocks));
  EXPECT_GT(s.malformed, 0u);
}

TEST(Fec, MutatedGenuineTrafficNeverCrashes) {
  std::mt19937_64 rng(77);
  auto packets = make_packets(rng, 20 * 200);
  FecEncoder enc({.k = 20, .m = 2, .max_packet = 1452});
  auto dgrams = encode(enc, packets);
  Receiver rx;
  std::size_t mutated = 0;
  for (auto d : dgrams) {
    if (rng() % 4 == 0) {
      ++mutated;
      switch (rng() % 3) {
        case 0: d.bytes[rng() % std::min<std::size_t>(d.bytes.size(), 8)] ^= static_cast<std::uint8_t>(1 + rng() % 255); break;
        case 1: d.bytes.resize(rng() % d.bytes.size()); break;
        default: d.bytes[rng() % d.bytes.size()] = static_cast<std::uint8_t>(rng()); break;
      }
    }
    if (rng() % 10 == 0) continue;  // and some loss
    rx.feed(d.bytes);
  }
  EXPECT_GT(mutated, 0u);
  EXPECT_GT(rx.dec.stats().malformed + rx.dec.stats().inconsistent_blocks, 0u);
  for (const auto& p : rx.got) EXPECT_LE(p.size(), 1452u + 255);
}

TEST(Fec, BufferedBytesStayWithinTheLimit) {
  // All parity lost: every data packet stays buffered until its block leaves the window.
  const FecDecoderLimits limits{.window_blocks = 64, .max_packet = 1500, .max_buffered_bytes = 255 * 1502};
  std::mt19937_64 rng(10);
  auto packets = make_packets(rng, 20 * 200, 1000, 1452);
  FecEncoder enc({.k = 20, .m = 2, .max_packet = 1452});
  Receiver rx(limits);
  std::size_t peak = 0;
  for (const auto& d : encode(enc, packets)) {
    if (d.parity) continue;
    rx.feed(d.bytes);
    peak = std::max(peak, rx.dec.buffered_bytes());
  }
  ASSERT_NO_FATAL_FAILURE(expect_exactly_once(rx, packets));
  EXPECT_LE(peak, limits.max_buffered_bytes);
  EXPECT_GT(peak, limits.max_buffered_bytes / 2);
}

TEST(Fec, SettingsOutOfRangeAreRefusedWithTheReason) {
  auto message = [](auto make) -> std::string {
    try {
      make();
    } catch (const quictun::UsageError& e) {
      return e.what();
    }
    return "(accepted)";
  };
  EXPECT_NE(message([] { FecEncoder e({.k = 0, .m = 2}); }).find("k must be"), std::string::npos);
  EXPECT_NE(message([] { FecEncoder e({.k = 250, .m = 6}); }).find("k + m <= 255"), std::string::npos);
  EXPECT_NE(message([] { FecEncoder e({.k = 20, .m = 0}); }).find("m must be"), std::string::npos);
  EXPECT_EQ(message([] { FecEncoder e({.k = 250, .m = 5}); }), "(accepted)");
  EXPECT_NE(message([] { FecDecoder d({.window_blocks = 48}); }).find("power of 2"), std::string::npos);
  EXPECT_NE(message([] { FecDecoder d({.max_buffered_bytes = 1000}); }).find("one full block"), std::string::npos);

  FecEncoder enc({.k = 20, .m = 2, .max_packet = 1200});
  DatagramBatch out;
  Bytes big(1201, 0x41);
  EXPECT_THROW(enc.add(big.data(), big.size(), out), std::invalid_argument);
  EXPECT_THROW(enc.add(big.data(), 0, out), std::invalid_argument);
  EXPECT_TRUE(out.empty());
}

// Speed is not a unit test's business (a timing cannot fail honestly on a shared machine); the
// FEC's cost shows in the end-to-end runs of bench/ (bench/fec_probe.sh, bench/run.sh). What
// is checked here, at the configuration those runs use (k=20, m=2, full-size packets), is that
// every erasure of at most m datagrams of a block gives back exactly the bytes that were sent.
TEST(Fec, FullSizePacketsSurviveEveryErasureOfAtMostMDatagrams) {
  const std::size_t k = 20, m = 2, n = k + m;
  std::mt19937_64 rng(4);
  auto packets = make_packets(rng, k, 1400, 1400);
  FecEncoder enc({.k = k, .m = m, .max_packet = 1452});
  auto dgrams = encode(enc, packets);
  ASSERT_EQ(dgrams.size(), n);

  std::size_t sent_bytes = 0;
  for (const auto& p : packets) sent_bytes += p.size();
  std::vector<std::vector<std::size_t>> erasures = {{}};
  for (std::size_t i = 0; i < n; ++i) {
    erasures.push_back({i});
    for (std::size_t j = i + 1; j < n; ++j) erasures.push_back({i, j});
  }
  ASSERT_EQ(erasures.size(), 1u + 22 + 231);

  for (const auto& lost : erasures) {
    SCOPED_TRACE(::testing::PrintToString(lost));
    Receiver rx;
    for (std::size_t i = 0; i < n; ++i)
      if (std::find(lost.begin(), lost.end(), i) == lost.end()) rx.feed(dgrams[i].bytes);
    ASSERT_NO_FATAL_FAILURE(expect_exactly_once(rx, packets));
    std::size_t got_bytes = 0;
    for (const auto& p : rx.got) got_bytes += p.size();
    EXPECT_EQ(got_bytes, sent_bytes);
    EXPECT_EQ(rx.dec.stats().unrecoverable_blocks, 0u);
    EXPECT_EQ(rx.dec.stats().inconsistent_blocks, 0u);
  }
}

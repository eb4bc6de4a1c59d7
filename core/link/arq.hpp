// Selective retransmission below QUIC ("link ARQ"): a shim between ngtcp2 and the UDP socket that
// repairs lost datagrams before ngtcp2 notices them.
//
// Why: ngtcp2 1.11's congestion controllers read every lost packet as congestion, and it offers
// no hook for another controller. Its BBRv2 shrinks its inflight bound whenever more than 2 % of
// a round is lost, so a link with a few percent of random loss runs at a fraction of its rate
// (bench/RESULTS.md). The shim keeps random loss out of ngtcp2's sight instead: the receiver asks
// for each missing datagram by number, the sender sends its stored copy again, and the receiver
// hands datagrams to ngtcp2 in number order, holding those behind a gap until it is filled. For
// ngtcp2 a repaired loss is a packet that took one more round trip, not a loss; its bandwidth
// model stays at the link's rate, and the repair costs about one datagram per lost one. A gap
// still open after kArqMaxNacks requests is given up: the packets behind it move on, and QUIC's
// own recovery handles the loss.
//
// All loss is hidden, overflow of a bottleneck queue included: ngtcp2's BBR bounds what it keeps
// in flight by its own model (about two bandwidth-delay products), not by loss, so the queue it
// builds stays bounded. (Letting queue losses through to it was measured worse: every such loss
// cuts BBRv2's short-term bounds, bench/notes.md.)
//
// Two classes of datagrams, by size:
//  - sequenced (kArqMinSequenced bytes and more: packets that carry stream data): numbered,
//    stored by the sender, resent on request, delivered in order;
//  - light (smaller: mostly ACK-only packets): neither numbered nor resent. QUIC acknowledgments
//    are cumulative, so a lost one costs nothing, and holding them behind a gap would stall the
//    peer's clock. A light datagram carries the number of the last sequenced datagram sent before
//    it: the receiver keeps it behind that one (it must not overtake packets under repair, or
//    ngtcp2 would count them lost) and learns from it of a gap at the tail of a burst.
//
// Wire format (multi-byte fields big-endian). The first byte is below 0x40, where a QUIC packet's
// is not (its fixed bit 0x40 is set: quictun never greases it), so plain QUIC and ARQ datagrams
// are told apart by it alone.
//
//   sequenced  0x23 | number (4) | QUIC packet
//   light      0x24 | number of the last sequenced datagram sent before it (4) | QUIC packet
//   nack       0x25 | copies (1) | n (1) | n x ( first number (4) | count (1) )     n in 1..kArqMaxRanges
//
// Numbers wrap at 2^32 and compare in serial-number arithmetic; each connection starts at a
// random one (the receiver takes a jump of 2^20 or more as a restarted sender). A NACK asks for `count` (1..255) datagrams from `first` on, each sent `copies` (1
// or 2) times. The receiver sends every NACK twice and asks for two copies when it measures
// kArqTwoCopiesPermille or more loss. The shim adds
// no integrity check: QUIC's packet protection discards forged packets, though a forged
// numbered datagram can still hold or skip genuine ones for a while (forging needs the
// connection ID, i.e. an attacker on the path, who could drop packets anyway). NACKs reach the
// server's connection by the client's address: after a client address change they are lost
// and QUIC's own recovery takes over. A forged NACK can make
// the sender resend datagrams to its real peer, at most once per datagram per kArqResendGap and
// at most kArqMaxResendsPerNack per NACK, so it cannot amplify a flood towards a third party.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <vector>

#include "link/datagram_batch.hpp"

namespace quictun::link {

inline constexpr std::uint8_t kArqMarkerSequenced = 0x23;
inline constexpr std::uint8_t kArqMarkerLight = 0x24;
inline constexpr std::uint8_t kArqMarkerNack = 0x25;
inline constexpr std::size_t kArqHeader = 5;            // marker, number
inline constexpr std::size_t kArqMinSequenced = 256;    // smaller datagrams travel light
inline constexpr std::size_t kArqMaxDatagram = 1500;    // larger ones are not stored, so travel light
inline constexpr std::size_t kArqMaxRanges = 64;        // ranges per NACK datagram
inline constexpr std::size_t kArqMaxNacks = 6;
inline constexpr std::uint32_t kArqTwoCopiesPermille = 70;          // requests for one datagram before it is given up
inline constexpr std::size_t kArqMaxResendsPerNack = 512;
inline constexpr std::uint64_t kArqResendGap = 2'000'000;  // ns between two resends of one datagram

// True for the datagrams of this shim (sequenced, light, nack).
inline bool is_arq(const std::uint8_t* d, std::size_t n) {
  return n >= 2 && d[0] >= kArqMarkerSequenced && d[0] <= kArqMarkerNack;
}


struct ArqSenderStats {
  std::uint64_t sequenced = 0;     // datagrams numbered and stored
  std::uint64_t light = 0;         // datagrams sent light
  std::uint64_t resent = 0;        // datagrams sent again on request
  std::uint64_t nacks = 0;         // NACK datagrams received
  std::uint64_t expired = 0;       // requested datagrams no longer stored
  std::uint64_t malformed = 0;     // NACK datagrams dropped as malformed
};

// The sending side of one path. Not thread-safe; one per connection.
class ArqSender {
 public:
  using Send = std::function<void(const std::uint8_t* datagram, std::size_t size)>;

  // `history`: datagrams kept for resending (a power of two); it should cover a few round trips
  // at the path's rate. The store is allocated lazily by the kernel as it fills.
  explicit ArqSender(std::uint32_t first_number, std::size_t history = 8192);

  // Makes the shim datagram in place: `datagram` holds kArqHeader free bytes and then the QUIC
  // packet of `packet_size` bytes. Writes the header and stores a copy when it is sequenced.
  void seal(std::uint8_t* datagram, std::size_t packet_size, std::uint64_t now_ns);
  // The same for a packet elsewhere: appends its datagram to `out`.
  void wrap(const std::uint8_t* packet, std::size_t size, std::uint64_t now_ns, DatagramBatch& out);

  // Handles a NACK datagram: passes each stored datagram it asks for to `send` (unchanged, so the
  // receiver files it under its number). Malformed NACKs are counted and ignored.
  void on_nack(const std::uint8_t* datagram, std::size_t size, std::uint64_t now_ns, const Send& send);

  const ArqSenderStats& stats() const { return stats_; }
  std::uint32_t next_number() const { return next_; }

 private:
  struct Slot {
    std::uint32_t number = 0;
    std::uint16_t size = 0;        // 0: empty
    std::uint64_t last_sent_ns = 0;
  };
  std::size_t mask_;
  std::vector<Slot> slots_;
  std::unique_ptr<std::uint8_t[]> store_;  // history x kArqMaxDatagram bytes, slot i at i * kArqMaxDatagram
  std::uint32_t next_;                     // number of the next sequenced datagram
  ArqSenderStats stats_;
};

struct ArqReceiverStats {
  std::uint64_t sequenced = 0;     // sequenced datagrams taken (first copies)
  std::uint64_t light = 0;         // light datagrams taken
  std::uint64_t held = 0;          // datagrams that waited behind a gap
  std::uint64_t repaired = 0;      // gaps filled after a request
  std::uint64_t given_up = 0;      // gaps skipped after kArqMaxNacks requests: left to QUIC
  std::uint64_t duplicates = 0;    // copies of datagrams already taken
  std::uint64_t late = 0;          // datagrams behind a skipped gap (passed on at once)
  std::uint64_t nacks_sent = 0;    // NACK datagrams sent
  std::uint64_t restarts = 0;      // numbering jumps taken as a new sender
};

// The receiving side of one path. Not thread-safe; one per connection.
class ArqReceiver {
 public:
  using Deliver = std::function<void(const std::uint8_t* packet, std::size_t size)>;
  using Send = std::function<void(const std::uint8_t* datagram, std::size_t size)>;
  static constexpr std::uint64_t kNever = ~std::uint64_t{0};

  // `window`: sequenced datagrams that may be outstanding between the oldest gap and the newest
  // arrival (a power of two); `max_held_bytes` bounds what waits behind gaps.
  explicit ArqReceiver(std::size_t window = 16384, std::size_t max_held_bytes = 32 << 20);

  // Takes one sequenced or light datagram (not a NACK). Calls `deliver` for every QUIC packet
  // that may go to QUIC now, in order, and `send` for a NACK when it finds new gaps. The pointer
  // given to `deliver` is valid only during the call.
  void receive(const std::uint8_t* datagram, std::size_t size, std::uint64_t now_ns, const Deliver& deliver,
               const Send& send);

  // Requests overdue gaps again and gives up those asked for too often; call at deadline().
  void on_timer(std::uint64_t now_ns, const Deliver& deliver, const Send& send);
  std::uint64_t deadline() const { return deadline_; }  // kNever when nothing is missing

  // A round-trip estimate from QUIC (its minimum RTT), used until repairs give samples.
  void set_rtt_hint(std::uint64_t rtt_ns) { rtt_hint_ = rtt_ns; }
  bool needs_rtt_hint() const { return srtt_ == 0; }  // no repair measured yet
  std::uint64_t request_timeout_ns() const;  // how long a request may take before it is repeated

  const ArqReceiverStats& stats() const { return stats_; }
  std::size_t held_bytes() const { return held_bytes_; }
  std::uint32_t loss_permille() const { return loss_permille_; }  // measured loss, 0.1 % units

 private:
  struct Slot {
    std::uint32_t number = 0;
    bool present = false;          // a datagram waits here
    bool missing = false;          // known gap (requested)
    bool abandoned = false;        // a gap no longer waited for: advance() skips it
    bool skipped = false;          // passed as a gap: a late copy may still help QUIC
    std::uint8_t nacks = 0;
    std::uint64_t last_nack_ns = 0;
    std::vector<std::uint8_t> bytes;  // the QUIC packet; capacity kept
  };
  struct Light {
    std::uint32_t after;              // deliver once every number up to this one is done
    std::vector<std::uint8_t> bytes;
  };

  Slot& slot(std::uint32_t n) { return slots_[n & mask_]; }
  void start(std::uint32_t n);
  void mark_missing(std::uint32_t from, std::uint32_t to, std::uint64_t now_ns);  // [from, to)
  void advance(const Deliver& deliver);       // delivers what is ready at the head
  void skip_head(const Deliver& deliver);     // gives up the gap at the head
  void flush_all(const Deliver& deliver);     // delivers everything held, gaps or not
  void send_nacks(const Send& send);
  void count_loss(std::uint32_t lost, std::uint32_t arrived);

  std::size_t mask_;
  std::size_t max_held_bytes_;
  std::vector<Slot> slots_;
  std::deque<std::uint32_t> missing_;    // gaps in number order (some may be filled since)
  std::deque<Light> lights_;             // light packets held behind a gap, in arrival order
  std::vector<std::uint32_t> to_request_;
  bool started_ = false;
  std::uint32_t next_ = 0;               // next number to deliver
  std::uint32_t end_ = 0;                // one past the highest number known to exist
  std::size_t held_bytes_ = 0;
  std::uint64_t deadline_ = kNever;      // next request timeout
  std::uint64_t rtt_hint_ = 0;
  std::uint32_t window_lost_ = 0, window_total_ = 0;  // gaps and datagrams since the last estimate
  std::uint32_t loss_permille_ = 0;                   // smoothed loss rate, 0.1 % units
  std::uint64_t srtt_ = 0, rttvar_ = 0;  // repair round trips (request to arrival), 0: no sample yet
  ArqReceiverStats stats_;
};

}  // namespace quictun::link

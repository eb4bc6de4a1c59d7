// Forward error correction below QUIC: a shim between ngtcp2 and the UDP socket that adds parity
// datagrams, so random loss is repaired before ngtcp2 sees it (ngtcp2's congestion controllers
// read every loss as congestion, and collapse under a few percent of random loss).
//
// The code is a systematic Reed-Solomon erasure code over GF(2^8): QUIC packets travel unchanged
// behind a small header, and each block of k of them is followed by m parity datagrams. Any k of
// the k + m datagrams of a block rebuild all k packets. A receiver passes data datagrams on at
// once, so the shim adds no latency while nothing is lost.
//
// Wire format (multi-byte fields big-endian). The first byte is below 0x40: QUIC v1 sets the
// fixed bit (0x40) in every packet, so a receiver tells FEC datagrams from plain QUIC ones by that
// byte alone. This only holds while neither peer advertises grease_quic_bit (RFC 9287).
//
//   data datagram    0x21 | block id (4) | index (1) | QUIC packet (1..65535 bytes)
//   parity datagram  0x22 | block id (4) | parity index j (1) | k (1) | m (1) | coded (L bytes)
//
// - block id numbers blocks; it wraps at 2^32 and is compared in serial-number arithmetic.
// - index is the packet's position in its block, 0..k-1. A data datagram carries no k: the sender
//   does not know it yet when it closes a block early (FecEncoder::flush).
// - j is 0..m-1; k (1..254) and m (1..255 - k) are the block's actual counts.
// - coded is parity row j over the block's data packets, each taken as its 2-byte length followed
//   by its bytes and padded with zeros to L = 2 + the longest packet of the block. So a rebuilt
//   packet knows its length, and zero padding behind it is a consistency check.
// - Parity row j is sum over i of c(j, i) * packet_i with c(j, i) = y_i / (j ^ y_i), y_i = 255 - i:
//   a Cauchy matrix scaled so that row 0 is all ones (parity 0 is the plain XOR). Every square
//   submatrix of a Cauchy matrix is invertible, hence any k of the k + m datagrams suffice. The
//   coefficients depend on neither k nor m, so a block closed early is encoded like a full one.
//
// The shim adds no integrity check: a forged or corrupted datagram can yield a wrong packet, which
// QUIC's packet protection (AEAD) then discards, as it would a corrupted plain datagram.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "quic/datagram_batch.hpp"

namespace quictun::quic {

// Bytes a datagram grows by at most: a parity datagram is its 8-byte header, a 2-byte length and
// the longest packet of its block (data datagrams grow by 6). Lower ngtcp2's max UDP payload by
// this much so every FEC datagram fits the path.
inline constexpr std::size_t kFecOverhead = 10;
inline constexpr std::size_t kFecDataHeader = 6;    // marker, block id, index
inline constexpr std::size_t kFecParityHeader = 8;  // marker, block id, j, k, m
inline constexpr std::uint8_t kFecMarkerData = 0x21;
inline constexpr std::uint8_t kFecMarkerParity = 0x22;
inline constexpr std::size_t kFecMaxBlock = 255;    // k + m, the size of GF(2^8) minus one

// How the sender groups packets; both k and m count datagrams.
struct FecParams {
  std::size_t k = 20;              // data packets per full block (1..254)
  std::size_t m = 2;               // parity packets per full block (1..255 - k)
  std::size_t max_packet = 1452;   // largest QUIC packet the encoder accepts, in bytes
};

// The sending side of one FEC-enabled path. Not thread-safe; one per connection (or peer).
class FecEncoder {
 public:
  // Throws UsageError naming the bad field when `params` is out of range. Give each connection
  // a random `first_block_id`: a receiver that outlives a sender (same peer address, new
  // connection) would otherwise take the new blocks for duplicates of the old ones, and forged
  // datagrams are harder to aim at a sequence that does not start at 0.
  explicit FecEncoder(const FecParams& params, std::uint32_t first_block_id = 0);

  // Appends the data datagram for `packet` to `out`, and, when that packet completes a block of
  // k, the block's m parity datagrams. Throws std::invalid_argument when size is 0 or larger
  // than params.max_packet (a caller bug: ngtcp2's max UDP payload is set too high).
  void add(const std::uint8_t* packet, std::size_t size, DatagramBatch& out);

  // Closes a partly filled block of k' packets, appending ceil(k' * m / k) parity datagrams
  // (at least 1). Call at the end of every send burst so the tail of a transfer is protected.
  // Does nothing when the current block is empty.
  void flush(DatagramBatch& out);

  const FecParams& params() const { return params_; }
  std::uint32_t next_block_id() const { return block_id_; }
  std::size_t pending() const { return count_; }  // data packets in the open block

 private:
  void emit_parity(std::size_t parity_count, DatagramBatch& out);

  FecParams params_;
  std::size_t stride_;                   // bytes per parity row: max_packet + 2
  std::vector<std::uint8_t> coef_;       // c(j, i) at [j * k + i]
  std::vector<std::uint8_t> parity_;     // m rows of stride_ bytes, accumulated as packets arrive
  std::uint32_t block_id_;               // id of the open block
  std::size_t count_ = 0;                // data packets in the open block
  std::size_t coded_len_ = 0;            // 2 + longest packet of the open block, in bytes
};

// What a decoder saw; all counters only grow.
struct FecDecoderStats {
  std::uint64_t received = 0;              // well-formed FEC datagrams, data and parity
  std::uint64_t delivered = 0;             // data packets passed on as they arrived
  std::uint64_t recovered = 0;             // data packets rebuilt from parity and passed on
  std::uint64_t unrecoverable_blocks = 0;  // blocks given up with data missing (a lower bound:
                                           // a block whose parity all vanished shows only by gaps)
  std::uint64_t inconsistent_blocks = 0;   // rebuilds that failed their length/padding check
  std::uint64_t malformed = 0;             // datagrams dropped: bad header or contradicting their block
  std::uint64_t duplicates = 0;            // datagrams already seen or already rebuilt
  std::uint64_t late = 0;                  // datagrams of blocks older than the window (data still passed on)
};

// How much the receiving side remembers.
struct FecDecoderLimits {
  std::size_t window_blocks = 64;             // recent blocks kept for recovery (power of 2, 1..1024)
  std::size_t max_packet = 1500;              // largest data packet kept for recovery, in bytes
  std::size_t max_buffered_bytes = 4 << 20;   // packet bytes kept across all blocks; at least one
                                              // full block, 255 * (max_packet + 2), at most 1 GiB
};

// The receiving side of one FEC-enabled path. Not thread-safe; one per connection (or peer).
// It keeps the newest window_blocks blocks. A block is rebuilt as soon as any k of its datagrams
// are in, so a packet merely delayed behind its block's parity is rebuilt and its original then
// dropped as a duplicate. Data of an older block is still passed on (a packet rebuilt earlier
// can so reach QUIC twice; QUIC drops the repeated packet number); a block id 4096 or more
// behind the newest is taken as a restarted sender, and the decoder starts over.
class FecDecoder {
 public:
  using Deliver = std::function<void(const std::uint8_t* packet, std::size_t size)>;

  // Throws UsageError naming the bad field when `limits` is out of range.
  explicit FecDecoder(const FecDecoderLimits& limits = {});
  ~FecDecoder();
  FecDecoder(const FecDecoder&) = delete;
  FecDecoder& operator=(const FecDecoder&) = delete;

  // True when `datagram` starts like an FEC datagram (marker below 0x40 and a plausible header);
  // a false datagram is plain QUIC (or garbage) and should bypass the decoder.
  static bool is_fec(const std::uint8_t* datagram, std::size_t size);

  // Takes one received datagram. Calls `deliver` for its QUIC packet at once when it is a data
  // datagram not seen before, and for every packet it lets the decoder rebuild. The pointer
  // passed to `deliver` is valid only during the call; `deliver` must not call receive().
  // Malformed datagrams are dropped and counted.
  void receive(const std::uint8_t* datagram, std::size_t size, const Deliver& deliver);

  const FecDecoderStats& stats() const { return stats_; }
  std::size_t buffered_bytes() const { return buffered_; }

 private:
  struct Block;
  Block& block_for(std::uint32_t id);
  void release(Block& block);
  void give_up(Block& block);
  bool store(Block& block, const std::uint8_t* prefix, std::size_t prefix_size, const std::uint8_t* data,
             std::size_t size, std::uint32_t& offset);
  void on_data(Block& block, std::size_t index, const std::uint8_t* packet, std::size_t size, const Deliver& deliver);
  void on_parity(Block& block, std::size_t j, std::size_t k, std::size_t m, const std::uint8_t* coded,
                 std::size_t coded_len);
  void try_recover(Block& block, const Deliver& deliver);
  void finish_if_complete(Block& block);

  FecDecoderLimits limits_;
  std::vector<Block> blocks_;            // slot id % window_blocks
  bool have_newest_ = false;             // false until the first datagram
  std::uint32_t newest_ = 0;             // highest block id seen
  std::size_t buffered_ = 0;             // bytes held in all blocks' arenas
  std::vector<std::uint8_t> scratch_;    // rebuild workspace: 2 * (lost packets) rows of L bytes
  std::vector<std::uint8_t> matrix_;     // rebuild workspace: the system's matrix and its inverse
  FecDecoderStats stats_;
};

}  // namespace quictun::quic

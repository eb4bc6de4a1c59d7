#include "quic/fec.hpp"

#include <algorithm>
#include <array>
#include <bitset>
#include <cstring>
#include <stdexcept>
#include <string>

#include "util/big_endian.hpp"
#include "util/error.hpp"

namespace quictun::quic {

namespace {

// GF(2^8) with the polynomial x^8 + x^4 + x^3 + x^2 + 1 (0x11d) and generator 2, as in most
// Reed-Solomon erasure codes. The full 256 x 256 product table (64 KiB) makes the inner loop one
// lookup per byte; a row (256 bytes) of it stays in L1 cache for a whole packet.
struct GfTables {
  std::array<std::uint8_t, 512> exp{};  // exp[i] = 2^i, doubled so exp[log a + log b] needs no modulo
  std::array<std::uint8_t, 256> log{};  // log[a] for a != 0
  std::array<std::array<std::uint8_t, 256>, 256> mul{};  // mul[a][b] = a * b
};

constexpr GfTables kGf = [] {
  GfTables t{};
  unsigned x = 1;
  for (unsigned i = 0; i < 255; ++i) {
    t.exp[i] = t.exp[i + 255] = static_cast<std::uint8_t>(x);
    t.log[x] = static_cast<std::uint8_t>(i);
    x <<= 1;
    if (x & 0x100) x ^= 0x11d;
  }
  for (unsigned a = 1; a < 256; ++a)
    for (unsigned b = 1; b < 256; ++b) t.mul[a][b] = t.exp[t.log[a] + t.log[b]];
  return t;
}();

constexpr std::uint8_t gf_mul(std::uint8_t a, std::uint8_t b) { return kGf.mul[a][b]; }

constexpr std::uint8_t gf_inv(std::uint8_t a) {  // a != 0
  return kGf.exp[255 - kGf.log[a]];
}

// c(j, i): the weight of data packet i in parity row j (see fec.hpp). Row 0 is all ones.
constexpr std::uint8_t coefficient(std::size_t j, std::size_t i) {
  const auto y = static_cast<std::uint8_t>(255 - i);
  return gf_mul(y, gf_inv(static_cast<std::uint8_t>(j ^ y)));
}

static_assert(coefficient(0, 0) == 1 && coefficient(0, 253) == 1);
static_assert(gf_mul(gf_inv(0x53), 0x53) == 1);

// dst[0..n) += c * src[0..n). The hot loop of both sides: contiguous bytes, no aliasing, so the
// compiler unrolls it (and vectorizes the XOR case fully).
void mul_add(std::uint8_t* __restrict dst, const std::uint8_t* __restrict src, std::size_t n, std::uint8_t c) {
  if (c == 0) return;
  if (c == 1) {
    for (std::size_t i = 0; i < n; ++i) dst[i] ^= src[i];
    return;
  }
  const std::uint8_t* __restrict row = kGf.mul[c].data();
  for (std::size_t i = 0; i < n; ++i) dst[i] ^= row[src[i]];
}


// A sender that restarts (a new connection on the same path) begins a new block sequence; a block
// id this far behind the newest is taken as such a restart rather than as a late datagram.
constexpr std::uint32_t kResyncBlocks = 4096;

// Inverts the n x n matrix `a` (row-major) in place over GF(2^8), using `work` (n * n bytes).
// False when it is singular, which a Cauchy submatrix never is; the check keeps a bug from
// turning into garbage output.
bool invert(std::uint8_t* a, std::uint8_t* work, std::size_t n) {
  std::uint8_t* inv = work;
  std::fill_n(inv, n * n, 0);
  for (std::size_t i = 0; i < n; ++i) inv[i * n + i] = 1;
  for (std::size_t col = 0; col < n; ++col) {
    std::size_t pivot = col;
    while (pivot < n && a[pivot * n + col] == 0) ++pivot;
    if (pivot == n) return false;
    if (pivot != col) {
      std::swap_ranges(a + pivot * n, a + pivot * n + n, a + col * n);
      std::swap_ranges(inv + pivot * n, inv + pivot * n + n, inv + col * n);
    }
    const std::uint8_t scale = gf_inv(a[col * n + col]);
    for (std::size_t c = 0; c < n; ++c) {
      a[col * n + c] = gf_mul(a[col * n + c], scale);
      inv[col * n + c] = gf_mul(inv[col * n + c], scale);
    }
    for (std::size_t r = 0; r < n; ++r) {
      const std::uint8_t f = a[r * n + col];
      if (r == col || f == 0) continue;
      for (std::size_t c = 0; c < n; ++c) {
        a[r * n + c] ^= gf_mul(f, a[col * n + c]);
        inv[r * n + c] ^= gf_mul(f, inv[col * n + c]);
      }
    }
  }
  std::copy_n(inv, n * n, a);
  return true;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Encoder

FecEncoder::FecEncoder(const FecParams& params, std::uint32_t first_block_id)
    : params_(params), block_id_(first_block_id) {
  if (params.k < 1 || params.k > kFecMaxBlock - 1)
    throw UsageError("fec: k must be 1.." + std::to_string(kFecMaxBlock - 1) + " (got " +
                     std::to_string(params.k) + ")");
  if (params.m < 1 || params.k + params.m > kFecMaxBlock)
    throw UsageError("fec: m must be 1.." + std::to_string(kFecMaxBlock - params.k) + " so that k + m <= " +
                     std::to_string(kFecMaxBlock) + " (got k = " + std::to_string(params.k) +
                     ", m = " + std::to_string(params.m) + ")");
  if (params.max_packet < 1 || params.max_packet > 0xffff)
    throw UsageError("fec: max packet size must be 1..65535 bytes (got " + std::to_string(params.max_packet) + ")");
  stride_ = params.max_packet + 2;
  coef_.resize(params.m * params.k);
  for (std::size_t j = 0; j < params.m; ++j)
    for (std::size_t i = 0; i < params.k; ++i) coef_[j * params.k + i] = coefficient(j, i);
  parity_.assign(params.m * stride_, 0);
}

void FecEncoder::add(const std::uint8_t* packet, std::size_t size, DatagramBatch& out) {
  if (size == 0 || size > params_.max_packet)
    throw std::invalid_argument("fec: packet of " + std::to_string(size) + " bytes (accepted: 1.." +
                                std::to_string(params_.max_packet) + ")");
  std::uint8_t* d = out.append(kFecDataHeader + size);
  d[0] = kFecMarkerData;
  put_be32(d + 1, block_id_);
  d[5] = static_cast<std::uint8_t>(count_);
  std::memcpy(d + kFecDataHeader, packet, size);

  // Parity is accumulated now, while the packet is in cache, instead of at the end of the block.
  const std::uint8_t prefix[2] = {static_cast<std::uint8_t>(size >> 8), static_cast<std::uint8_t>(size)};
  for (std::size_t j = 0; j < params_.m; ++j) {
    std::uint8_t* row = parity_.data() + j * stride_;
    const std::uint8_t c = coef_[j * params_.k + count_];
    mul_add(row, prefix, 2, c);
    mul_add(row + 2, packet, size, c);
  }
  coded_len_ = std::max(coded_len_, size + 2);
  if (++count_ == params_.k) emit_parity(params_.m, out);
}

void FecEncoder::flush(DatagramBatch& out) {
  if (count_ == 0) return;
  emit_parity(std::max<std::size_t>(1, (count_ * params_.m + params_.k - 1) / params_.k), out);
}

void FecEncoder::emit_parity(std::size_t parity_count, DatagramBatch& out) {
  for (std::size_t j = 0; j < parity_count; ++j) {
    std::uint8_t* d = out.append(kFecParityHeader + coded_len_);
    d[0] = kFecMarkerParity;
    put_be32(d + 1, block_id_);
    d[5] = static_cast<std::uint8_t>(j);
    d[6] = static_cast<std::uint8_t>(count_);
    d[7] = static_cast<std::uint8_t>(parity_count);
    std::memcpy(d + kFecParityHeader, parity_.data() + j * stride_, coded_len_);
  }
  // Every row was accumulated, also those a short block does not send; only coded_len_ bytes of
  // each can be non-zero.
  for (std::size_t j = 0; j < params_.m; ++j) std::memset(parity_.data() + j * stride_, 0, coded_len_);
  count_ = 0;
  coded_len_ = 0;
  ++block_id_;
}

// ---------------------------------------------------------------------------------------------
// Decoder

// One block being received. Packets are kept in coded form (2-byte length, then the bytes) in
// one arena whose capacity is reused by the next block of the same slot.
struct FecDecoder::Block {
  bool in_use = false;             // holds block `id`
  bool finished = false;           // all data passed on, or given up: keeps no packets
  std::uint32_t id = 0;
  std::size_t k = 0;               // data count, 0 until a parity datagram tells
  std::size_t m = 0;               // parity count, 0 until a parity datagram tells
  std::size_t coded_len = 0;       // L of the parity, 0 until a parity datagram tells
  std::size_t delivered_count = 0;
  std::size_t stored_data = 0;     // data packets held in the arena
  std::size_t stored_parity = 0;   // parity rows held in the arena
  std::size_t index_end = 0;       // 1 + highest data index seen
  std::size_t longest_coded = 0;   // 2 + longest data packet seen, in bytes
  std::bitset<kFecMaxBlock> delivered;    // data indices passed on (received or rebuilt)
  std::bitset<kFecMaxBlock> data_stored;  // data indices held in the arena
  std::bitset<kFecMaxBlock> parity_seen;  // parity rows received
  std::bitset<kFecMaxBlock> parity_stored;
  std::array<std::uint32_t, kFecMaxBlock> data_offset{};    // into arena
  std::array<std::uint32_t, kFecMaxBlock> data_size{};      // coded size in arena, in bytes
  std::array<std::uint32_t, kFecMaxBlock> parity_offset{};  // into arena; each row is coded_len bytes
  std::vector<std::uint8_t> arena;

  void start(std::uint32_t new_id) {
    in_use = true;
    finished = false;
    id = new_id;
    k = m = coded_len = 0;
    delivered_count = stored_data = stored_parity = index_end = longest_coded = 0;
    delivered.reset();
    data_stored.reset();
    parity_seen.reset();
    parity_stored.reset();
  }
};

FecDecoder::FecDecoder(const FecDecoderLimits& limits) : limits_(limits) {
  const std::size_t w = limits.window_blocks;
  if (w < 1 || w > 1024 || (w & (w - 1)) != 0)
    throw UsageError("fec: window must be a power of 2 from 1 to 1024 blocks (got " + std::to_string(w) + ")");
  if (limits.max_packet < 1 || limits.max_packet > 0xffff)
    throw UsageError("fec: max packet size must be 1..65535 bytes (got " + std::to_string(limits.max_packet) + ")");
  const std::size_t one_block = kFecMaxBlock * (limits.max_packet + 2);
  if (limits.max_buffered_bytes < one_block || limits.max_buffered_bytes > (std::size_t{1} << 30))
    throw UsageError("fec: receive buffer must hold one full block, " + std::to_string(one_block) +
                     " bytes, and at most 1 GiB (got " + std::to_string(limits.max_buffered_bytes) + ")");
  blocks_.resize(w);
}

FecDecoder::~FecDecoder() = default;

bool FecDecoder::is_fec(const std::uint8_t* d, std::size_t size) {
  if (size == 0) return false;
  if (d[0] == kFecMarkerData) return size > kFecDataHeader && d[5] < kFecMaxBlock - 1 && size - kFecDataHeader <= 0xffff;
  if (d[0] != kFecMarkerParity || size < kFecParityHeader + 3) return false;
  const std::size_t j = d[5], k = d[6], m = d[7];
  return k >= 1 && m >= 1 && k + m <= kFecMaxBlock && j < m && size - kFecParityHeader <= 0xffff + 2;
}

void FecDecoder::receive(const std::uint8_t* d, std::size_t size, const Deliver& deliver) {
  if (!is_fec(d, size)) {
    ++stats_.malformed;
    return;
  }
  const bool is_data = d[0] == kFecMarkerData;
  const std::uint32_t id = get_be32(d + 1);
  if (!have_newest_) {
    have_newest_ = true;
    newest_ = id;
  }
  const auto ahead = static_cast<std::int32_t>(id - newest_);
  if (ahead > 0) {
    newest_ = id;
  } else if (-static_cast<std::int64_t>(ahead) >= static_cast<std::int64_t>(limits_.window_blocks)) {
    if (-static_cast<std::int64_t>(ahead) < kResyncBlocks) {
      // Too old to recover anything; its packet is still worth passing on.
      ++stats_.late;
      ++stats_.received;
      if (is_data) {
        ++stats_.delivered;
        deliver(d + kFecDataHeader, size - kFecDataHeader);
      }
      return;
    }
    for (Block& b : blocks_) {
      give_up(b);
      b.in_use = false;
    }
    newest_ = id;
  }

  Block& block = block_for(id);
  if (is_data)
    on_data(block, d[5], d + kFecDataHeader, size - kFecDataHeader, deliver);
  else
    on_parity(block, d[5], d[6], d[7], d + kFecParityHeader, size - kFecParityHeader);
  try_recover(block, deliver);
}

FecDecoder::Block& FecDecoder::block_for(std::uint32_t id) {
  Block& b = blocks_[id & (limits_.window_blocks - 1)];
  if (!b.in_use || b.id != id) {
    give_up(b);  // an older block of the same slot, now out of the window
    b.start(id);
  }
  return b;
}

void FecDecoder::release(Block& b) {
  buffered_ -= b.arena.size();
  b.arena.clear();
  // A block far larger than usual (huge packets, or garbage) must not pin its memory forever.
  if (b.arena.capacity() > limits_.max_buffered_bytes / limits_.window_blocks) std::vector<std::uint8_t>().swap(b.arena);
  b.stored_data = b.stored_parity = 0;
  b.data_stored.reset();
  b.parity_stored.reset();
}

void FecDecoder::give_up(Block& b) {
  if (!b.in_use) return;
  if (!b.finished) {
    const bool missing = b.k != 0 ? b.delivered_count < b.k : b.index_end > b.delivered_count;
    if (missing) ++stats_.unrecoverable_blocks;
    b.finished = true;
  }
  release(b);
}

bool FecDecoder::store(Block& b, const std::uint8_t* prefix, std::size_t prefix_size, const std::uint8_t* data,
                       std::size_t size, std::uint32_t& offset) {
  const std::size_t need = prefix_size + size;
  while (buffered_ + need > limits_.max_buffered_bytes) {
    // Make room by dropping the oldest other block; the constructor guarantees one full block fits.
    Block* oldest = nullptr;
    std::uint32_t oldest_age = 0;
    for (Block& other : blocks_) {
      if (&other == &b || other.arena.empty()) continue;
      const std::uint32_t age = newest_ - other.id;
      if (oldest == nullptr || age > oldest_age) {
        oldest = &other;
        oldest_age = age;
      }
    }
    if (oldest == nullptr) return false;
    give_up(*oldest);
  }
  offset = static_cast<std::uint32_t>(b.arena.size());
  b.arena.insert(b.arena.end(), prefix, prefix + prefix_size);
  b.arena.insert(b.arena.end(), data, data + size);
  buffered_ += need;
  return true;
}

void FecDecoder::on_data(Block& b, std::size_t index, const std::uint8_t* packet, std::size_t size,
                         const Deliver& deliver) {
  if ((b.k != 0 && index >= b.k) || (b.coded_len != 0 && size + 2 > b.coded_len)) {
    ++stats_.malformed;  // contradicts the block's parity
    return;
  }
  ++stats_.received;
  if (b.delivered.test(index)) {
    ++stats_.duplicates;
    return;
  }
  b.delivered.set(index);
  ++b.delivered_count;
  b.index_end = std::max(b.index_end, index + 1);
  b.longest_coded = std::max(b.longest_coded, size + 2);
  ++stats_.delivered;
  deliver(packet, size);

  finish_if_complete(b);
  if (b.finished || size > limits_.max_packet) return;
  const std::uint8_t prefix[2] = {static_cast<std::uint8_t>(size >> 8), static_cast<std::uint8_t>(size)};
  if (store(b, prefix, 2, packet, size, b.data_offset[index])) {
    b.data_stored.set(index);
    b.data_size[index] = static_cast<std::uint32_t>(size + 2);
    ++b.stored_data;
  }
}

void FecDecoder::on_parity(Block& b, std::size_t j, std::size_t k, std::size_t m, const std::uint8_t* coded,
                           std::size_t coded_len) {
  if (b.k == 0) {
    // The first parity of a block fixes k, m and L; the data seen so far must fit them.
    if (b.index_end > k || b.longest_coded > coded_len) {
      ++stats_.malformed;
      return;
    }
    b.k = k;
    b.m = m;
    b.coded_len = coded_len;
  } else if (k != b.k || m != b.m || coded_len != b.coded_len) {
    ++stats_.malformed;
    return;
  }
  ++stats_.received;
  if (b.parity_seen.test(j)) {
    ++stats_.duplicates;
    return;
  }
  b.parity_seen.set(j);
  finish_if_complete(b);
  if (b.finished || coded_len > limits_.max_packet + 2) return;
  if (store(b, nullptr, 0, coded, coded_len, b.parity_offset[j])) {
    b.parity_stored.set(j);
    ++b.stored_parity;
  }
}

void FecDecoder::finish_if_complete(Block& b) {
  if (b.finished || b.k == 0 || b.delivered_count < b.k) return;
  b.finished = true;
  release(b);
}

void FecDecoder::try_recover(Block& b, const Deliver& deliver) {
  if (b.finished || b.k == 0) return;
  const std::size_t missing = b.k - b.delivered_count;
  // Every packet passed on must still be at hand (one too large to keep makes the block lost).
  if (b.stored_parity < missing || b.stored_data != b.delivered_count) return;

  std::array<std::uint8_t, kFecMaxBlock> lost{}, rows{};  // missing data indices, parity rows used
  std::size_t e = 0;
  for (std::size_t i = 0; i < b.k; ++i)
    if (!b.delivered.test(i)) lost[e++] = static_cast<std::uint8_t>(i);
  std::size_t r = 0;
  for (std::size_t j = 0; j < b.m && r < e; ++j)
    if (b.parity_stored.test(j)) rows[r++] = static_cast<std::uint8_t>(j);

  // parity_j - sum over received i of c(j, i) * packet_i = sum over lost s of c(j, s) * packet_s;
  // solve that e x e system.
  matrix_.resize(2 * e * e);
  std::uint8_t* a = matrix_.data();
  for (std::size_t x = 0; x < e; ++x)
    for (std::size_t y = 0; y < e; ++y) a[x * e + y] = coefficient(rows[x], lost[y]);
  if (!invert(a, a + e * e, e)) {
    ++stats_.inconsistent_blocks;
    b.finished = true;
    release(b);
    return;
  }

  const std::size_t len = b.coded_len;
  scratch_.resize(2 * e * len);
  std::uint8_t* syndromes = scratch_.data();
  std::uint8_t* rebuilt = scratch_.data() + e * len;
  for (std::size_t x = 0; x < e; ++x) {
    std::uint8_t* s = syndromes + x * len;
    std::memcpy(s, b.arena.data() + b.parity_offset[rows[x]], len);
    for (std::size_t i = 0; i < b.k; ++i)
      if (b.delivered.test(i)) mul_add(s, b.arena.data() + b.data_offset[i], b.data_size[i], coefficient(rows[x], i));
  }
  std::memset(rebuilt, 0, e * len);
  for (std::size_t y = 0; y < e; ++y)
    for (std::size_t x = 0; x < e; ++x) mul_add(rebuilt + y * len, syndromes + x * len, len, a[y * e + x]);

  // A sound rebuild has a length within L and zeros behind the packet; anything else means a
  // forged or corrupted datagram slipped in, and none of the block's rebuilt packets is trusted.
  for (std::size_t y = 0; y < e; ++y) {
    const std::uint8_t* p = rebuilt + y * len;
    const std::size_t size = (std::size_t{p[0]} << 8) | p[1];
    if (size == 0 || size + 2 > len || std::any_of(p + 2 + size, p + len, [](std::uint8_t v) { return v != 0; })) {
      ++stats_.inconsistent_blocks;
      b.finished = true;
      release(b);
      return;
    }
  }
  b.finished = true;
  release(b);
  for (std::size_t y = 0; y < e; ++y) {
    const std::uint8_t* p = rebuilt + y * len;
    b.delivered.set(lost[y]);
    ++b.delivered_count;
    ++stats_.recovered;
    deliver(p + 2, (std::size_t{p[0]} << 8) | p[1]);
  }
}

}  // namespace quictun::quic

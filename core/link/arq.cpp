#include "link/arq.hpp"

#include <algorithm>
#include <cstring>

#include "util/big_endian.hpp"
#include "util/error.hpp"

namespace quictun::link {

namespace {

// A sender that restarts (a new connection from the same address) begins at a new random
// number; a jump this large is taken as such a restart rather than as loss or delay.
constexpr std::int32_t kResync = 1 << 20;


// a - b in serial-number arithmetic: negative when a is older.
std::int32_t diff(std::uint32_t a, std::uint32_t b) { return static_cast<std::int32_t>(a - b); }

bool power_of_two(std::size_t n) { return n && (n & (n - 1)) == 0; }

}  // namespace

// ---------------------------------------------------------------------------------------------
// Sender

ArqSender::ArqSender(std::uint32_t first_number, std::size_t history)
    : mask_(history - 1), slots_(history), next_(first_number) {
  if (!power_of_two(history) || history > (1u << 20))
    throw UsageError("arq: history must be a power of two up to 2^20 (got " + std::to_string(history) + ")");
  // Not value-initialized: pages are only touched as the ring fills.
  store_.reset(new std::uint8_t[history * kArqMaxDatagram]);
}

void ArqSender::seal(std::uint8_t* d, std::size_t size, std::uint64_t now_ns) {
  const std::size_t total = size + kArqHeader;
  if (size < kArqMinSequenced || total > kArqMaxDatagram) {
    d[0] = kArqMarkerLight;
    put_be32(d + 1, next_ - 1);
    ++stats_.light;
    return;
  }
  const std::uint32_t number = next_++;
  d[0] = kArqMarkerSequenced;
  put_be32(d + 1, number);
  Slot& slot = slots_[number & mask_];
  slot.number = number;
  slot.size = static_cast<std::uint16_t>(total);
  slot.last_sent_ns = now_ns;
  std::memcpy(store_.get() + (number & mask_) * kArqMaxDatagram, d, total);
  ++stats_.sequenced;
}

void ArqSender::wrap(const std::uint8_t* packet, std::size_t size, std::uint64_t now_ns, DatagramBatch& out) {
  std::uint8_t* d = out.append(size + kArqHeader);
  std::memcpy(d + kArqHeader, packet, size);
  seal(d, size, now_ns);
}

void ArqSender::on_nack(const std::uint8_t* d, std::size_t size, std::uint64_t now_ns, const Send& send) {
  if (size < 3 || d[0] != kArqMarkerNack || d[1] < 1 || d[1] > 2 || d[2] == 0 || d[2] > kArqMaxRanges ||
      size != 3 + 5 * std::size_t{d[2]}) {
    ++stats_.malformed;
    return;
  }
  const std::size_t copies = d[1];
  const std::size_t ranges = d[2];
  d += 3;
  for (std::size_t r = 0; r < ranges; ++r) {
    if (d[5 * r + 4] == 0) {
      ++stats_.malformed;
      return;
    }
  }
  ++stats_.nacks;
  std::size_t budget = kArqMaxResendsPerNack;
  for (std::size_t r = 0; r < ranges; ++r) {
    const std::uint32_t first = get_be32(d + 5 * r);
    const std::size_t count = d[5 * r + 4];
    for (std::size_t i = 0; i < count; ++i) {
      const std::uint32_t number = first + static_cast<std::uint32_t>(i);
      Slot& slot = slots_[number & mask_];
      if (slot.size == 0 || slot.number != number || diff(number, next_) >= 0) {
        ++stats_.expired;
        continue;
      }
      // A NACK repeated faster than this is a duplicate or forged; the first resend is on its way.
      if (now_ns - slot.last_sent_ns < kArqResendGap) continue;
      slot.last_sent_ns = now_ns;
      for (std::size_t c = 0; c < copies; ++c) send(store_.get() + (number & mask_) * kArqMaxDatagram, slot.size);
      stats_.resent += copies;
      if (--budget == 0) return;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Receiver

ArqReceiver::ArqReceiver(std::size_t window, std::size_t max_held_bytes)
    : mask_(window - 1), max_held_bytes_(max_held_bytes), slots_(window) {
  if (!power_of_two(window) || window > (1u << 20))
    throw UsageError("arq: window must be a power of two up to 2^20 (got " + std::to_string(window) + ")");
}

std::uint64_t ArqReceiver::request_timeout_ns() const {
  std::uint64_t t;
  if (srtt_)
    t = std::max(srtt_ + 4 * rttvar_, srtt_ * 5 / 4);
  else if (rtt_hint_)
    t = rtt_hint_ * 3 / 2;
  else
    t = 200'000'000;
  // Floor and ceiling: a loopback path must not re-request every few microseconds, and a wild
  // sample must not stall a gap for seconds.
  return std::clamp<std::uint64_t>(t + 1'000'000, 2'000'000, 2'000'000'000);
}

void ArqReceiver::start(std::uint32_t n) {
  started_ = true;
  next_ = end_ = n;
  missing_.clear();
}

void ArqReceiver::mark_missing(std::uint32_t from, std::uint32_t to, std::uint64_t now_ns) {
  for (std::uint32_t n = from; n != to; ++n) {
    Slot& s = slot(n);
    s.number = n;
    s.present = false;
    s.missing = true;
    s.abandoned = s.skipped = false;
    s.nacks = 1;
    s.last_nack_ns = now_ns;
    missing_.push_back(n);
    to_request_.push_back(n);
  }
  if (from != to) deadline_ = std::min(deadline_, now_ns + request_timeout_ns());
}

void ArqReceiver::advance(const Deliver& deliver) {
  for (;;) {
    while (!lights_.empty() && diff(lights_.front().after, next_) < 0) {
      held_bytes_ -= lights_.front().bytes.size();
      deliver(lights_.front().bytes.data(), lights_.front().bytes.size());
      lights_.pop_front();
    }
    if (next_ == end_) return;
    Slot& s = slot(next_);
    if (!s.present) {
      if (s.abandoned) {
        s.abandoned = s.missing = false;
        s.skipped = true;
        ++next_;
        continue;
      }
      return;
    }
    held_bytes_ -= s.bytes.size();
    deliver(s.bytes.data(), s.bytes.size());
    s.present = false;
    s.bytes.clear();
    ++next_;
  }
}

void ArqReceiver::skip_head(const Deliver& deliver) {
  Slot& s = slot(next_);
  if (s.present) {
    held_bytes_ -= s.bytes.size();
    deliver(s.bytes.data(), s.bytes.size());
    s.present = false;
    s.bytes.clear();
  } else {
    if (!s.abandoned) ++stats_.given_up;
    s.skipped = true;
  }
  s.missing = s.abandoned = false;
  ++next_;
  advance(deliver);
}

void ArqReceiver::flush_all(const Deliver& deliver) {
  while (next_ != end_) skip_head(deliver);
  while (!lights_.empty()) {
    held_bytes_ -= lights_.front().bytes.size();
    deliver(lights_.front().bytes.data(), lights_.front().bytes.size());
    lights_.pop_front();
  }
  missing_.clear();
}

void ArqReceiver::receive(const std::uint8_t* d, std::size_t size, std::uint64_t now_ns, const Deliver& deliver,
                          const Send& send) {
  if ((d[0] != kArqMarkerSequenced && d[0] != kArqMarkerLight) || size <= kArqHeader) return;
  const std::uint32_t number = get_be32(d + 1);
  const std::uint8_t* packet = d + kArqHeader;
  const std::size_t packet_size = size - kArqHeader;
  const std::int32_t window = static_cast<std::int32_t>(mask_ + 1);

  if (d[0] == kArqMarkerLight) {
    ++stats_.light;
    const std::int32_t off = started_ ? diff(number, next_) : -1;
    if (off < 0 || off >= window) {
      deliver(packet, packet_size);
      return;
    }
    // It follows sequenced datagrams up to `number`: any of them not seen yet is a gap.
    if (diff(number, end_) >= 0) {
      mark_missing(end_, number + 1, now_ns);
      end_ = number + 1;
    }
    lights_.push_back({number, std::vector<std::uint8_t>(packet, packet + packet_size)});
    held_bytes_ += packet_size;
    ++stats_.held;
    send_nacks(send);
    return;
  }

  if (!started_) start(number);
  std::int32_t off = diff(number, next_);
  if (off < -kResync || off > kResync) {
    ++stats_.restarts;
    flush_all(deliver);
    start(number);
    off = 0;
  }
  if (off < 0) {  // behind the head: a copy of a delivered datagram, or a gap passed
    const Slot& old = slot(number);
    if (off >= -window && old.number == number && !old.skipped) {
      ++stats_.duplicates;
      return;
    }
    ++stats_.late;  // QUIC counted it lost, but still takes it
    deliver(packet, packet_size);
    return;
  }
  if (diff(number, end_) >= window) {
    // Longer than the window (an outage): what is missing cannot be repaired in order anyway.
    flush_all(deliver);
    start(number);
  }
  while (diff(number, next_) >= window) skip_head(deliver);

  Slot& s = slot(number);
  const bool known = diff(number, end_) < 0;
  if (known && (s.present || !s.missing || s.number != number)) {
    ++stats_.duplicates;
    return;
  }
  ++stats_.sequenced;
  if (known) {  // fills a gap
    ++stats_.repaired;
    if (s.nacks == 1) {
      const std::uint64_t sample = now_ns - s.last_nack_ns;
      if (!srtt_) {
        srtt_ = sample;
        rttvar_ = sample / 2;
      } else {
        const std::uint64_t dev = srtt_ > sample ? srtt_ - sample : sample - srtt_;
        rttvar_ = (3 * rttvar_ + dev) / 4;
        srtt_ = (7 * srtt_ + sample) / 8;
      }
    }
    s.missing = s.abandoned = false;
  } else {
    count_loss(number - end_, 1);
    mark_missing(end_, number, now_ns);
    end_ = number + 1;
    s.missing = false;
  }
  s.number = number;
  s.skipped = false;
  if (number == next_) {
    ++next_;
    deliver(packet, packet_size);
    advance(deliver);
  } else {
    s.present = true;
    s.bytes.assign(packet, packet + packet_size);
    held_bytes_ += packet_size;
    ++stats_.held;
    while (held_bytes_ > max_held_bytes_ && next_ != end_) skip_head(deliver);
  }
  send_nacks(send);
}

void ArqReceiver::count_loss(std::uint32_t lost, std::uint32_t arrived) {
  window_lost_ += lost;
  window_total_ += lost + arrived;
  if (window_total_ < 1000) return;
  const auto sample = static_cast<std::uint32_t>(std::uint64_t{window_lost_} * 1000 / window_total_);
  loss_permille_ = loss_permille_ ? (3 * loss_permille_ + sample) / 4 : sample;
  window_lost_ = window_total_ = 0;
}

void ArqReceiver::on_timer(std::uint64_t now_ns, const Deliver& deliver, const Send& send) {
  const std::uint64_t timeout = request_timeout_ns();
  std::deque<std::uint32_t> keep;
  for (std::uint32_t n : missing_) {
    Slot& s = slot(n);
    if (diff(n, next_) < 0 || s.number != n || !s.missing || s.abandoned) continue;
    if (now_ns >= s.last_nack_ns + timeout) {
      if (s.nacks == kArqMaxNacks) {
        s.abandoned = true;  // advance() skips it once it reaches the head
        ++stats_.given_up;
        continue;
      }
      ++s.nacks;
      s.last_nack_ns = now_ns;
      to_request_.push_back(n);
    }
    keep.push_back(n);
  }
  missing_.swap(keep);
  advance(deliver);
  send_nacks(send);
  deadline_ = kNever;
  for (std::uint32_t n : missing_) {
    const Slot& s = slots_[n & mask_];
    if (s.number == n && s.missing && !s.abandoned) deadline_ = std::min(deadline_, s.last_nack_ns + timeout);
  }
}

void ArqReceiver::send_nacks(const Send& send) {
  if (to_request_.empty()) return;
  std::uint8_t buf[3 + 5 * kArqMaxRanges];
  std::size_t ranges = 0;
  auto emit = [&] {
    buf[0] = kArqMarkerNack;
    // On a very lossy path a lost resend costs another round trip of waiting; two copies make
    // that loss rare for the price of one more datagram per loss.
    buf[1] = loss_permille_ >= kArqTwoCopiesPermille ? 2 : 1;
    buf[2] = static_cast<std::uint8_t>(ranges);
    // Sent twice: a lost request would cost a whole request timeout, a copy costs a few bytes
    // (the sender ignores the second).
    send(buf, 3 + 5 * ranges);
    send(buf, 3 + 5 * ranges);
    stats_.nacks_sent += 2;
    ranges = 0;
  };
  for (std::size_t i = 0; i < to_request_.size();) {
    const std::uint32_t first = to_request_[i];
    std::size_t count = 1;
    while (i + count < to_request_.size() && count < 255 && to_request_[i + count] == first + count) ++count;
    put_be32(buf + 3 + 5 * ranges, first);
    buf[3 + 5 * ranges + 4] = static_cast<std::uint8_t>(count);
    if (++ranges == kArqMaxRanges) emit();
    i += count;
  }
  if (ranges) emit();
  to_request_.clear();
}

}  // namespace quictun::link

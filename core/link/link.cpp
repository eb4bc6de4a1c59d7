#include "link/link.hpp"

#include <gnutls/crypto.h>
#include <spdlog/spdlog.h>

#include "util/clock.hpp"
#include "util/random.hpp"

namespace quictun::link {

Link::Link(event_base* loop, quic::UdpSocket& socket, bool arq_allowed, std::string log_name)
    : socket_(&socket), arq_allowed_(arq_allowed), log_name_(std::move(log_name)) {
  timer_.assign(loop, -1, 0, [this](short) { on_timer(); });
}

Link::~Link() {
  timer_.reset();
  if (!tx_) return;
  const auto& t = tx_->stats();
  const auto& r = rx_->stats();
  spdlog::info("{}: ARQ sent {} datagrams ({} light), resent {} on {} requests ({} expired); received {} ({} light), "
               "{} held, {} repaired, {} given up, {} late, {} duplicates, {} requests sent; repair RTT {:.1f} ms",
               log_name_, t.sequenced + t.light, t.light, t.resent, t.nacks, t.expired, r.sequenced + r.light, r.light,
               r.held, r.repaired, r.given_up, r.late, r.duplicates, r.nacks_sent, rx_->request_timeout_ns() / 1e6);
}

void Link::attach(PacketSink& sink, const SocketAddress& remote, const SocketAddress& local) {
  sink_ = &sink;
  set_path(remote, local);
}

void Link::detach() {
  sink_ = nullptr;
  timer_.del();
  timer_at_ = 0;
}

void Link::set_path(const SocketAddress& remote, const SocketAddress& local) {
  remote_ = remote;
  local_ = local;
}

void Link::start_arq() {
  std::uint32_t first = 0;
  random_bytes(std::span(reinterpret_cast<std::uint8_t*>(&first), sizeof first), GNUTLS_RND_NONCE);
  tx_ = std::make_unique<ArqSender>(first);
  if (!rx_) rx_ = std::make_unique<ArqReceiver>();
}

void Link::stop_repair() {
  repairing_ = false;
  timer_.del();
  timer_at_ = 0;
}

std::size_t Link::seal(std::uint8_t* datagram, std::size_t packet_size, std::uint64_t now_ns) {
  if (!tx_) return packet_size;
  tx_->seal(datagram, packet_size, now_ns);
  return packet_size + kArqHeader;
}

void Link::on_datagram(const quic::ReceivedDatagram& d) {
  ++datagrams_received_;
  bytes_received_ += d.size;
  if (!repairing_ || !is_arq(d.data, d.size)) {
    deliver(d.data, d.size, d.remote, d.local);
    return;
  }
  const std::uint64_t now = now_ns();
  if (d.data[0] == kArqMarkerNack) {
    // Resends go to the connection's validated path only, never to where the NACK came from.
    if (tx_) tx_->on_nack(d.data, d.size, now, [this](const std::uint8_t* p, std::size_t n) { send_to_peer(p, n); });
    return;
  }
  // The peer starts wrapping once its side of the handshake completes, which can be before
  // ours: the receiving half comes to life with its first datagram.
  if (!rx_ && arq_allowed_) rx_ = std::make_unique<ArqReceiver>();
  if (!rx_ || !sink_) return;
  if (rx_->needs_rtt_hint()) rx_->set_rtt_hint(sink_->min_rtt_ns());
  rx_->receive(
      d.data, d.size, now, [this, &d](const std::uint8_t* p, std::size_t n) { deliver(p, n, d.remote, d.local); },
      [this](const std::uint8_t* p, std::size_t n) { send_to_peer(p, n); });
  arm_timer();
}

void Link::deliver(const std::uint8_t* packet, std::size_t size, const SocketAddress& remote,
                   const SocketAddress& local) {
  if (sink_) sink_->on_packet(quic::ReceivedDatagram{packet, size, remote, local});
}

void Link::send_to_peer(const std::uint8_t* datagram, std::size_t size) {
  socket_->send(remote_, &local_, datagram, size, size);
}

void Link::on_timer() {
  timer_at_ = 0;
  if (!rx_ || !sink_ || !repairing_) return;
  if (rx_->needs_rtt_hint()) rx_->set_rtt_hint(sink_->min_rtt_ns());
  // A copy: a delivered packet can move the connection to another path, which set_path() records.
  const SocketAddress remote = remote_, local = local_;
  rx_->on_timer(
      now_ns(), [&](const std::uint8_t* p, std::size_t n) { deliver(p, n, remote, local); },
      [this](const std::uint8_t* p, std::size_t n) { send_to_peer(p, n); });
  arm_timer();
}

void Link::arm_timer() {
  const std::uint64_t at = rx_->deadline();
  if (at == ArqReceiver::kNever || !sink_ || !repairing_) return;
  if (timer_at_ && timer_at_ <= at) return;
  const std::uint64_t now = now_ns();
  timer_at_ = at;
  timer_.add_timeout_ns(at > now ? at - now : 0);
}

LinkStats Link::stats() const {
  LinkStats s;
  s.datagrams_received = datagrams_received_;
  s.bytes_received = bytes_received_;
  if (tx_) s.arq_resent = tx_->stats().resent;
  if (rx_) s.arq_repaired = rx_->stats().repaired;
  return s;
}

}  // namespace quictun::link

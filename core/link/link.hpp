// The link layer below QUIC: one Link per peer connection, between the UDP socket and the QUIC
// connection. Outbound, the connection writes each QUIC packet behind headroom() free bytes,
// seal() turns it into a datagram (an ARQ header when both peers chose ARQ) and send() hands
// datagrams to the socket. Inbound, the endpoint gives the link every datagram of its peer; the
// link answers NACKs itself, holds packets behind a gap until they are repaired, and hands QUIC
// packets up to its PacketSink (the connection) in order. Datagrams never travel back down.
//
// The endpoint owns a link next to its connection (the link outlives it), so the ARQ state
// follows the connection wherever its peer moves: the connection tells the link its current
// path, and NACKs and resends go only there.
#pragma once

#include <event2/event.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "link/arq.hpp"
#include "quic/udp_socket.hpp"
#include "util/event.hpp"

namespace quictun::link {

// What a link hands its packets to.
class PacketSink {
 public:
  virtual ~PacketSink() = default;
  // One QUIC packet, with the path its datagram came on. Valid only during the call.
  virtual void on_packet(const quic::ReceivedDatagram& packet) = 0;
  // A round-trip estimate (the connection's minimum RTT; 0 before a sample) for the link's
  // repair timers until repairs give samples of their own.
  virtual std::uint64_t min_rtt_ns() const = 0;
};

// A link's counters, for the connection's stats.
struct LinkStats {
  std::uint64_t datagrams_received = 0, bytes_received = 0;  // datagrams from the peer, as they came
  std::uint64_t arq_resent = 0;    // datagrams sent again on the peer's request
  std::uint64_t arq_repaired = 0;  // our gaps the peer filled
};

class Link {
 public:
  // Room every link may need in front of a QUIC packet: what a path's packet size must leave free.
  static constexpr std::size_t kMaxHeadroom = kArqHeader;

  // `arq_allowed`: whether this side takes ARQ datagrams at all (the peer wraps once the
  // handshake has chosen ARQ, possibly before our side has seen it complete).
  Link(event_base* loop, quic::UdpSocket& socket, bool arq_allowed, std::string log_name);
  ~Link();  // logs what ARQ did
  Link(const Link&) = delete;
  Link& operator=(const Link&) = delete;

  // The connection above, and its current path (where NACKs and resends go). detach() before
  // the sink goes away.
  void attach(PacketSink& sink, const SocketAddress& remote, const SocketAddress& local);
  void detach();
  void set_path(const SocketAddress& remote, const SocketAddress& local);
  // The address of the socket below (a client's connection starts its path there).
  const SocketAddress& local_address() const { return socket_->local_address(); }
  // The client moved to a new socket (migration); the old one is no longer written.
  void move_to(quic::UdpSocket& socket) { socket_ = &socket; }
  // Both peers chose ARQ in the handshake: every packet is wrapped from now on.
  void start_arq();
  // The connection reads no more packets (closing, draining, closed): datagrams go up as they
  // came, unrepaired, so that a closing connection can still answer them with its close, and
  // nothing is requested again.
  void stop_repair();

  // Outbound.
  std::size_t headroom() const { return tx_ ? kArqHeader : 0; }
  // `datagram` holds headroom() bytes and then a QUIC packet of `packet_size` bytes; fills the
  // room and returns the datagram's size.
  std::size_t seal(std::uint8_t* datagram, std::size_t packet_size, std::uint64_t now_ns);
  // Sealed datagrams (or a run of `segment`-byte ones, sent with GSO) to `to`.
  bool send(const SocketAddress& to, const SocketAddress* from, const std::uint8_t* data,
            std::size_t size, std::size_t segment) {
    return socket_->send(to, from, data, size, segment);
  }

  // Inbound: a datagram of this link's peer (plain QUIC or ARQ).
  void on_datagram(const quic::ReceivedDatagram& datagram);

  const char* kind() const { return tx_ ? "arq" : "plain"; }
  LinkStats stats() const;

 private:
  void deliver(const std::uint8_t* packet, std::size_t size, const SocketAddress& remote,
               const SocketAddress& local);
  void send_to_peer(const std::uint8_t* datagram, std::size_t size);
  void on_timer();
  void arm_timer();

  quic::UdpSocket* socket_;
  bool arq_allowed_;
  bool repairing_ = true;  // false after stop_repair()
  std::string log_name_;  // "client" / "server", for log lines
  PacketSink* sink_ = nullptr;
  SocketAddress remote_, local_;  // the connection's current path
  std::unique_ptr<ArqSender> tx_;       // set once ARQ is chosen
  std::unique_ptr<ArqReceiver> rx_;     // set with the peer's first ARQ datagram (or with tx_)
  Event timer_;                         // re-requests overdue datagrams
  std::uint64_t timer_at_ = 0;          // when timer_ fires (0: not armed)
  std::uint64_t datagrams_received_ = 0, bytes_received_ = 0;
};

}  // namespace quictun::link

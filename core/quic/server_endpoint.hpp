// The server's UDP endpoint: one socket, many QUIC connections routed by connection ID.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "quic/connection.hpp"

namespace quictun::quic {

class ServerEndpoint : private ConnectionObserver {
 public:
  // What the tunnel layer hears from the endpoint.
  class Listener {
   public:
    virtual ~Listener() = default;
    virtual void on_new_stream(Connection& connection, std::int64_t stream_id) = 0;
    // For the operator's counters: a handshake completed, or a connection ended (`reason`
    // empty when clean). Called before the connection is forgotten.
    virtual void on_handshake(Connection&) {}
    virtual void on_closed(Connection&, const std::string& /*reason*/) {}
  };

  ServerEndpoint(event_base* loop, const SocketAddress& listen, const TransportConfig& config,
                 const TlsServerContext& tls, Listener& listener, double test_drop_rate);
  ~ServerEndpoint() override;

  const SocketAddress& local_address() const { return socket_.local_address(); }
  std::size_t connection_count() const { return connections_.size(); }
  // Packets rebuilt from FEC parity, over every client so far.
  std::uint64_t fec_recovered() const {
    std::uint64_t n = fec_recovered_gone_;
    for (const auto& [peer, dec] : fec_decoders_) n += dec->stats().recovered;
    return n;
  }
  template <class F>
  void for_each_connection(F&& f) const {
    for (const auto& [raw, c] : connections_) f(static_cast<const Connection&>(*c));
  }
  // Sends CONNECTION_CLOSE to every client (on shutdown).
  void close_all();

 private:
  void on_readable();
  void on_datagram(const ReceivedDatagram& d);
  // Routes the QUIC packet `header` bytes into `d` (behind an ARQ header, say) to its connection.
  void route(const ReceivedDatagram& d, std::size_t header, Connection::Link link);
  void send_version_negotiation(const ReceivedDatagram& d, const ngtcp2_version_cid& vc);
  void on_handshake_done(Connection&) override;
  void on_remote_stream(Connection& c, std::int64_t id) override { listener_.on_new_stream(c, id); }
  void on_connection_id(Connection& c, const ngtcp2_cid& cid, bool added) override;
  void on_connection_closed(Connection& c, const std::string& reason) override;
  void reap();

  static std::string key(const std::uint8_t* data, std::size_t len) { return std::string(reinterpret_cast<const char*>(data), len); }

  event_base* loop_;
  TransportConfig config_;
  const TlsServerContext& tls_;
  Listener& listener_;
  UdpSocket socket_;
  std::array<std::uint8_t, 32> reset_secret_{};
  Event read_event_;
  Event reaper_;
  std::unordered_map<Connection*, std::unique_ptr<Connection>> connections_;
  std::unordered_map<std::string, Connection*> by_cid_;
  std::unordered_map<Connection*, std::vector<std::string>> cids_of_;  // to unmap them all at the end
  std::vector<std::unique_ptr<Connection>> graveyard_;
  // FEC decoders by client address (raw sockaddr bytes): parity datagrams carry no connection ID.
  std::unordered_map<std::string, std::unique_ptr<FecDecoder>> fec_decoders_;
  std::unordered_map<std::string, Connection*> by_peer_;  // routes ARQ NACKs, which carry no connection ID
  std::uint64_t fec_recovered_gone_ = 0;  // recovered by decoders already dropped
  std::uint64_t garbage_ = 0;  // undecodable datagrams, logged sparingly
};

}  // namespace quictun::quic

// The server's UDP endpoint: one socket, many QUIC connections routed by connection ID alone
// (a client whose address changes keeps its connection), and the gate new connections pass:
// limits, address validation by Retry under load, stateless resets for unknown connections.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "link/link.hpp"
#include "quic/connection.hpp"
#include "quic/rate_meter.hpp"
#include "util/rate_limited_log.hpp"

namespace quictun::quic {

// What the endpoint lets in; every field a key of quictun.toml's [server] table.
struct ServerLimits {
  std::size_t max_connections = 10000;            // QUIC connections open at once
  std::size_t max_connections_per_source = 256;   // ... from one IP address (a NAT hides many clients)
  std::size_t max_handshakes = 1000;              // connections whose handshake has not finished
  // Address validation by Retry (costs honest clients one round trip): always, never, or
  // automatic: for a source IP sending more new-connection Initials a second than
  // retry_source_rate, for everyone above retry_global_rate or with max_handshakes / 4 in flight.
  enum class Retry { automatic, always, never };
  Retry retry = Retry::automatic;
  double retry_source_rate = 10;    // Initials a second from one IP before its address is checked
  double retry_global_rate = 200;   // Initials a second from everyone before every address is checked
  double reset_rate = 100;          // stateless resets (and refusals) sent a second at most
};

// Counters for metrics; plain numbers, read at any time.
struct ServerEndpointStats {
  std::uint64_t retries_sent = 0;            // Retry packets (address validation) sent
  std::uint64_t retry_tokens_invalid = 0;    // Initials with a forged, stale or misaddressed Retry token
  std::uint64_t initials_dropped = 0;        // Initials that did not decrypt: no connection was kept
  std::uint64_t refused_connections = 0;     // max_connections reached
  std::uint64_t refused_per_source = 0;      // max_connections_per_source reached
  std::uint64_t refused_handshakes = 0;      // max_handshakes reached
  std::uint64_t resets_sent = 0;             // stateless resets for unknown connection IDs
  std::uint64_t resets_rate_limited = 0;     // resets (or refusals) not sent: over reset_rate
  std::uint64_t migrations = 0;              // a client's address changed under its connection
  std::uint64_t connections_accepted = 0;    // connections whose Initial decrypted
};

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
                 const ServerLimits& limits, const TlsServerContext& tls, Listener& listener, double test_drop_rate);
  ~ServerEndpoint() override;

  const SocketAddress& local_address() const { return socket_.local_address(); }
  std::size_t connection_count() const { return connections_.size(); }
  template <class F>
  void for_each_connection(F&& f) const {
    for (const auto& [raw, e] : connections_) f(static_cast<const Connection&>(*e.connection));
  }
  std::size_t handshakes_in_flight() const { return handshakes_; }
  const ServerEndpointStats& stats() const { return stats_; }
  // Sends CONNECTION_CLOSE to every client (on shutdown).
  void close_all();
  // Drops every new client's first packet from now on (drain); open connections carry on.
  void stop_accepting() { accepting_ = false; }
  // The intake the socket's datagrams go through, whole; public so that the fuzz harness
  // (tests/fuzz/server_intake.cpp) can feed it datagrams no peer could send on cue.
  void receive(const ReceivedDatagram& d) { on_datagram(d); }

 private:
  struct Entry {
    std::unique_ptr<link::Link> link;  // below the connection; declared first, so it goes last
    std::unique_ptr<Connection> connection;
    std::vector<std::string> cids;  // every ID mapped to it, to unmap them all at the end
    std::string source;             // the client's IP (source_key), for max_connections_per_source
    std::string peer;               // the client's address (peer_key), for ARQ NACKs
    bool handshaking = true;        // counted in handshakes_
  };

  void on_readable();
  void on_datagram(const ReceivedDatagram& d);
  // Routes the datagram `d`, whose QUIC packet starts `header` bytes in (behind an ARQ header,
  // say), by its connection ID to that connection's link.
  void route(const ReceivedDatagram& d, std::size_t header);
  void to_link(Connection* c, const ReceivedDatagram& d);  // the link passes its packets on to `c`
  // A long-header packet for no known connection: perhaps a new client.
  void admit(const ReceivedDatagram& d, const ReceivedDatagram& packet, const ngtcp2_version_cid& vc);
  // Whether an Initial without a valid token from `remote` must first prove its address.
  bool needs_retry(const SocketAddress& remote, std::uint64_t now);
  void send_retry(const ReceivedDatagram& packet, const ngtcp2_pkt_hd& hd, std::uint64_t now);
  // Answers an Initial with CONNECTION_CLOSE(CONNECTION_REFUSED, `why`), so a real client knows.
  void refuse(const ReceivedDatagram& packet, const ngtcp2_pkt_hd& hd, const std::string& why);
  void send_stateless_reset(const ReceivedDatagram& packet, const ngtcp2_version_cid& vc, std::size_t received);
  void send_version_negotiation(const ReceivedDatagram& d, const ngtcp2_version_cid& vc);
  void forget(Connection& c);  // unmaps it everywhere; the caller decides its fate
  void on_handshake_done(Connection&) override;
  void on_remote_stream(Connection& c, std::int64_t id) override { listener_.on_new_stream(c, id); }
  void on_connection_id(Connection& c, const ngtcp2_cid& cid, bool added) override;
  void on_path_changed(Connection& c, const SocketAddress& old_remote) override;
  void on_connection_closed(Connection& c, const std::string& reason) override;
  void reap();

  static std::string key(const std::uint8_t* data, std::size_t len) { return std::string(reinterpret_cast<const char*>(data), len); }

  event_base* loop_;
  TransportConfig config_;
  ServerLimits limits_;
  const TlsServerContext& tls_;
  Listener& listener_;
  UdpSocket socket_;
  std::array<std::uint8_t, 32> retry_secret_{};  // Retry tokens; random: they live seconds
  Event read_event_;
  Event reaper_;
  std::unordered_map<Connection*, Entry> connections_;
  std::unordered_map<std::string, Connection*> by_cid_;
  struct Remains {  // a closed connection and its link, freed from the loop, off their stack
    std::unique_ptr<link::Link> link;
    std::unique_ptr<Connection> connection;  // goes first
  };
  std::vector<Remains> graveyard_;
  std::unordered_map<std::string, Connection*> by_peer_;  // routes ARQ NACKs, which carry no connection ID
  std::unordered_map<std::string, std::size_t> per_source_;  // open connections by client IP
  std::size_t handshakes_ = 0;
  RateMeters source_initials_;  // new-connection Initials a second, by client IP
  RateMeter global_initials_;
  RateMeter resets_;            // what the server sends to unvalidated addresses, beyond Retry
  ServerEndpointStats stats_;
  RateLimitedLog log_;          // refusals, drops, resets: anyone can cause them at any rate
  bool accepting_ = true;      // false while draining: new clients are refused
  std::uint64_t garbage_ = 0;   // undecodable datagrams, logged sparingly
};

}  // namespace quictun::quic

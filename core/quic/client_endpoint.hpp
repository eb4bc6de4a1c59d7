// The client's UDP endpoint: one connected socket and the one QUIC connection it carries.
// Mirrors ServerEndpoint: datagrams go socket -> endpoint (FEC repair) -> connection; the
// connection reports to the observer the endpoint was given.
#pragma once

#include <array>
#include <cstdint>
#include <memory>

#include "quic/connection.hpp"
#include "quic/fec.hpp"
#include "quic/tls.hpp"
#include "quic/udp_socket.hpp"
#include "util/event.hpp"

namespace quictun::quic {

class ClientEndpoint {
 public:
  // Opens a socket to `remote` and starts the handshake. Throws RuntimeError.
  ClientEndpoint(event_base* loop, const SocketAddress& remote, const TransportConfig& config,
                 const TlsClientContext& tls, ConnectionObserver& observer, double test_drop_rate);
  ~ClientEndpoint();
  ClientEndpoint(const ClientEndpoint&) = delete;
  ClientEndpoint& operator=(const ClientEndpoint&) = delete;

  Connection& connection() { return *connection_; }
  const Connection& connection() const { return *connection_; }
  const FecDecoderStats& fec_stats() const { return fec_.stats(); }
  // Stops reading: the connection has closed, its datagrams mean nothing any more.
  void stop() { read_event_.del(); }

 private:
  void on_readable();

  UdpSocket socket_;
  std::array<std::uint8_t, 32> reset_secret_{};  // stateless reset tokens of our connection IDs
  FecDecoder fec_;                                // repairs the server's FEC datagrams (plain ones bypass it)
  Event read_event_;
  std::unique_ptr<Connection> connection_;
};

}  // namespace quictun::quic

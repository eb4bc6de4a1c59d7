// The client's UDP endpoint: one connected socket and the one QUIC connection it carries.
// Mirrors ServerEndpoint: datagrams go socket -> link -> connection; the
// connection reports to the observer the endpoint was given. When the machine's address
// towards the server changes (another network, a new DHCP lease), the endpoint opens a socket
// on the new address and moves the connection there (QUIC connection migration).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "link/link.hpp"
#include "quic/connection.hpp"
#include "quic/tls.hpp"
#include "quic/udp_socket.hpp"
#include "util/event.hpp"

namespace quictun::quic {

class ClientEndpoint {
 public:
  // Opens a socket to `remote` and starts the handshake. Throws RuntimeError.
  // `test_rebind_every_ms` > 0 (tests only) moves to a new local port that often.
  ClientEndpoint(event_base* loop, const SocketAddress& remote, const TransportConfig& config,
                 const TlsClientContext& tls, ConnectionObserver& observer, double test_drop_rate,
                 std::uint64_t test_rebind_every_ms = 0);
  ~ClientEndpoint();
  ClientEndpoint(const ClientEndpoint&) = delete;
  ClientEndpoint& operator=(const ClientEndpoint&) = delete;

  Connection& connection() { return *connection_; }
  const Connection& connection() const { return *connection_; }
  std::uint64_t migrations() const { return migrations_; }
  // Stops reading: the connection has closed, its datagrams mean nothing any more.
  void stop() {
    read_event_.del();
    watch_.del();
  }

 private:
  void on_readable();
  void check_address();                  // has the kernel's source address towards the server changed?
  void move_to_new_socket(const std::string& why);

  event_base* loop_;
  SocketAddress remote_;
  double test_drop_rate_;
  std::uint64_t rebind_every_ms_;
  std::unique_ptr<UdpSocket> socket_;
  std::vector<std::unique_ptr<UdpSocket>> old_sockets_;  // closed with the endpoint: late packets find a socket
  std::array<std::uint8_t, 32> reset_secret_{};  // stateless reset tokens of our connection IDs
  Event read_event_;
  Event watch_;                                   // check_address() once a second
  std::uint64_t migrations_ = 0;
  std::string failed_move_;                       // why the last move failed, so it is logged once
  std::unique_ptr<link::Link> link_;              // below the connection, which goes first
  std::unique_ptr<Connection> connection_;
};

}  // namespace quictun::quic

#include "quic/client_endpoint.hpp"

#include <cerrno>

#include "util/random.hpp"

namespace quictun::quic {

ClientEndpoint::ClientEndpoint(event_base* loop, const SocketAddress& remote, const TransportConfig& config,
                               const TlsClientContext& tls, ConnectionObserver& observer, double test_drop_rate)
    : socket_(UdpSocket::connect(remote)) {
  random_bytes(reset_secret_, GNUTLS_RND_KEY);
  if (test_drop_rate > 0) socket_.set_drop_rate(test_drop_rate, 2);
  read_event_.assign(loop, socket_.fd(), EV_READ | EV_PERSIST, [this](short) { on_readable(); });
  connection_ = Connection::connect(Connection::Endpoint{loop, &socket_, reset_secret_.data(), "client"}, config, tls,
                                    remote, observer);
  read_event_.add();
}

ClientEndpoint::~ClientEndpoint() {
  // The connection sends through the socket until its last moment: it goes first.
  read_event_.reset();
  connection_.reset();
}

void ClientEndpoint::on_readable() {
  socket_.receive([this](const ReceivedDatagram& d) {
    if (!FecDecoder::is_fec(d.data, d.size)) {
      connection_->on_datagram(d);
      return;
    }
    fec_.receive(d.data, d.size, [&](const std::uint8_t* packet, std::size_t size) {
      connection_->on_datagram(ReceivedDatagram{packet, size, d.remote, d.local});
    });
  });
  if (socket_.take_error() == ECONNREFUSED && !connection_->handshake_done()) {
    // ICMP port unreachable: nothing listens there; no need to wait for the handshake timeout.
    connection_->abandon("connection refused (is quictun-server running there?)");
  }
}

}  // namespace quictun::quic

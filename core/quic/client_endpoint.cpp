#include "quic/client_endpoint.hpp"

#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <optional>

#include "util/fd.hpp"
#include "util/random.hpp"

namespace quictun::quic {
namespace {
constexpr std::uint64_t kWatchMs = 1000;

// The source address the kernel picks towards `remote` now (routing, interface addresses);
// nullopt when it cannot say (no route at the moment).
std::optional<SocketAddress> current_source(const SocketAddress& remote) {
  Fd probe(::socket(remote.family(), SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!probe || ::connect(probe.get(), remote.sa(), remote.len) != 0) return std::nullopt;
  SocketAddress local;
  local.len = sizeof local.storage;
  if (getsockname(probe.get(), local.sa(), &local.len) != 0) return std::nullopt;
  return local;
}

bool same_ip(const SocketAddress& a, const SocketAddress& b) {
  if (a.family() != b.family()) return false;
  if (a.family() == AF_INET)
    return reinterpret_cast<const sockaddr_in*>(a.sa())->sin_addr.s_addr ==
           reinterpret_cast<const sockaddr_in*>(b.sa())->sin_addr.s_addr;
  return std::memcmp(&reinterpret_cast<const sockaddr_in6*>(a.sa())->sin6_addr,
                     &reinterpret_cast<const sockaddr_in6*>(b.sa())->sin6_addr, sizeof(in6_addr)) == 0;
}
}  // namespace

ClientEndpoint::ClientEndpoint(event_base* loop, const SocketAddress& remote, const TransportConfig& config,
                               const TlsClientContext& tls, ConnectionObserver& observer, double test_drop_rate,
                               std::uint64_t test_rebind_every_ms)
    : loop_(loop),
      remote_(remote),
      test_drop_rate_(test_drop_rate),
      rebind_every_ms_(test_rebind_every_ms),
      socket_(std::make_unique<UdpSocket>(UdpSocket::connect(remote))) {
  random_bytes(reset_secret_, GNUTLS_RND_KEY);
  if (test_drop_rate > 0) socket_->set_drop_rate(test_drop_rate, 2);
  read_event_.assign(loop, socket_->fd(), EV_READ | EV_PERSIST, [this](short) { on_readable(); });
  link_ = std::make_unique<link::Link>(loop, *socket_, config.arq, "client");
  connection_ = Connection::connect(Connection::Endpoint{loop, link_.get(), reset_secret_.data(), "client"}, config,
                                    tls, remote, observer);
  read_event_.add();
  watch_.assign(loop, -1, 0, [this](short) {
    if (rebind_every_ms_)
      move_to_new_socket("testing: moving to a new local port every " + std::to_string(rebind_every_ms_) + " ms");
    else
      check_address();
    watch_.add_timeout_ms(rebind_every_ms_ ? rebind_every_ms_ : kWatchMs);
  });
  watch_.add_timeout_ms(rebind_every_ms_ ? rebind_every_ms_ : kWatchMs);
}

ClientEndpoint::~ClientEndpoint() {
  // The connection sends through the socket until its last moment: it goes first.
  read_event_.reset();
  watch_.reset();
  connection_.reset();
}

void ClientEndpoint::check_address() {
  if (!connection_->usable()) return;
  const auto now = current_source(remote_);
  if (!now || same_ip(*now, socket_->local_address())) return;
  move_to_new_socket("local address changed from " + socket_->local_address().ip_string() + " to " + now->ip_string());
}

void ClientEndpoint::move_to_new_socket(const std::string& why) {
  if (!connection_->usable()) return;
  std::unique_ptr<UdpSocket> fresh;
  try {
    fresh = std::make_unique<UdpSocket>(UdpSocket::connect(remote_));
  } catch (const std::exception& e) {
    spdlog::warn("client: {}; cannot open a new socket: {}", why, e.what());
    return;
  }
  if (test_drop_rate_ > 0) fresh->set_drop_rate(test_drop_rate_, 2 + migrations_ + 1);
  if (!connection_->migrate(fresh->local_address())) {
    // Tried again each second (a spare connection ID may arrive); said once.
    if (why != failed_move_)
      spdlog::warn("client: {}; the connection cannot move yet (the server refuses migration or has given no "
                   "spare connection ID); still using {}", why, socket_->local_address().to_string());
    failed_move_ = why;
    return;
  }
  link_->move_to(*fresh);
  failed_move_.clear();
  ++migrations_;
  spdlog::info("client: {}; connection moved to {}", why, fresh->local_address().to_string());
  read_event_.del();
  // The old socket stays open (but unread) until the endpoint ends: closing it would make the
  // kernel answer the server's last packets to it with ICMP errors. Only the latest few are kept.
  old_sockets_.push_back(std::move(socket_));
  if (old_sockets_.size() > 4) old_sockets_.erase(old_sockets_.begin());
  socket_ = std::move(fresh);
  read_event_.assign(loop_, socket_->fd(), EV_READ | EV_PERSIST, [this](short) { on_readable(); });
  read_event_.add();
}

void ClientEndpoint::on_readable() {
  socket_->receive([this](const ReceivedDatagram& d) { link_->on_datagram(d); });
  if (socket_->take_error() == ECONNREFUSED && !connection_->handshake_done()) {
    // ICMP port unreachable: nothing listens there; no need to wait for the handshake timeout.
    connection_->abandon("connection refused (is quictun-server running there?)");
  }
}

}  // namespace quictun::quic

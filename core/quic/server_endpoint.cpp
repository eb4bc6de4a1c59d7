#include "quic/server_endpoint.hpp"

#include <spdlog/spdlog.h>

#include "util/random.hpp"

namespace quictun::quic {
namespace {
constexpr std::size_t kCidLength = 16;  // the length Connection gives its own connection IDs
constexpr std::size_t kMaxFecPeers = 4096;

std::string peer_key(const SocketAddress& a) { return std::string(reinterpret_cast<const char*>(&a.storage), a.len); }
}

ServerEndpoint::ServerEndpoint(event_base* loop, const SocketAddress& listen, const TransportConfig& config,
                               const TlsServerContext& tls, Listener& listener, double test_drop_rate)
    : loop_(loop), config_(config), tls_(tls), listener_(listener), socket_(UdpSocket::bind(listen)) {
  random_bytes(reset_secret_, GNUTLS_RND_KEY);
  if (test_drop_rate > 0) socket_.set_drop_rate(test_drop_rate, 1);
  read_event_.assign(loop, socket_.fd(), EV_READ | EV_PERSIST, [this](short) { on_readable(); });
  read_event_.add();
  reaper_.assign(loop, -1, 0, [this](short) { reap(); });
}

ServerEndpoint::~ServerEndpoint() {
  read_event_.reset();
  reaper_.reset();
  graveyard_.clear();
  connections_.clear();
}

void ServerEndpoint::close_all() {
  std::vector<Connection*> all;
  for (auto& [c, owned] : connections_) all.push_back(c);
  for (auto* c : all) c->close(kAppNoError, "server shutting down");
}

void ServerEndpoint::on_readable() {
  socket_.receive([this](const ReceivedDatagram& d) { on_datagram(d); });
}

void ServerEndpoint::on_datagram(const ReceivedDatagram& d) {
  if (is_arq(d.data, d.size)) {
    if (d.data[0] != kArqMarkerNack) {
      route(d, kArqHeader, Connection::Link::plain);
      return;
    }
    // A NACK carries no QUIC packet, hence no connection ID: it belongs to the peer's connection.
    auto it = by_peer_.find(peer_key(d.remote));
    if (it != by_peer_.end()) it->second->on_datagram(d);
    return;
  }
  if (!FecDecoder::is_fec(d.data, d.size)) {
    route(d, 0, Connection::Link::plain);
    return;
  }
  std::string peer = peer_key(d.remote);
  auto it = fec_decoders_.find(peer);
  if (it == fec_decoders_.end()) {
    // A flood of FEC-looking datagrams from many addresses must not grow memory without bound.
    if (fec_decoders_.size() >= kMaxFecPeers) {
      for (const auto& [p, dec] : fec_decoders_) fec_recovered_gone_ += dec->stats().recovered;
      fec_decoders_.clear();
    }
    it = fec_decoders_.emplace(peer, std::make_unique<FecDecoder>()).first;
  }
  FecDecoder* dec = it->second.get();
  dec->receive(d.data, d.size, [&](const std::uint8_t* packet, std::size_t size) {
    route(ReceivedDatagram{packet, size, d.remote, d.local}, 0, Connection::Link::fec);
  });
}

void ServerEndpoint::route(const ReceivedDatagram& d, std::size_t header, Connection::Link link) {
  // ngtcp2 asserts on an empty packet (ngtcp2_pkt_decode_version_cid: `datalen`): a datagram
  // that is nothing but an ARQ or FEC header, which anyone can send, aborted the server.
  if (d.size <= header) {
    if ((garbage_++ & 1023) == 0)
      spdlog::debug("server: ignoring {} undecodable datagram(s), latest from {}", garbage_, d.remote.to_string());
    return;
  }
  const ReceivedDatagram packet{d.data + header, d.size - header, d.remote, d.local};
  ngtcp2_version_cid vc;
  int rv = ngtcp2_pkt_decode_version_cid(&vc, packet.data, packet.size, kCidLength);
  if (rv == NGTCP2_ERR_VERSION_NEGOTIATION) {
    send_version_negotiation(packet, vc);
    return;
  }
  if (rv != 0) {
    if ((garbage_++ & 1023) == 0)
      spdlog::debug("server: ignoring {} undecodable datagram(s), latest from {}", garbage_, d.remote.to_string());
    return;
  }
  auto it = by_cid_.find(key(vc.dcid, vc.dcidlen));
  if (it != by_cid_.end()) {
    it->second->on_datagram(d);
    return;
  }
  // Unknown connection ID: only a client's first Initial may start a connection, and a client
  // wraps nothing in ARQ before the handshake has chosen it.
  std::unique_ptr<Connection> conn;
  if (header == 0)
    conn = Connection::accept(
      Connection::Endpoint{loop_, &socket_, reset_secret_.data(), "server"}, config_, tls_, packet, *this, link);
  if (!conn) {
    if ((garbage_++ & 1023) == 0)
      spdlog::debug("server: ignoring {} stray packet(s), latest from {}", garbage_, d.remote.to_string());
    return;
  }
  Connection* c = conn.get();
  connections_[c] = std::move(conn);
  // The client keeps using the original destination ID until it hears from us.
  std::string original = key(vc.dcid, vc.dcidlen);
  by_cid_[original] = c;
  cids_of_[c].push_back(original);
  for (const auto& cid : c->connection_ids()) on_connection_id(*c, cid, true);
  by_peer_[peer_key(d.remote)] = c;
  spdlog::debug("server: new QUIC connection from {}", d.remote.to_string());
  c->on_datagram(d);
}

void ServerEndpoint::send_version_negotiation(const ReceivedDatagram& d, const ngtcp2_version_cid& vc) {
  std::uint8_t buf[NGTCP2_MAX_UDP_PAYLOAD_SIZE];
  std::uint32_t versions[] = {NGTCP2_PROTO_VER_V1};
  // The first byte's unused bits should look random (RFC 8999); a failure here costs only that.
  std::uint8_t unused = 0;
  try {
    random_bytes(std::span(&unused, 1), GNUTLS_RND_NONCE);
  } catch (const RuntimeError& e) {
    spdlog::debug("server: version negotiation without random bits: {}", e.what());
  }
  ngtcp2_ssize n = ngtcp2_pkt_write_version_negotiation(buf, sizeof buf, unused, vc.scid, vc.scidlen, vc.dcid,
                                                        vc.dcidlen, versions, 1);
  if (n > 0) socket_.send(d.remote, &d.local, buf, static_cast<std::size_t>(n), static_cast<std::size_t>(n));
}

void ServerEndpoint::on_handshake_done(Connection& c) {
  spdlog::info("server: client {} connected{}", c.remote().to_string(),
               c.peer_certificate().empty() ? std::string() : " as \"" + c.peer_certificate() + "\"");
  listener_.on_handshake(c);
}

void ServerEndpoint::on_connection_id(Connection& c, const ngtcp2_cid& cid, bool added) {
  std::string k = key(cid.data, cid.datalen);
  if (added) {
    by_cid_[k] = &c;
    cids_of_[&c].push_back(k);
  } else {
    auto it = by_cid_.find(k);
    if (it != by_cid_.end() && it->second == &c) by_cid_.erase(it);
  }
}

void ServerEndpoint::on_connection_closed(Connection& c, const std::string& reason) {
  if (reason.empty() || reason == "closed by peer")
    spdlog::info("server: client {} disconnected", c.remote().to_string());
  else
    spdlog::info("server: client {} disconnected: {}", c.remote().to_string(), reason);
  listener_.on_closed(c, reason);
  for (const auto& k : cids_of_[&c]) {
    auto it = by_cid_.find(k);
    if (it != by_cid_.end() && it->second == &c) by_cid_.erase(it);
  }
  cids_of_.erase(&c);
  const std::string peer = peer_key(c.remote());
  if (auto f = fec_decoders_.find(peer); f != fec_decoders_.end()) {
    fec_recovered_gone_ += f->second->stats().recovered;
    fec_decoders_.erase(f);
  }
  auto p = by_peer_.find(peer);
  if (p != by_peer_.end() && p->second == &c) by_peer_.erase(p);
  auto it = connections_.find(&c);
  if (it != connections_.end()) {
    graveyard_.push_back(std::move(it->second));
    connections_.erase(it);
    reaper_.activate();
  }
}

void ServerEndpoint::reap() { graveyard_.clear(); }

}  // namespace quictun::quic

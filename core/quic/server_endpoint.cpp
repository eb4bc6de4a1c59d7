#include "quic/server_endpoint.hpp"

#include <netinet/in.h>
#include <ngtcp2/ngtcp2_crypto.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "util/clock.hpp"
#include "util/random.hpp"

namespace quictun::quic {
namespace {
constexpr std::size_t kCidLength = Connection::kConnectionIdLength;
constexpr std::uint8_t kLongHeaderBit = 0x80;  // RFC 9000 17.2: the first bit of a long header
constexpr std::size_t kMaxTrackedSources = 65536;       // per-IP rate meters kept at most
constexpr std::uint64_t kRetryTokenLifetimeNs = 10'000'000'000ull;
constexpr std::size_t kMinResetSize = 1 + NGTCP2_MIN_STATELESS_RESET_RANDLEN + NGTCP2_STATELESS_RESET_TOKENLEN;

std::string peer_key(const SocketAddress& a) { return std::string(reinterpret_cast<const char*>(&a.storage), a.len); }

// The client's IP without its port: what a per-source limit counts (a NAT rebinding or a
// client's many sockets are one source).
std::string source_key(const SocketAddress& a) {
  if (a.family() == AF_INET) {
    const auto& in = reinterpret_cast<const sockaddr_in*>(a.sa())->sin_addr;
    return std::string(reinterpret_cast<const char*>(&in), sizeof in);
  }
  if (a.family() == AF_INET6) {
    const auto& in6 = reinterpret_cast<const sockaddr_in6*>(a.sa())->sin6_addr;
    return std::string(reinterpret_cast<const char*>(&in6), sizeof in6);
  }
  return peer_key(a);
}

ngtcp2_cid to_cid(const std::uint8_t* data, std::size_t len) {
  ngtcp2_cid cid;
  ngtcp2_cid_init(&cid, data, len);
  return cid;
}
}  // namespace

ServerEndpoint::ServerEndpoint(event_base* loop, const SocketAddress& listen, const TransportConfig& config,
                               const ServerLimits& limits, const TlsServerContext& tls, Listener& listener,
                               double test_drop_rate)
    : loop_(loop),
      config_(config),
      limits_(limits),
      tls_(tls),
      listener_(listener),
      socket_(UdpSocket::bind(listen)),
      source_initials_(limits.retry_source_rate, kMaxTrackedSources),
      global_initials_(limits.retry_global_rate),
      resets_(limits.reset_rate),
      log_(loop, "server") {
  random_bytes(retry_secret_, GNUTLS_RND_KEY);
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
  for (auto& [c, e] : connections_) all.push_back(c);
  for (auto* c : all) c->close(kAppNoError, "server shutting down");
}

void ServerEndpoint::on_readable() {
  socket_.receive([this](const ReceivedDatagram& d) { on_datagram(d); });
}

void ServerEndpoint::on_datagram(const ReceivedDatagram& d) {
  if (link::is_arq(d.data, d.size)) {
    if (d.data[0] != link::kArqMarkerNack) {
      route(d, link::kArqHeader);
      return;
    }
    // A NACK carries no QUIC packet, hence no connection ID: it belongs to the peer's connection.
    auto it = by_peer_.find(peer_key(d.remote));
    if (it != by_peer_.end()) to_link(it->second, d);
    return;
  }
  route(d, 0);
}

void ServerEndpoint::route(const ReceivedDatagram& d, std::size_t header) {
  // ngtcp2 asserts on an empty packet (ngtcp2_pkt_decode_version_cid: `datalen`): a datagram
  // that is nothing but an ARQ header, which anyone can send, aborted the server.
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
  // The connection ID alone finds the connection: its client may be at a new address (NAT
  // rebinding), which ngtcp2 validates once it sees the packet on the new path.
  auto it = by_cid_.find(key(vc.dcid, vc.dcidlen));
  if (it != by_cid_.end()) {
    to_link(it->second, d);
    return;
  }
  if (!(packet.data[0] & kLongHeaderBit)) {
    // A short header for a connection we do not have (we restarted, or it closed): tell the
    // client now, instead of leaving it to wait out its idle timeout.
    send_stateless_reset(packet, vc, d.size);
    return;
  }
  // Only a client's first Initial may start a connection, and a client wraps nothing in ARQ
  // before the handshake has chosen it.
  if (header != 0) return;
  admit(d, packet, vc);
}

void ServerEndpoint::to_link(Connection* c, const ReceivedDatagram& d) {
  if (auto it = connections_.find(c); it != connections_.end()) it->second.link->on_datagram(d);
}

void ServerEndpoint::admit(const ReceivedDatagram& d, const ReceivedDatagram& packet, const ngtcp2_version_cid& vc) {
  ngtcp2_pkt_hd hd;
  if (ngtcp2_accept(&hd, packet.data, packet.size) != 0) {
    if ((garbage_++ & 1023) == 0)
      spdlog::debug("server: ignoring {} stray packet(s), latest from {}", garbage_, d.remote.to_string());
    return;
  }
  const std::uint64_t now = now_ns();
  const std::string who = d.remote.to_string();
  const std::string source = source_key(d.remote);
  // Refusals first: they hold whatever the client proves.
  if (!accepting_) {
    log_.event("connection refused: the server is shutting down", who);
    refuse(packet, hd, "server shutting down");
    return;
  }
  if (connections_.size() >= limits_.max_connections) {
    ++stats_.refused_connections;
    log_.event("connection refused: max_connections (" + std::to_string(limits_.max_connections) + ") reached", who);
    refuse(packet, hd, "server at its connection limit");
    return;
  }
  if (auto s = per_source_.find(source); s != per_source_.end() && s->second >= limits_.max_connections_per_source) {
    ++stats_.refused_per_source;
    log_.event("connection refused: max_connections_per_source (" + std::to_string(limits_.max_connections_per_source) +
                   ") reached",
               who);
    refuse(packet, hd, "too many connections from this address");
    return;
  }
  if (handshakes_ >= limits_.max_handshakes) {
    // No refusal sent: a client retries its Initial, and by then a slot may be free.
    ++stats_.refused_handshakes;
    log_.event("Initial dropped: max_handshakes (" + std::to_string(limits_.max_handshakes) + ") in flight", who);
    return;
  }
  ngtcp2_cid odcid;
  const ngtcp2_cid* retried = nullptr;
  if (hd.tokenlen && hd.token[0] == NGTCP2_CRYPTO_TOKEN_MAGIC_RETRY) {
    if (ngtcp2_crypto_verify_retry_token(&odcid, hd.token, hd.tokenlen, retry_secret_.data(), retry_secret_.size(),
                                         hd.version, d.remote.sa(), d.remote.len, &hd.dcid, kRetryTokenLifetimeNs,
                                         now) != 0) {
      ++stats_.retry_tokens_invalid;
      log_.event("Initial dropped: invalid Retry token", who);
      return;
    }
    retried = &odcid;  // the address is proven
  } else if (needs_retry(d.remote, now)) {
    send_retry(packet, hd, now);
    return;
  }
  auto wire = std::make_unique<link::Link>(loop_, socket_, config_.arq, "server");
  std::unique_ptr<Connection> conn = Connection::accept(
      Connection::Endpoint{loop_, wire.get(), tls_.reset_secret().data(), "server"}, config_, tls_, packet, *this,
      retried);
  if (!conn) return;
  Connection* c = conn.get();
  Entry& e = connections_[c];
  e.link = std::move(wire);
  e.connection = std::move(conn);
  e.source = source;
  e.peer = peer_key(d.remote);
  // The client keeps using the original destination ID until it hears from us.
  std::string original = key(vc.dcid, vc.dcidlen);
  by_cid_[original] = c;
  e.cids.push_back(original);
  for (const auto& cid : c->connection_ids()) on_connection_id(*c, cid, true);
  by_peer_[e.peer] = c;
  ++per_source_[source];
  ++handshakes_;
  e.link->on_datagram(d);
  // ngtcp2 drops a connection whose first Initial did not decrypt (on_connection_closed counts
  // it); one that only buffered undecryptable bytes is dropped here. Either way no connection
  // is kept and nothing is logged per packet, so a flood of them costs neither memory nor disk.
  auto kept = connections_.find(c);
  if (kept == connections_.end()) return;
  if (!c->initial_decrypted()) {
    ++stats_.initials_dropped;
    log_.event("undecryptable Initial dropped", who);
    graveyard_.push_back(Remains{std::move(kept->second.link), std::move(kept->second.connection)});
    forget(*c);
    reaper_.activate();
    return;
  }
  ++stats_.connections_accepted;
  spdlog::debug("server: new QUIC connection from {}{}", who, retried ? " (address validated by Retry)" : "");
}

bool ServerEndpoint::needs_retry(const SocketAddress& remote, std::uint64_t now) {
  switch (limits_.retry) {
    case ServerLimits::Retry::always: return true;
    case ServerLimits::Retry::never: return false;
    case ServerLimits::Retry::automatic: break;
  }
  // Both meters see every Initial, so a source over its rate stays over it while it floods.
  const bool source_ok = source_initials_.take(source_key(remote), now);
  const bool global_ok = global_initials_.take(now);
  return !source_ok || !global_ok || handshakes_ >= std::max<std::size_t>(1, limits_.max_handshakes / 4);
}

void ServerEndpoint::send_retry(const ReceivedDatagram& packet, const ngtcp2_pkt_hd& hd, std::uint64_t now) {
  ngtcp2_cid retry_scid;
  retry_scid.datalen = kCidLength;
  random_bytes(std::span(retry_scid.data, retry_scid.datalen), GNUTLS_RND_NONCE);
  std::uint8_t token[NGTCP2_CRYPTO_MAX_RETRY_TOKENLEN];
  ngtcp2_ssize tokenlen =
      ngtcp2_crypto_generate_retry_token(token, retry_secret_.data(), retry_secret_.size(), hd.version,
                                         packet.remote.sa(), packet.remote.len, &retry_scid, &hd.dcid, now);
  if (tokenlen < 0) return;
  std::uint8_t buf[NGTCP2_MAX_UDP_PAYLOAD_SIZE];
  ngtcp2_ssize n = ngtcp2_crypto_write_retry(buf, sizeof buf, hd.version, &hd.scid, &retry_scid, &hd.dcid, token,
                                             static_cast<std::size_t>(tokenlen));
  if (n <= 0) return;
  socket_.send(packet.remote, &packet.local, buf, static_cast<std::size_t>(n), static_cast<std::size_t>(n));
  ++stats_.retries_sent;
  log_.event("Retry sent (address validation under load)", packet.remote.to_string());
}

void ServerEndpoint::refuse(const ReceivedDatagram& packet, const ngtcp2_pkt_hd& hd, const std::string& why) {
  if (!resets_.take(now_ns())) {
    ++stats_.resets_rate_limited;
    return;
  }
  std::uint8_t buf[NGTCP2_MAX_UDP_PAYLOAD_SIZE];
  ngtcp2_ssize n = ngtcp2_crypto_write_connection_close(buf, sizeof buf, hd.version, &hd.scid, &hd.dcid,
                                                        NGTCP2_CONNECTION_REFUSED,
                                                        reinterpret_cast<const std::uint8_t*>(why.data()), why.size());
  if (n > 0) socket_.send(packet.remote, &packet.local, buf, static_cast<std::size_t>(n), static_cast<std::size_t>(n));
}

void ServerEndpoint::send_stateless_reset(const ReceivedDatagram& packet, const ngtcp2_version_cid& vc,
                                          std::size_t received) {
  // Always smaller than what it answers, so two endpoints can never keep resetting each other
  // (RFC 9000 10.3.3), and never an amplifier.
  if (received <= kMinResetSize) return;
  if (!resets_.take(now_ns())) {
    ++stats_.resets_rate_limited;
    return;
  }
  const ngtcp2_cid cid = to_cid(vc.dcid, vc.dcidlen);
  std::uint8_t token[NGTCP2_STATELESS_RESET_TOKENLEN];
  if (ngtcp2_crypto_generate_stateless_reset_token(token, tls_.reset_secret().data(), tls_.reset_secret().size(),
                                                   &cid) != 0)
    return;
  const std::size_t size = std::min<std::size_t>(received - 1, 1200);
  std::uint8_t random[1200];
  random_bytes(std::span(random, size), GNUTLS_RND_NONCE);
  std::uint8_t buf[1200];
  ngtcp2_ssize n = ngtcp2_pkt_write_stateless_reset(buf, size, token, random, size - 1 - NGTCP2_STATELESS_RESET_TOKENLEN);
  if (n <= 0) return;
  socket_.send(packet.remote, &packet.local, buf, static_cast<std::size_t>(n), static_cast<std::size_t>(n));
  ++stats_.resets_sent;
  log_.event("stateless reset sent for an unknown connection", packet.remote.to_string());
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
  if (auto it = connections_.find(&c); it != connections_.end() && it->second.handshaking) {
    it->second.handshaking = false;
    --handshakes_;
  }
  spdlog::info("server: client {} connected{}", c.remote().to_string(),
               c.peer_certificate().empty() ? std::string() : " as \"" + c.peer_certificate() + "\"");
  listener_.on_handshake(c);
}

void ServerEndpoint::on_connection_id(Connection& c, const ngtcp2_cid& cid, bool added) {
  std::string k = key(cid.data, cid.datalen);
  if (added) {
    by_cid_[k] = &c;
    if (auto it = connections_.find(&c); it != connections_.end()) it->second.cids.push_back(k);
  } else {
    auto it = by_cid_.find(k);
    if (it != by_cid_.end() && it->second == &c) by_cid_.erase(it);
  }
}

void ServerEndpoint::on_path_changed(Connection& c, const SocketAddress& old_remote) {
  auto it = connections_.find(&c);
  if (it == connections_.end()) return;
  Entry& e = it->second;
  ++stats_.migrations;
  spdlog::debug("server: client {} now sends from {}", old_remote.to_string(), c.remote().to_string());
  // The link state lives in the connection's link and moves with it (the connection tells it the
  // new path); only the address-keyed route for what carries no connection ID (ARQ NACKs)
  // follows here.
  if (auto p = by_peer_.find(e.peer); p != by_peer_.end() && p->second == &c) by_peer_.erase(p);
  e.peer = peer_key(c.remote());
  by_peer_[e.peer] = &c;
  const std::string source = source_key(c.remote());
  if (source != e.source) {
    if (auto s = per_source_.find(e.source); s != per_source_.end() && --s->second == 0) per_source_.erase(s);
    ++per_source_[source];
    e.source = source;
  }
}

void ServerEndpoint::forget(Connection& c) {
  auto it = connections_.find(&c);
  if (it == connections_.end()) return;
  Entry& e = it->second;
  for (const auto& k : e.cids) {
    auto m = by_cid_.find(k);
    if (m != by_cid_.end() && m->second == &c) by_cid_.erase(m);
  }
  if (auto p = by_peer_.find(e.peer); p != by_peer_.end() && p->second == &c) by_peer_.erase(p);
  if (auto s = per_source_.find(e.source); s != per_source_.end() && --s->second == 0) per_source_.erase(s);
  if (e.handshaking) --handshakes_;
  connections_.erase(it);
}

void ServerEndpoint::on_connection_closed(Connection& c, const std::string& reason) {
  if (!c.initial_decrypted()) {
    ++stats_.initials_dropped;
    log_.event("undecryptable Initial dropped", c.remote().to_string());
  } else if (!c.handshake_done()) {
    // A handshake that never finished: anyone can cause these at any rate.
    log_.event("handshake failed", c.remote().to_string() + (reason.empty() ? "" : ": " + reason));
  } else if (reason.empty() || reason == "closed by peer") {
    spdlog::info("server: client {} disconnected", c.remote().to_string());
  } else {
    spdlog::info("server: client {} disconnected: {}", c.remote().to_string(), reason);
  }
  if (c.initial_decrypted()) listener_.on_closed(c, reason);
  auto it = connections_.find(&c);
  if (it == connections_.end()) return;
  graveyard_.push_back(Remains{std::move(it->second.link), std::move(it->second.connection)});
  forget(c);
  reaper_.activate();
}

void ServerEndpoint::reap() {
  graveyard_.clear();
}

}  // namespace quictun::quic

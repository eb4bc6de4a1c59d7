#include "quic/connection.hpp"

#include <gnutls/crypto.h>
#include <ngtcp2/ngtcp2_crypto_gnutls.h>
#include <spdlog/spdlog.h>

#include <netinet/in.h>

#include <algorithm>
#include <cstring>

#include "util/clock.hpp"
#include "util/random.hpp"
#include "util/error.hpp"

namespace quictun::quic {
namespace {

constexpr std::size_t kCidLength = Connection::kConnectionIdLength;
constexpr std::size_t kMaxBatch = 64;          // packets per GSO send (and per write round)
constexpr std::size_t kMaxGsoBytes = 65000;    // one GSO send is one IP datagram's worth at most
constexpr std::size_t kMaxPacket = 1500;       // above any max_tx_udp_payload_size set here
constexpr std::size_t kChunk = 64 * 1024;      // send-buffer chunk size
constexpr std::size_t kMaxVecs = 16;

ngtcp2_path make_path(const SocketAddress& local, const SocketAddress& remote) {
  ngtcp2_path p{};
  p.local.addr = const_cast<sockaddr*>(local.sa());
  p.local.addrlen = local.len;
  p.remote.addr = const_cast<sockaddr*>(remote.sa());
  p.remote.addrlen = remote.len;
  return p;
}

bool same_address(const ngtcp2_addr& a, const SocketAddress& b) {
  if (a.addrlen != b.len || a.addr->sa_family != b.family()) return false;
  if (b.family() == AF_INET) {
    const auto* x = reinterpret_cast<const sockaddr_in*>(a.addr);
    const auto* y = reinterpret_cast<const sockaddr_in*>(b.sa());
    return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
  }
  if (b.family() == AF_INET6) {
    const auto* x = reinterpret_cast<const sockaddr_in6*>(a.addr);
    const auto* y = reinterpret_cast<const sockaddr_in6*>(b.sa());
    return x->sin6_port == y->sin6_port && std::memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0;
  }
  return std::memcmp(a.addr, b.sa(), b.len) == 0;
}

ngtcp2_cid random_cid() {
  ngtcp2_cid cid;
  cid.datalen = kCidLength;
  random_bytes(std::span(cid.data, cid.datalen));
  return cid;
}

ngtcp2_conn* get_conn(ngtcp2_crypto_conn_ref* ref);

}  // namespace

// The C callbacks ngtcp2 calls, forwarding to Connection members.
struct ConnectionCallbacks {
  static Connection& self(void* user_data) { return *static_cast<Connection*>(user_data); }

  // These two (and recv_crypto_data) mark the peer as heard from: they run only for packets
  // that decrypted. A datagram as such proves nothing: a restarted server's stateless resets
  // that match no token (another key) kept a dead connection looking alive until its idle timeout.
  static int recv_stream_data(ngtcp2_conn*, uint32_t flags, int64_t id, uint64_t, const uint8_t* data, size_t size,
                              void* user_data, void*) {
    self(user_data).last_rx_ns_ = now_ns();
    return self(user_data).on_recv_stream_data(flags, id, data, size);
  }
  static int acked(ngtcp2_conn*, int64_t id, uint64_t offset, uint64_t size, void* user_data, void*) {
    self(user_data).last_rx_ns_ = now_ns();
    return self(user_data).on_acked(id, offset, size);
  }
  static int stream_open(ngtcp2_conn*, int64_t id, void* user_data) {
    auto& c = self(user_data);
    if (c.server_ && ngtcp2_is_bidi_stream(id)) c.observer_.on_remote_stream(c, id);
    return 0;
  }
  static int stream_close(ngtcp2_conn*, uint32_t flags, int64_t id, uint64_t code, void* user_data, void*) {
    return self(user_data).on_stream_close(flags, id, code);
  }
  static int stream_reset(ngtcp2_conn*, int64_t id, uint64_t, uint64_t code, void* user_data, void*) {
    return self(user_data).on_stream_reset(id, code);
  }
  static int extend_max_stream_data(ngtcp2_conn*, int64_t id, uint64_t, void* user_data, void*) {
    return self(user_data).on_extend_max_stream_data(id);
  }
  static int extend_max_local_streams_bidi(ngtcp2_conn*, uint64_t, void* user_data) {
    auto& c = self(user_data);
    c.observer_.on_streams_available(c);
    return 0;
  }
  static int handshake_completed(ngtcp2_conn*, void* user_data) { return self(user_data).on_handshake_completed(); }
  // ngtcp2 cannot be told of a failure here (the callback returns nothing) and must not see an
  // exception: without randomness its path challenges would be guessable, so stop the process.
  static void rand(uint8_t* dest, size_t len, const ngtcp2_rand_ctx*) {
    if (int rc = gnutls_rnd(GNUTLS_RND_RANDOM, dest, len); rc != 0) {
      spdlog::critical("no randomness available: {}; stopping", gnutls_strerror(rc));
      std::abort();
    }
  }
  static int recv_crypto_data(ngtcp2_conn* conn, ngtcp2_encryption_level level, uint64_t offset, const uint8_t* data,
                              size_t size, void* user_data) {
    self(user_data).crypto_received_ = true;
    self(user_data).last_rx_ns_ = now_ns();
    return ngtcp2_crypto_recv_crypto_data_cb(conn, level, offset, data, size, user_data);
  }
  static int recv_stateless_reset(ngtcp2_conn*, const ngtcp2_pkt_stateless_reset*, void* user_data) {
    self(user_data).stateless_reset_ = true;
    return 0;
  }
  static int recv_retry(ngtcp2_conn* conn, const ngtcp2_pkt_hd* hd, void* user_data) {
    spdlog::debug("{}: the server asked for address validation (Retry); sending the Initial again with its token",
                  self(user_data).endpoint_.log_name);
    return ngtcp2_crypto_recv_retry_cb(conn, hd, user_data);
  }
  static int new_cid(ngtcp2_conn*, ngtcp2_cid* cid, uint8_t* token, size_t len, void* user_data) {
    return self(user_data).on_new_connection_id(cid, token, len);
  }
  static int remove_cid(ngtcp2_conn*, const ngtcp2_cid* cid, void* user_data) {
    return self(user_data).on_remove_connection_id(cid);
  }
};

namespace {
ngtcp2_conn* get_conn(ngtcp2_crypto_conn_ref* ref) { return *static_cast<ngtcp2_conn**>(ref->user_data); }
}  // namespace

ngtcp2_callbacks Connection::callbacks(bool server) {
  ngtcp2_callbacks cb{};
  if (server) {
    cb.recv_client_initial = ngtcp2_crypto_recv_client_initial_cb;
  } else {
    cb.client_initial = ngtcp2_crypto_client_initial_cb;
    cb.recv_retry = ConnectionCallbacks::recv_retry;
    cb.recv_stateless_reset = ConnectionCallbacks::recv_stateless_reset;
  }
  cb.recv_crypto_data = ConnectionCallbacks::recv_crypto_data;
  cb.encrypt = ngtcp2_crypto_encrypt_cb;
  cb.decrypt = ngtcp2_crypto_decrypt_cb;
  cb.hp_mask = ngtcp2_crypto_hp_mask_cb;
  cb.update_key = ngtcp2_crypto_update_key_cb;
  cb.delete_crypto_aead_ctx = ngtcp2_crypto_delete_crypto_aead_ctx_cb;
  cb.delete_crypto_cipher_ctx = ngtcp2_crypto_delete_crypto_cipher_ctx_cb;
  cb.get_path_challenge_data = ngtcp2_crypto_get_path_challenge_data_cb;
  cb.version_negotiation = ngtcp2_crypto_version_negotiation_cb;
  cb.rand = ConnectionCallbacks::rand;
  cb.get_new_connection_id = ConnectionCallbacks::new_cid;
  cb.remove_connection_id = ConnectionCallbacks::remove_cid;
  cb.recv_stream_data = ConnectionCallbacks::recv_stream_data;
  cb.acked_stream_data_offset = ConnectionCallbacks::acked;
  cb.stream_open = ConnectionCallbacks::stream_open;
  cb.stream_close = ConnectionCallbacks::stream_close;
  cb.stream_reset = ConnectionCallbacks::stream_reset;
  // No stream_stop_sending: ngtcp2 calls it when *we* stop reading (as it writes our
  // STOP_SENDING), not when the peer does. A peer's STOP_SENDING shows in write_packets.
  cb.extend_max_stream_data = ConnectionCallbacks::extend_max_stream_data;
  cb.extend_max_local_streams_bidi = ConnectionCallbacks::extend_max_local_streams_bidi;
  cb.handshake_completed = ConnectionCallbacks::handshake_completed;
  return cb;
}

Connection::Connection(const Endpoint& endpoint, const TransportConfig& config, ConnectionObserver& observer,
                       const SocketAddress& remote, const SocketAddress& local)
    : endpoint_(endpoint), config_(config), observer_(observer), remote_(remote), local_(local) {
  tx_.resize(kMaxBatch * kMaxPacket);
  conn_ref_.get_conn = get_conn;
  conn_ref_.user_data = &conn_;
  timer_.assign(endpoint.loop, -1, 0, [this](short) { on_timer(); });
  write_event_.assign(endpoint.loop, -1, 0, [this](short) { write_packets(); });
  endpoint.link->attach(*this, remote_, local_);
}

Connection::~Connection() {
  if (conn_)
    spdlog::debug("{}: largest UDP payload on the path: {} bytes", endpoint_.log_name,
                  ngtcp2_conn_get_path_max_tx_udp_payload_size(conn_));
  endpoint_.link->detach();
  timer_.reset();
  write_event_.reset();
  if (conn_) ngtcp2_conn_del(conn_);
}

void Connection::set_path_sizes(ngtcp2_settings& settings, std::size_t headroom) {
  // A 1500-byte Ethernet path carries 1472 bytes of UDP payload over IPv4 and 1452 over IPv6.
  // ngtcp2's own PMTUD probes stop at 1444, 28 bytes (2 %) short of a full IPv4 packet, which
  // every packet would pay. Probing starts with a size nearly every path carries, then tries the
  // full size, then smaller ones: a probe that is lost three times rules out every larger size.
  const std::size_t full = (remote_.family() == AF_INET6 ? 1452 : 1472) - headroom;
  settings.max_tx_udp_payload_size = full;
  path_probes_.clear();
  for (std::size_t size : {std::size_t{1406}, std::size_t{1472}, std::size_t{1452}, std::size_t{1444}}) {
    size -= headroom;
    if (size <= full) path_probes_.push_back(static_cast<std::uint16_t>(size));
  }
  settings.pmtud_probes = path_probes_.data();
  settings.pmtud_probeslen = path_probes_.size();
}

void Connection::init_settings(ngtcp2_settings& settings, ngtcp2_transport_params& params, bool server) {
  ngtcp2_settings_default(&settings);
  settings.initial_ts = now_ns();
  // A plugin controller replaces reno's table once the connection exists (install_controller).
  settings.cc_algo = config_.congestion_plugin ? NGTCP2_CC_ALGO_RENO
                                               : builtin_congestion(config_.congestion).value_or(NGTCP2_CC_ALGO_CUBIC);
  settings.handshake_timeout = config_.handshake_timeout_ns;
  settings.initial_rtt = config_.initial_rtt_ns;  // see TransportConfig::initial_rtt_ns
  settings.ack_thresh = config_.ack_every;  // see TransportConfig::ack_every
  settings.max_window = config_.max_connection_window;
  settings.max_stream_window = config_.max_stream_window;
  // Room for the link's header, so a wrapped packet still fits the path. (A server does not know
  // yet whether its client wraps; accept() resets this when it cannot.)
  set_path_sizes(settings, config_.arq || server ? link::Link::kMaxHeadroom : 0);
  ngtcp2_transport_params_default(&params);
  params.initial_max_stream_data_bidi_local = config_.stream_window;
  params.initial_max_stream_data_bidi_remote = config_.stream_window;
  params.initial_max_data = config_.connection_window;
  // Only clients open streams (WIRE.md): a client accepts none.
  params.initial_max_streams_bidi = server ? config_.max_streams : 0;
  params.initial_max_streams_uni = 0;
  params.max_idle_timeout = config_.idle_timeout_ns;
  params.active_connection_id_limit = 7;
  params.grease_quic_bit = 0;  // a greased first byte could look like an ARQ datagram
}

std::unique_ptr<Connection> Connection::connect(const Endpoint& endpoint, const TransportConfig& config,
                                                const TlsClientContext& tls, const SocketAddress& remote,
                                                ConnectionObserver& observer) {
  std::unique_ptr<Connection> c(new Connection(endpoint, config, observer, remote, endpoint.link->local_address()));
  ngtcp2_settings settings;
  ngtcp2_transport_params params;
  c->init_settings(settings, params, false);
  ngtcp2_cid dcid = random_cid();
  ngtcp2_cid scid = random_cid();
  ngtcp2_path path = make_path(c->local_, c->remote_);
  ngtcp2_callbacks cb = callbacks(false);
  int rv = ngtcp2_conn_client_new(&c->conn_, &dcid, &scid, &path, NGTCP2_PROTO_VER_V1, &cb, &settings, &params,
                                  nullptr, c.get());
  if (rv != 0) throw RuntimeError(std::string("QUIC client: ") + ngtcp2_strerror(rv));
  c->install_controller();
  c->tls_ = tls.new_session(&c->conn_ref_, config.arq);
  ngtcp2_conn_set_tls_native_handle(c->conn_, c->tls_->get());
  if (config.keep_alive_ns) ngtcp2_conn_set_keep_alive_timeout(c->conn_, config.keep_alive_ns);
  c->schedule_write();
  return c;
}

std::unique_ptr<Connection> Connection::accept(const Endpoint& endpoint, const TransportConfig& config,
                                               const TlsServerContext& tls, const ReceivedDatagram& first,
                                               ConnectionObserver& observer, const ngtcp2_cid* retried_odcid) {
  ngtcp2_pkt_hd hd;
  if (ngtcp2_accept(&hd, first.data, first.size) != 0) return nullptr;
  std::unique_ptr<Connection> c(new Connection(endpoint, config, observer, first.remote, first.local));
  c->server_ = true;
  ngtcp2_settings settings;
  ngtcp2_transport_params params;
  c->init_settings(settings, params, true);
  // A client may still choose ARQ in the handshake, whose header needs the room.
  if (!config.arq) c->set_path_sizes(settings, 0);
  // After a Retry the client's first Initial went to another ID than this one (RFC 9000 7.3).
  params.original_dcid = retried_odcid ? *retried_odcid : hd.dcid;
  params.original_dcid_present = 1;
  if (retried_odcid) {
    params.retry_scid = hd.dcid;
    params.retry_scid_present = 1;
  }
  params.stateless_reset_token_present = 1;
  ngtcp2_cid scid = random_cid();
  if (ngtcp2_crypto_generate_stateless_reset_token(params.stateless_reset_token, endpoint.reset_secret, 32, &scid) != 0)
    return nullptr;
  ngtcp2_path path = make_path(c->local_, c->remote_);
  ngtcp2_callbacks cb = callbacks(true);
  int rv = ngtcp2_conn_server_new(&c->conn_, &hd.scid, &scid, &path, hd.version, &cb, &settings, &params, nullptr,
                                  c.get());
  if (rv != 0) {
    spdlog::warn("server: cannot accept QUIC connection from {}: {}", first.remote.to_string(), ngtcp2_strerror(rv));
    return nullptr;
  }
  c->install_controller();
  c->tls_ = tls.new_session(&c->conn_ref_, config.arq);
  ngtcp2_conn_set_tls_native_handle(c->conn_, c->tls_->get());
  return c;
}

std::vector<ngtcp2_cid> Connection::connection_ids() const {
  std::vector<ngtcp2_cid> out(ngtcp2_conn_get_scid(conn_, nullptr));
  ngtcp2_conn_get_scid(conn_, out.data());
  return out;
}

void Connection::on_packet(const ReceivedDatagram& d) {
  if (state_ == State::closed || state_ == State::draining) return;
  if (state_ == State::closing) {
    // The peer did not see our CONNECTION_CLOSE: say it again, sparingly (RFC 9000 10.2.1).
    ++close_resends_;
    if (!close_packet_.empty() && (close_resends_ & (close_resends_ - 1)) == 0)
      endpoint_.link->send(remote_, &local_, close_packet_.data(), close_packet_.size(), close_packet_.size());
    return;
  }
  trace_state(now_ns());
  read_packet(d);
}

std::uint64_t Connection::min_rtt_ns() const {
  ngtcp2_conn_info info;
  ngtcp2_conn_get_conn_info(conn_, &info);
  // min_rtt is UINT64_MAX until the first sample.
  return info.min_rtt == UINT64_MAX ? 0 : info.min_rtt;
}

void Connection::install_controller() {
  if (!config_.congestion_plugin) return;
  plugin_cc_ = PluginController::install(conn_, config_.congestion_plugin->new_controller(), now_ns());
}

ConnectionStats Connection::stats() const {
  ConnectionStats s;
  s.handshake_done = handshake_done_;
  s.streams = streams_.size();
  s.controller = config_.congestion;
  s.link = endpoint_.link->kind();
  s.datagrams_sent = datagrams_sent_;
  s.bytes_sent = bytes_sent_;
  const link::LinkStats ls = endpoint_.link->stats();
  s.datagrams_received = ls.datagrams_received;
  s.bytes_received = ls.bytes_received;
  s.arq_resent = ls.arq_resent;
  s.arq_repaired = ls.arq_repaired;
  if (plugin_cc_) {
    s.loss_known = true;
    s.packets_lost = plugin_cc_->lost_packets();
    s.bytes_lost = plugin_cc_->lost_bytes();
  }
  if (!conn_) return s;
  ngtcp2_conn_info i;
  ngtcp2_conn_get_conn_info(conn_, &i);
  s.min_rtt_ns = i.min_rtt == UINT64_MAX ? 0 : i.min_rtt;  // UINT64_MAX until the first sample
  s.smoothed_rtt_ns = i.smoothed_rtt;
  s.latest_rtt_ns = i.latest_rtt;
  s.rttvar_ns = i.rttvar;
  s.cwnd = i.cwnd;
  s.bytes_in_flight = i.bytes_in_flight;
  return s;
}

void Connection::trace_state(std::uint64_t now) {
  if (!spdlog::should_log(spdlog::level::trace) || now - last_trace_ns_ < 1'000'000'000) return;
  last_trace_ns_ = now;
  ngtcp2_conn_info i;
  ngtcp2_conn_get_conn_info(conn_, &i);
  spdlog::trace("{}: rtt min {:.1f} smoothed {:.1f} latest {:.1f} var {:.1f} ms, cwnd {} KB, in flight {} KB, {} {}",
                endpoint_.log_name, i.min_rtt == UINT64_MAX ? 0.0 : i.min_rtt / 1e6, i.smoothed_rtt / 1e6, i.latest_rtt / 1e6, i.rttvar / 1e6,
                i.cwnd / 1024, i.bytes_in_flight / 1024, config_.congestion, plugin_cc_ ? plugin_cc_->describe() : "");
}

void Connection::read_packet(const ReceivedDatagram& d) {
  if (state_ != State::open && state_ != State::handshaking) return;  // closed by an earlier packet
  if (d.size == 0) return;  // a shim's header with nothing inside: nothing for ngtcp2
  ngtcp2_path path = make_path(d.local, d.remote);
  ngtcp2_pkt_info pi{};
  in_callback_ = true;
  int rv = ngtcp2_conn_read_pkt(conn_, &path, &pi, d.data, d.size, now_ns());
  in_callback_ = false;
  if (rv != 0) {
    handle_ngtcp2_error(rv, "read");
    return;
  }
  sync_path();
  schedule_write();
}

bool Connection::migrate(const SocketAddress& local) {
  if (server_ || state_ != State::open) return false;
  ngtcp2_path path = make_path(local, remote_);
  int rv = ngtcp2_conn_initiate_immediate_migration(conn_, &path, now_ns());
  if (rv != 0) {
    spdlog::debug("{}: cannot move the connection to {}: {}", endpoint_.log_name, local.to_string(), ngtcp2_strerror(rv));
    return false;
  }
  local_ = local;
  endpoint_.link->set_path(remote_, local_);
  schedule_write();
  return true;
}

void Connection::sync_path() {
  const ngtcp2_path* p = ngtcp2_conn_get_path(conn_);
  if (same_address(p->remote, remote_) && same_address(p->local, local_)) return;
  const SocketAddress old = remote_;
  remote_ = from_sockaddr(p->remote.addr, p->remote.addrlen);
  local_ = from_sockaddr(p->local.addr, p->local.addrlen);
  endpoint_.link->set_path(remote_, local_);  // the link's NACKs and resends follow
  spdlog::debug("{}: peer moved from {} to {}", endpoint_.log_name, old.to_string(), remote_.to_string());
  observer_.on_path_changed(*this, old);
}

void Connection::handle_ngtcp2_error(int rv, const char* where) {
  if (rv == NGTCP2_ERR_DRAINING && stateless_reset_) {
    // The peer lost this connection (a restarted server): say so now, not after seconds of silence.
    const std::string reason = "stateless reset: the peer no longer knows this connection (restarted?)";
    spdlog::info("{}: {}", endpoint_.log_name, reason);
    enter_draining(reason);
    return;
  }
  if (rv == NGTCP2_ERR_DRAINING) {
    const ngtcp2_ccerr* err = ngtcp2_conn_get_ccerr(conn_);
    std::string reason;
    if (err->type == NGTCP2_CCERR_TYPE_APPLICATION && err->error_code == kAppNoError) {
      reason = "";  // the peer closed cleanly
    } else {
      reason = "closed by peer (code " + std::to_string(err->error_code);
      if (err->reasonlen) reason += ": " + std::string(reinterpret_cast<const char*>(err->reason), err->reasonlen);
      reason += ")";
    }
    enter_draining(reason.empty() ? "closed by peer" : reason);
    return;
  }
  if (rv == NGTCP2_ERR_DROP_CONN) {
    close_reason_ = "connection dropped";
    finish_close();
    return;
  }
  if (rv == NGTCP2_ERR_IDLE_CLOSE) {
    close_reason_ = "idle timeout";
    finish_close();
    return;
  }
  if (rv == NGTCP2_ERR_HANDSHAKE_TIMEOUT) {
    close_reason_ = "handshake timed out";
    finish_close();
    return;
  }
  if (rv == NGTCP2_ERR_CRYPTO) {
    ngtcp2_ccerr err;
    ngtcp2_ccerr_set_tls_alert(&err, ngtcp2_conn_get_tls_alert(conn_), nullptr, 0);
    std::string reason = tls_failure_text();
    send_close(err);
    close_reason_ = reason;
    enter_closing(reason);
    return;
  }
  fail(std::string(where) + ": " + ngtcp2_strerror(rv));
}

std::string Connection::tls_failure_text() const {
  std::string text = "TLS handshake failed";
  if (!tls_) return text;
  unsigned status = gnutls_session_get_verify_cert_status(tls_->get());
  if (status != 0) {
    gnutls_datum_t out{};
    if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &out, 0) == 0) {
      text += ": certificate verification failed: " + std::string(reinterpret_cast<char*>(out.data), out.size);
      gnutls_free(out.data);
      return text;
    }
  }
  auto alert = ngtcp2_conn_get_tls_alert(conn_);
  if (alert) text += std::string(": alert ") + gnutls_alert_get_name(static_cast<gnutls_alert_description_t>(alert));
  return text;
}

void Connection::send_close(const ngtcp2_ccerr& err) {
  std::vector<std::uint8_t> buf(NGTCP2_MAX_UDP_PAYLOAD_SIZE);
  ngtcp2_path_storage ps;
  ngtcp2_path_storage_zero(&ps);
  ngtcp2_ssize n = ngtcp2_conn_write_connection_close(conn_, &ps.path, nullptr, buf.data(), buf.size(), &err, now_ns());
  if (n <= 0) return;
  buf.resize(static_cast<std::size_t>(n));
  close_packet_ = std::move(buf);  // kept: resent to stray packets while closing
  endpoint_.link->send(remote_, &local_, close_packet_.data(), close_packet_.size(), close_packet_.size());
}

void Connection::fail(const std::string& reason) {
  if (state_ == State::closing || state_ == State::draining || state_ == State::closed) return;
  ngtcp2_ccerr err;
  ngtcp2_ccerr_default(&err);
  ngtcp2_ccerr_set_liberr(&err, NGTCP2_ERR_INTERNAL, nullptr, 0);
  send_close(err);
  enter_closing(reason);
}

void Connection::close(std::uint64_t app_error, const std::string& reason) {
  if (state_ == State::closing || state_ == State::draining || state_ == State::closed) return;
  if (state_ == State::handshaking && !handshake_done_) {
    // Nothing the peer needs to know yet beyond what the idle timer tells it.
    close_reason_ = reason;
    finish_close();
    return;
  }
  ngtcp2_ccerr err;
  ngtcp2_ccerr_default(&err);
  ngtcp2_ccerr_set_application_error(&err, app_error, reinterpret_cast<const std::uint8_t*>(reason.data()),
                                     std::min<std::size_t>(reason.size(), 64));
  send_close(err);
  enter_closing(reason);
}

void Connection::abandon(const std::string& reason) {
  if (state_ == State::closed) return;
  close_reason_ = reason;
  finish_close();
}

void Connection::enter_closing(const std::string& reason) {
  state_ = State::closing;
  endpoint_.link->stop_repair();
  close_reason_ = reason;
  write_event_.del();
  notify_streams_lost();
  // Stay around for three PTOs to answer stray packets with the close packet.
  timer_.del();
  timer_.add_timeout_ns(3 * ngtcp2_conn_get_pto(conn_));
}

void Connection::enter_draining(const std::string& reason) {
  state_ = State::draining;
  endpoint_.link->stop_repair();
  close_reason_ = reason;
  write_event_.del();
  notify_streams_lost();
  timer_.del();
  timer_.add_timeout_ns(3 * ngtcp2_conn_get_pto(conn_));
}

void Connection::notify_streams_lost() {
  std::vector<std::pair<std::uint64_t, StreamHandler*>> handlers;
  for (auto& [id, s] : streams_)
    if (s.handler) handlers.emplace_back(s.send.acked, s.handler);
  streams_.clear();
  ready_.clear();
  for (auto& [acked, h] : handlers) h->on_stream_closed(false, acked);
}

void Connection::finish_close() {
  if (state_ == State::closed) return;
  bool was_closing = state_ == State::closing || state_ == State::draining;
  state_ = State::closed;
  endpoint_.link->stop_repair();
  timer_.del();
  write_event_.del();
  if (!was_closing) notify_streams_lost();
  observer_.on_connection_closed(*this, close_reason_);
}

void Connection::on_timer() {
  if (state_ == State::closing || state_ == State::draining) {
    finish_close();
    return;
  }
  if (state_ == State::closed) return;
  int rv = ngtcp2_conn_handle_expiry(conn_, now_ns());
  if (rv != 0) {
    handle_ngtcp2_error(rv, "timer");
    return;
  }
  write_packets();
}

void Connection::arm_timer() {
  if (state_ == State::closing || state_ == State::draining || state_ == State::closed) return;
  std::uint64_t expiry = ngtcp2_conn_get_expiry(conn_);
  std::uint64_t now = now_ns();
  timer_.del();
  timer_.add_timeout_ns(expiry > now ? expiry - now : 0);
}

void Connection::schedule_write() {
  if (state_ == State::handshaking || state_ == State::open) write_event_.activate();
}

Connection::Stream* Connection::find(std::int64_t id) {
  auto it = streams_.find(id);
  return it == streams_.end() ? nullptr : &it->second;
}
const Connection::Stream* Connection::find(std::int64_t id) const {
  auto it = streams_.find(id);
  return it == streams_.end() ? nullptr : &it->second;
}

void Connection::queue(std::int64_t id, Stream& s) {
  if (!s.queued && !s.blocked && !s.write_shut) {
    s.queued = true;
    ready_.push_back(id);
  }
  schedule_write();
}

void Connection::write_packets() {
  if (state_ != State::handshaking && state_ != State::open) return;
  sync_path();
  std::uint64_t ts = now_ns();
  std::size_t max_payload = ngtcp2_conn_get_path_max_tx_udp_payload_size(conn_);
  // ngtcp2 needs room for its largest packet, a PMTUD probe bigger than the path's current
  // size; given only that size, it never probes and packets stay at 1200 bytes.
  const std::size_t room = ngtcp2_conn_get_max_tx_udp_payload_size(conn_);
  const std::size_t headroom = endpoint_.link->headroom();
  std::size_t quantum = ngtcp2_conn_get_send_quantum(conn_);
  std::size_t max_packets = std::clamp<std::size_t>(quantum / max_payload, 1, kMaxBatch);
  ngtcp2_path_storage ps;
  ngtcp2_path_storage_zero(&ps);
  ngtcp2_pkt_info pi{};
  std::size_t batch_len = 0, segment = 0, packets = 0;
  ngtcp2_vec vecs[kMaxVecs];
  // Streams whose peer stopped reading: told after the loop, since a handler may release its
  // stream, which must not happen while ready_ is being walked.
  std::vector<std::int64_t> stopped;

  for (;;) {
    std::int64_t id = -1;
    Stream* s = nullptr;
    std::size_t nvec = 0, total = 0;
    std::uint32_t flags = NGTCP2_WRITE_STREAM_FLAG_MORE;
    while (!ready_.empty()) {
      id = ready_.front();
      s = find(id);
      if (s && !s->blocked && !s->write_shut && (s->send.sent < s->send.written || (s->send.fin && !s->send.fin_sent)))
        break;
      if (s) s->queued = false;
      ready_.pop_front();
      s = nullptr;
      id = -1;
    }
    if (s) {
      // Gather the unsent bytes, chunk by chunk, from `sent` on.
      std::uint64_t pos = s->send.base;
      for (auto& chunk : s->send.chunks) {
        std::uint64_t end = pos + chunk.size;
        if (end > s->send.sent && nvec < kMaxVecs) {
          std::size_t skip = s->send.sent > pos ? static_cast<std::size_t>(s->send.sent - pos) : 0;
          vecs[nvec].base = chunk.bytes.get() + skip;
          vecs[nvec].len = chunk.size - skip;
          total += vecs[nvec].len;
          ++nvec;
        }
        pos = end;
      }
      if (s->send.fin && s->send.sent + total == s->send.written) flags |= NGTCP2_WRITE_STREAM_FLAG_FIN;
    }
    ngtcp2_ssize datalen = -1;
    // The packet goes behind room for the link's header, so the datagram is built in place.
    std::uint8_t* out = tx_.data() + batch_len;
    ngtcp2_ssize n = ngtcp2_conn_writev_stream(conn_, &ps.path, &pi, out + headroom, room, &datalen, flags, id,
                                               nvec ? vecs : nullptr, nvec, ts);
    if (n < 0) {
      if (n == NGTCP2_ERR_STREAM_DATA_BLOCKED && s) {
        s->blocked = true;
        s->queued = false;
        ready_.pop_front();
        continue;
      }
      if ((n == NGTCP2_ERR_STREAM_SHUT_WR || n == NGTCP2_ERR_STREAM_NOT_FOUND) && s) {
        // We did not shut it (abort() marks write_shut first), so the peer sent STOP_SENDING
        // and ngtcp2 answered with RESET_STREAM on its own; ngtcp2 1.11 has no callback for it.
        if (s->handler) stopped.push_back(id);
        s->write_shut = true;
        s->queued = false;
        ready_.pop_front();
        continue;
      }
      if (n == NGTCP2_ERR_WRITE_MORE) {
        if (s && datalen >= 0) {
          s->send.sent += static_cast<std::uint64_t>(datalen);
          if ((flags & NGTCP2_WRITE_STREAM_FLAG_FIN) && static_cast<std::size_t>(datalen) == total)
            s->send.fin_sent = true;
          // Rotate so that many busy streams share the packets fairly.
          ready_.pop_front();
          ready_.push_back(id);
        }
        continue;
      }
      flush(tx_.data(), batch_len, segment);
      handle_ngtcp2_error(static_cast<int>(n), "write");  // the streams are lost with the connection
      return;
    }
    if (s && datalen >= 0) {
      s->send.sent += static_cast<std::uint64_t>(datalen);
      if ((flags & NGTCP2_WRITE_STREAM_FLAG_FIN) && static_cast<std::size_t>(datalen) == total) s->send.fin_sent = true;
      ready_.pop_front();
      ready_.push_back(id);
    }
    if (n == 0) break;  // congestion window, pacing or flow control: ngtcp2 says when to go on
    const std::size_t len = endpoint_.link->seal(out, static_cast<std::size_t>(n), ts);
    if (!same_address(ps.path.remote, remote_) || !same_address(ps.path.local, local_)) {
      // A packet for another path than the current one (a path validation probe, RFC 9000
      // 8.2): it leaves on its own, to that path's address, outside the batch.
      flush(tx_.data(), batch_len, segment);
      batch_len = 0;
      const SocketAddress to = from_sockaddr(ps.path.remote.addr, ps.path.remote.addrlen);
      const SocketAddress from = from_sockaddr(ps.path.local.addr, ps.path.local.addrlen);
      endpoint_.link->send(to, &from, out, len, len);
      if (++packets >= max_packets) break;
      continue;
    }
    if (batch_len == 0) {
      segment = len;
      batch_len = len;
    } else if (len == segment) {
      batch_len += len;
    } else if (len < segment) {
      batch_len += len;  // a short packet ends a GSO batch
      flush(tx_.data(), batch_len, segment);
      batch_len = 0;
    } else {
      flush(tx_.data(), batch_len, segment);
      std::memmove(tx_.data(), out, len);
      segment = len;
      batch_len = len;
    }
    if (++packets >= max_packets) break;
    if (batch_len + room + headroom > std::min(tx_.size(), kMaxGsoBytes)) {
      flush(tx_.data(), batch_len, segment);
      batch_len = 0;
    }
  }
  flush(tx_.data(), batch_len, segment);
  ngtcp2_conn_update_pkt_tx_time(conn_, ts);
  arm_timer();
  // A full round means more may be waiting; pacing decides when via the timer.
  for (std::int64_t id : stopped)
    if (Stream* s = find(id); s && s->handler) s->handler->on_stream_stop_sending();
}

bool Connection::flush(const std::uint8_t* data, std::size_t size, std::size_t segment) {
  if (size == 0) return true;
  datagrams_sent_ += segment ? (size + segment - 1) / segment : 1;
  bytes_sent_ += size;
  return endpoint_.link->send(remote_, &local_, data, size, segment);
}

std::int64_t Connection::open_stream(StreamHandler& handler) {
  if (state_ != State::open) return -1;
  std::int64_t id = -1;
  int rv = ngtcp2_conn_open_bidi_stream(conn_, &id, nullptr);
  if (rv != 0) return -1;
  streams_[id].handler = &handler;
  return id;
}

void Connection::attach(std::int64_t id, StreamHandler& handler) { streams_[id].handler = &handler; }

void Connection::release(std::int64_t id, std::uint64_t code) {
  auto it = streams_.find(id);
  if (it == streams_.end()) return;
  it->second.handler = nullptr;
  if (state_ == State::open || state_ == State::handshaking) {
    ngtcp2_conn_shutdown_stream(conn_, 0, id, code);
    schedule_write();
  }
}

void Connection::write(std::int64_t id, const std::uint8_t* data, std::size_t size) {
  Stream* s = find(id);
  if (!s || s->write_shut || s->send.fin || size == 0) return;
  while (size > 0) {
    auto [space, room] = write_space(id);
    std::size_t n = std::min(size, room);
    std::memcpy(space, data, n);
    data += n;
    size -= n;
    s->send.chunks.back().size += n;
    s->send.written += n;
  }
  queue(id, *s);
}

std::pair<std::uint8_t*, std::size_t> Connection::write_space(std::int64_t id) {
  Stream* s = find(id);
  if (!s || s->write_shut || s->send.fin) return {nullptr, 0};
  auto& chunks = s->send.chunks;
  if (chunks.empty() || chunks.back().size == kChunk)
    chunks.push_back(Chunk{std::make_unique_for_overwrite<std::uint8_t[]>(kChunk), 0});
  return {chunks.back().bytes.get() + chunks.back().size, kChunk - chunks.back().size};
}

void Connection::commit(std::int64_t id, std::size_t size) {
  Stream* s = find(id);
  if (!s || size == 0 || s->send.chunks.empty()) return;
  s->send.chunks.back().size += size;
  s->send.written += size;
  queue(id, *s);
}

void Connection::finish(std::int64_t id) {
  Stream* s = find(id);
  if (!s || s->write_shut || s->send.fin) return;
  s->send.fin = true;
  queue(id, *s);
}

void Connection::abort(std::int64_t id, std::uint64_t code) {
  Stream* s = find(id);
  if (!s) return;
  s->write_shut = true;
  if (state_ == State::open) {
    ngtcp2_conn_shutdown_stream(conn_, 0, id, code);
    schedule_write();
  }
}

void Connection::stop_reading(std::int64_t id, std::uint64_t code) {
  if (!find(id) || state_ != State::open) return;
  ngtcp2_conn_shutdown_stream_read(conn_, 0, id, code);
  schedule_write();
}

void Connection::consumed(std::int64_t id, std::size_t size) {
  if (size == 0 || (state_ != State::open && state_ != State::handshaking)) return;
  ngtcp2_conn_extend_max_stream_offset(conn_, id, size);
  ngtcp2_conn_extend_max_offset(conn_, size);
  schedule_write();
}

std::size_t Connection::buffered(std::int64_t id) const {
  const Stream* s = find(id);
  return s ? static_cast<std::size_t>(s->send.written - s->send.acked) : 0;
}

int Connection::on_recv_stream_data(std::uint32_t flags, std::int64_t id, const std::uint8_t* data, std::size_t size) {
  Stream* s = find(id);
  bool fin = flags & NGTCP2_STREAM_DATA_FLAG_FIN;
  if (!s || !s->handler) {
    // Nobody wants these bytes any more: keep the connection's credit flowing and say so.
    ngtcp2_conn_extend_max_offset(conn_, size);
    ngtcp2_conn_shutdown_stream_read(conn_, 0, id, kAppStreamReset);
    return 0;
  }
  s->handler->on_stream_data(data, size, fin);
  return 0;
}

int Connection::on_acked(std::int64_t id, std::uint64_t offset, std::uint64_t size) {
  Stream* s = find(id);
  if (!s) return 0;
  auto& b = s->send;
  bool was_full = b.written - b.acked >= config_.stream_send_buffer;
  b.acked = std::max(b.acked, offset + size);
  while (!b.chunks.empty() && b.chunks.front().size == kChunk && b.base + kChunk <= b.acked &&
         b.base + kChunk <= b.sent) {
    b.base += kChunk;
    b.chunks.pop_front();
  }
  if (was_full && b.written - b.acked < config_.stream_send_buffer && s->handler) s->handler->on_send_space();
  return 0;
}

int Connection::on_stream_close(std::uint32_t flags, std::int64_t id, std::uint64_t code) {
  auto it = streams_.find(id);
  StreamHandler* h = nullptr;
  bool clean = !(flags & NGTCP2_STREAM_CLOSE_FLAG_APP_ERROR_CODE_SET) || code == kAppNoError;
  std::uint64_t acked = 0;
  if (it != streams_.end()) {
    h = it->second.handler;
    acked = it->second.send.acked;
    clean = clean && it->second.send.fin_sent && !it->second.write_shut;
    streams_.erase(it);
  }
  if (server_ && ngtcp2_is_bidi_stream(id)) ngtcp2_conn_extend_max_streams_bidi(conn_, 1);
  if (h) h->on_stream_closed(clean, acked);
  return 0;
}

int Connection::on_stream_reset(std::int64_t id, std::uint64_t code) {
  Stream* s = find(id);
  if (s && s->handler) s->handler->on_stream_reset(code);
  return 0;
}

int Connection::on_extend_max_stream_data(std::int64_t id) {
  Stream* s = find(id);
  if (s && s->blocked) {
    s->blocked = false;
    queue(id, *s);
  }
  return 0;
}

int Connection::on_handshake_completed() {
  handshake_done_ = true;
  if (!server_ && !tls_->alpn_ok()) {
    // The server does not speak quic-tun; WIRE.md requires ALPN on both sides.
    return NGTCP2_ERR_CALLBACK_FAILURE;
  }
  state_ = State::open;
  // Both peers chose the ARQ extension: the link wraps from now on.
  try {
    if (tls_->alpn_arq()) endpoint_.link->start_arq();
  } catch (const std::exception& e) {  // no exception may cross ngtcp2's C frames
    spdlog::error("{}: {}", endpoint_.log_name, e.what());
    return NGTCP2_ERR_CALLBACK_FAILURE;
  }
  observer_.on_handshake_done(*this);
  return 0;
}

int Connection::on_new_connection_id(ngtcp2_cid* cid, std::uint8_t* token, std::size_t cidlen) {
  cid->datalen = cidlen;
  try {
    random_bytes(std::span(cid->data, cidlen));
  } catch (const std::exception& e) {  // no exception may cross ngtcp2's C frames
    spdlog::error("{}: {}", endpoint_.log_name, e.what());
    return NGTCP2_ERR_CALLBACK_FAILURE;
  }
  if (ngtcp2_crypto_generate_stateless_reset_token(token, endpoint_.reset_secret, 32, cid) != 0)
    return NGTCP2_ERR_CALLBACK_FAILURE;
  observer_.on_connection_id(*this, *cid, true);
  return 0;
}

int Connection::on_remove_connection_id(const ngtcp2_cid* cid) {
  observer_.on_connection_id(*this, *cid, false);
  return 0;
}

}  // namespace quictun::quic

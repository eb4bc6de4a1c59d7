// One QUIC connection (client or server side) over ngtcp2: packets in and out, timers, flow
// control, and a send buffer per stream. Tunnels talk to it through stream ids and the
// StreamHandler interface; they never see ngtcp2.
#pragma once

#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "quic/cc/builtin.hpp"
#include "quic/cc/plugin_controller.hpp"
#include "link/link.hpp"
#include "quic/tls.hpp"
#include "quic/udp_socket.hpp"
#include "util/event.hpp"

namespace quictun::quic {

// QUIC transport settings; every field a knob of quictun.toml's [quic] table.
struct TransportConfig {
  // The congestion controller, by name (normalized: lower case, '_' for '-'): one of ngtcp2's
  // own (builtin_congestion()) or one a plugin provides, created at start-up into
  // congestion_plugin. The default is the loss-tolerant model-based plugins/cc-bbr1.
  std::string congestion = "bbr1";
  std::shared_ptr<sdk::CongestionControl> congestion_plugin;  // set when `congestion` is a plugin's
  std::uint64_t handshake_timeout_ns = 10'000'000'000ull;  // give up a handshake after this, in ns
  // The RTT assumed before the first sample, which sets the handshake's retransmission timer
  // (3x this, doubling). ngtcp2's 333 ms starts at 1 s, so a 10 s handshake timeout allows only 3
  // tries; at 10 % loss both ways a try fails often enough that one handshake in a benchmark run
  // did. 100 ms allows 5 tries (0.3, 0.9, 2.1, 4.5, 9.3 s). A try resent early costs a few
  // datagrams; a link whose RTT is longer than this just sees a spare copy of the first flight.
  std::uint64_t initial_rtt_ns = 100'000'000ull;
  std::uint64_t idle_timeout_ns = 30'000'000'000ull;       // close a silent connection after this, in ns
  std::uint64_t keep_alive_ns = 0;                         // PING after this much silence (0: off), in ns
  // Windows sized for long fat lossy links: 100 Mbit/s at 200 ms is 2.5 MB in flight, and a
  // receiver holding data behind losses needs several times that (measured: 200 ms / 5 % went
  // from 36 to 78 Mbit/s with these; bench/RESULTS.md). They are credit, not memory.
  std::uint64_t stream_window = 16 << 20;       // initial per-stream receive window, in bytes
  std::uint64_t connection_window = 32 << 20;   // initial per-connection receive window, in bytes
  std::uint64_t max_stream_window = 64 << 20;   // auto-tuning cap per stream, in bytes
  std::uint64_t max_connection_window = 128 << 20;  // auto-tuning cap per connection, in bytes
  std::uint64_t max_streams = 4096;             // concurrent streams the peer may open
  std::size_t stream_send_buffer = 16 << 20;    // unacknowledged bytes buffered per stream before the app socket is paused
  // ACK every 4th ack-eliciting packet, not every 2nd (a gap, and the 25 ms ack delay, still make
  // ngtcp2 answer at once): under loss each ACK frame carries up to 32 ranges (~130 bytes a
  // packet). At 4 the ACK stream is 2.1 % of the data bytes at 5 % loss; 8 halves that (wire
  // bytes 1.124 instead of ~1.14 at 50 ms / 5 %) but cost ~1 % of goodput at 200 ms / 5 % in
  // paired runs (bench/RESULTS.md), so 8 is the user's choice ([quic] ack_every), not the default.
  std::uint64_t ack_every = 4;
  // Selective retransmission below QUIC (link/arq.hpp): hides random loss from the congestion
  // controller. Offered (client) / accepted (server) through ALPN, so a peer without it (the Go
  // quic-tun) simply does not use it.
  bool arq = true;
};

// Application error codes carried in RESET_STREAM / STOP_SENDING / CONNECTION_CLOSE.
inline constexpr std::uint64_t kAppNoError = 0;
inline constexpr std::uint64_t kAppStreamReset = 1;  // the application connection was reset

// Receives the events of one stream. Calls arrive from the connection's own callbacks; a
// handler must not destroy the connection from them.
class StreamHandler {
 public:
  virtual ~StreamHandler() = default;
  virtual void on_stream_data(const std::uint8_t* data, std::size_t size, bool fin) = 0;
  virtual void on_stream_reset(std::uint64_t code) = 0;         // the peer aborted its direction
  // The peer will read no more (its STOP_SENDING; ngtcp2 already reset our direction). Learnt
  // when we next try to send on the stream; the peer's error code is not known.
  virtual void on_stream_stop_sending() = 0;
  virtual void on_send_space() = 0;                             // buffered bytes fell below the limit
  // The stream is finished: both directions done (clean) or aborted / connection lost (!clean).
  // `acked` counts the bytes of ours the peer acknowledged on it.
  virtual void on_stream_closed(bool clean, std::uint64_t acked) = 0;
};

// A connection's counters and its controller's view, for the REST API and /metrics.
struct ConnectionStats {
  std::uint64_t smoothed_rtt_ns = 0, min_rtt_ns = 0, latest_rtt_ns = 0, rttvar_ns = 0;  // 0 until sampled
  std::uint64_t cwnd = 0;             // congestion window, in bytes
  std::uint64_t bytes_in_flight = 0;  // sent and neither acknowledged nor lost
  std::uint64_t datagrams_sent = 0, bytes_sent = 0;          // QUIC packets handed to the link
  std::uint64_t datagrams_received = 0, bytes_received = 0;  // datagrams from the peer
  bool loss_known = false;            // only plugin controllers see each loss (ngtcp2 1.11 does not count them)
  std::uint64_t packets_lost = 0, bytes_lost = 0;
  std::uint64_t arq_resent = 0;       // datagrams sent again on the peer's request
  std::uint64_t arq_repaired = 0;     // our gaps the peer filled
  std::string controller;             // congestion controller name
  std::string link;                   // "plain" or "arq"
  std::size_t streams = 0;
  bool handshake_done = false;
};

class Connection;

// Receives the events of the connection as a whole.
class ConnectionObserver {
 public:
  virtual ~ConnectionObserver() = default;
  virtual void on_handshake_done(Connection&) {}
  virtual void on_remote_stream(Connection&, std::int64_t /*stream_id*/) {}  // the peer opened a stream
  virtual void on_streams_available(Connection&) {}                          // open_stream() may succeed again
  virtual void on_connection_id(Connection&, const ngtcp2_cid&, bool /*added*/) {}
  // The peer now sends from another address (NAT rebinding, migration): remote() says which.
  virtual void on_path_changed(Connection&, const SocketAddress& /*old_remote*/) {}
  // The connection is over; `reason` is empty for a clean close. It may be destroyed after
  // this returns, but not from inside the call.
  virtual void on_connection_closed(Connection&, const std::string& reason) = 0;
};

// Reads QUIC packets from its link (link/link.hpp) and writes them to it; what the link does
// below (ARQ) is none of its business.
class Connection : private link::PacketSink {
 public:
  // The length of the connection IDs this side issues (and, on a server, expects in short
  // headers). 64 random bits are far beyond guessing, and every byte here is paid on every
  // packet: 16 cost ~0.6 % of a full packet's payload.
  static constexpr std::size_t kConnectionIdLength = 8;
  struct Endpoint {
    event_base* loop;
    link::Link* link;                  // the endpoint's link to this peer: outlives the connection
    const std::uint8_t* reset_secret;  // 32 bytes: stateless reset tokens derive from it
    std::string log_name;              // "client" / "server", for log lines
  };

  // Starts a client handshake to `remote`.
  static std::unique_ptr<Connection> connect(const Endpoint& endpoint, const TransportConfig& config,
                                             const TlsClientContext& tls, const SocketAddress& remote,
                                             ConnectionObserver& observer);
  // Accepts a client's first Initial packet; nullptr when it is not acceptable.
  // `first` is the QUIC packet itself. `retried_odcid` is set when `first` carried a valid Retry
  // token: the client's original destination ID, which the server must echo in its transport
  // parameters.
  static std::unique_ptr<Connection> accept(const Endpoint& endpoint, const TransportConfig& config,
                                            const TlsServerContext& tls, const ReceivedDatagram& first,
                                            ConnectionObserver& observer, const ngtcp2_cid* retried_odcid = nullptr);
  ~Connection() override;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Streams. open_stream returns -1 when the peer's stream limit is reached (wait for
  // on_streams_available).
  std::int64_t open_stream(StreamHandler& handler);
  void attach(std::int64_t stream_id, StreamHandler& handler);
  // Forgets the handler. A stream that is still open is aborted in both directions.
  void release(std::int64_t stream_id, std::uint64_t code = kAppStreamReset);
  void write(std::int64_t stream_id, const std::uint8_t* data, std::size_t size);
  // Room at the end of the stream's send buffer, to read application bytes straight into
  // (saves a copy); {nullptr, 0} when the stream takes no more. commit() sends what was put there.
  std::pair<std::uint8_t*, std::size_t> write_space(std::int64_t stream_id);
  void commit(std::int64_t stream_id, std::size_t size);
  void finish(std::int64_t stream_id);                      // FIN after what was written
  void abort(std::int64_t stream_id, std::uint64_t code);  // RESET_STREAM + STOP_SENDING
  void stop_reading(std::int64_t stream_id, std::uint64_t code);  // STOP_SENDING only
  // Returns receive credit for bytes the application has taken.
  void consumed(std::int64_t stream_id, std::size_t size);
  // Bytes written but not yet acknowledged.
  std::size_t buffered(std::int64_t stream_id) const;
  bool can_write(std::int64_t stream_id) const { return buffered(stream_id) < config_.stream_send_buffer; }

  // Closes the connection with CONNECTION_CLOSE (graceful for the peer).
  void close(std::uint64_t app_error = kAppNoError, const std::string& reason = {});

  bool handshake_done() const { return handshake_done_; }
  bool usable() const { return state_ == State::open; }
  bool closed() const { return state_ == State::closed; }
  const SocketAddress& remote() const { return remote_; }
  std::string peer_certificate() const { return tls_ ? tls_->peer_certificate_subject() : std::string(); }
  std::vector<ngtcp2_cid> connection_ids() const;
  std::size_t stream_count() const { return streams_.size(); }
  // When the peer was last heard from: stream data or an acknowledgement of ours, in a packet
  // that decrypted (a datagram alone proves nothing).
  std::uint64_t last_receive_ns() const { return last_rx_ns_; }
  ConnectionStats stats() const;
  // A server's connection decrypted its client's Initial: false after a forged or garbled
  // first datagram, which the endpoint then forgets at once.
  bool initial_decrypted() const { return crypto_received_; }
  // Drops the connection without telling the peer (it is presumed dead).
  void abandon(const std::string& reason);
  // A client's connection moves to `local` (a new socket's address or port) at once, with a
  // fresh connection ID (RFC 9000 9.5); the server validates the new path. False when ngtcp2
  // refuses (handshake not confirmed, no spare connection ID): the old path stays in use, and
  // the caller must not move the link to the new socket.
  bool migrate(const SocketAddress& local);

 private:
  struct Chunk {
    std::unique_ptr<std::uint8_t[]> bytes;  // fixed capacity: bytes never move once handed to ngtcp2
    std::size_t size = 0;
  };
  struct SendBuffer {
    std::deque<Chunk> chunks;
    std::uint64_t base = 0;     // stream offset of chunks.front()[0]
    std::uint64_t acked = 0;    // everything before this offset is acknowledged
    std::uint64_t sent = 0;     // everything before this offset was given to ngtcp2
    std::uint64_t written = 0;  // stream offset after the last byte written
    bool fin = false;           // the application finished this direction
    bool fin_sent = false;
  };
  struct Stream {
    StreamHandler* handler = nullptr;
    SendBuffer send;
    bool queued = false;    // in ready_
    bool blocked = false;   // stream flow control: waiting for MAX_STREAM_DATA
    bool write_shut = false;  // aborted or STOP_SENDING: nothing more goes out
  };
  enum class State { handshaking, open, closing, draining, closed };

  Connection(const Endpoint& endpoint, const TransportConfig& config, ConnectionObserver& observer,
             const SocketAddress& remote, const SocketAddress& local);
  void init_settings(ngtcp2_settings& settings, ngtcp2_transport_params& params, bool server);
  void set_path_sizes(ngtcp2_settings& settings, std::size_t headroom);
  static ngtcp2_callbacks callbacks(bool server);

  void schedule_write();
  void write_packets();
  bool flush(const std::uint8_t* data, std::size_t size, std::size_t segment);
  // link::PacketSink: a QUIC packet from the link.
  void on_packet(const ReceivedDatagram& packet) override;
  std::uint64_t min_rtt_ns() const override;
  void read_packet(const ReceivedDatagram& datagram);
  void sync_path();  // follows ngtcp2's current path (migration, or back after a failed validation)
  void trace_state(std::uint64_t now);  // once a second at log level trace: RTT, window, controller state
  void install_controller();            // puts config_.congestion_plugin's controller in conn_
  void arm_timer();
  void on_timer();
  void send_close(const ngtcp2_ccerr& err);  // writes, keeps and sends CONNECTION_CLOSE
  void fail(const std::string& reason);              // close with a transport error
  void enter_closing(const std::string& reason);
  void enter_draining(const std::string& reason);
  void finish_close();
  void notify_streams_lost();
  void handle_ngtcp2_error(int rv, const char* where);
  std::string tls_failure_text() const;
  void queue(std::int64_t stream_id, Stream& stream);
  Stream* find(std::int64_t stream_id);
  const Stream* find(std::int64_t stream_id) const;

  // ngtcp2 callbacks, as members.
  int on_recv_stream_data(std::uint32_t flags, std::int64_t id, const std::uint8_t* data, std::size_t size);
  int on_acked(std::int64_t id, std::uint64_t offset, std::uint64_t size);
  int on_stream_close(std::uint32_t flags, std::int64_t id, std::uint64_t code);
  int on_stream_reset(std::int64_t id, std::uint64_t code);
  int on_extend_max_stream_data(std::int64_t id);
  int on_handshake_completed();
  int on_new_connection_id(ngtcp2_cid* cid, std::uint8_t* token, std::size_t cidlen);
  int on_remove_connection_id(const ngtcp2_cid* cid);
  friend struct ConnectionCallbacks;

  Endpoint endpoint_;
  TransportConfig config_;
  ConnectionObserver& observer_;
  SocketAddress remote_;
  SocketAddress local_;
  bool server_ = false;
  State state_ = State::handshaking;
  bool handshake_done_ = false;
  std::string close_reason_;
  std::vector<std::uint8_t> close_packet_;  // CONNECTION_CLOSE, resent to stray packets while closing
  std::uint64_t close_resends_ = 0;

  ngtcp2_crypto_conn_ref conn_ref_{};
  std::unique_ptr<TlsSession> tls_;
  ngtcp2_conn* conn_ = nullptr;
  std::unique_ptr<PluginController> plugin_cc_;  // a plugin's controller; must outlive conn_ (deleted first)
  std::unordered_map<std::int64_t, Stream> streams_;
  std::deque<std::int64_t> ready_;  // streams with bytes or FIN to send, round robin
  std::vector<std::uint8_t> tx_;    // one GSO batch
  std::vector<std::uint16_t> path_probes_;  // PMTUD sizes for ngtcp2_conn_*_new, which copies them
  Event timer_;
  Event write_event_;
  bool in_callback_ = false;
  bool crypto_received_ = false;  // some CRYPTO data decrypted (the handshake is real)
  bool stateless_reset_ = false;  // the peer answered with a stateless reset
  std::uint64_t last_rx_ns_ = 0;
  std::uint64_t last_trace_ns_ = 0;
  std::uint64_t datagrams_sent_ = 0, bytes_sent_ = 0;  // what went to the link (the link counts what came)
};

}  // namespace quictun::quic

// The data path of one tunnel: bytes between an application socket and a QUIC stream, both
// ways, with backpressure, half-close and reset mapping (WIRE.md, quictun's extensions).
//
// Backpressure: the socket is read only while the stream's send buffer has room; QUIC receive
// credit is returned only for bytes the socket has taken. So neither side buffers without bound.
//
// Credit: every byte the stream hands us is credited back to the connection exactly once. Bytes
// written to the socket are credited as they go; whatever is left when the relay lets go of the
// stream (refused, reset, application gone, or the stream simply closed) is credited then, since
// ngtcp2 credits only the bytes it has not yet handed over. Otherwise each such tunnel would
// shrink the connection's window for good.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "quic/connection.hpp"
#include "tunnel/registry.hpp"
#include "util/event.hpp"
#include "util/fd.hpp"

namespace quictun::tunnel {

class Relay : public quic::StreamHandler {
 public:
  // How the relay ended, for the owner's log line.
  struct Outcome {
    bool clean = true;
    std::string reason;
    std::uint64_t bytes_up = 0;    // application -> stream
    std::uint64_t bytes_down = 0;  // stream -> application
    // Why the tunnel failed, for /metrics: "" (it did not), "0x02", "0x03", "timeout", "error".
    std::string failure;
    bool plugin_error = false;     // a token plugin threw
  };

  // The life of a relay. It only moves forward, except that a client may rewind `relaying` to
  // `setup` to replay its bytes on a new connection (rewind_for_retry).
  enum class State {
    setup,     // application bytes are kept in pending(); stream bytes wait for a socket
    relaying,  // application bytes go straight to the stream
    replying,  // the stream is gone; a last reply is written to the application, then it is closed
    done,      // nothing more happens; the owner may destroy the relay
  };

  // Which way bytes move: from the application to the stream, or from the stream to it.
  enum class Way { to_stream, to_application };
  // Sees a copy of the application's bytes as they are relayed (size 0: that way has ended), once
  // each, after they were queued: it can neither delay nor change them. Returning false removes it.
  using Tap = std::function<bool(Way, const std::uint8_t*, std::size_t)>;

  Relay(event_base* loop, std::string log_name);
  ~Relay() override;
  Relay(const Relay&) = delete;
  Relay& operator=(const Relay&) = delete;

  void set_tap(Tap tap) { tap_ = std::move(tap); }
  // Called once when the relay is done; the owner may destroy it later, not from inside.
  void on_finished(std::function<void(const Outcome&)> cb) { finished_cb_ = std::move(cb); }

  // The application socket. Until attach_socket, stream bytes are held (within QUIC credit).
  void attach_socket(Fd fd);
  // The stream. Until attach_stream, application bytes are kept in `pending()`.
  void attach_stream(quic::Connection& connection, std::int64_t stream_id);
  State state() const { return state_; }
  bool finished() const { return state_ == State::done; }

  // Bytes read from the application before the stream existed.
  const std::string& pending() const { return pending_; }
  bool app_eof() const { return up_ != Up::open; }
  // Replaces the held application bytes (a token source may rewrite them).
  void replace_pending(std::string bytes) { pending_ = std::move(bytes); }
  // Sends raw bytes on the stream ahead of the application's (the token handshake).
  void send_on_stream(const std::uint8_t* data, std::size_t size);
  // Starts moving application bytes to the stream (pending first).
  void start_upstream();
  // Starts reading the application socket into pending() (before the stream is bound).
  void start_reading() { update_read_interest(); }

  // Lets go of the stream, writes `bytes` to the application, then closes it (a refusal
  // reply), and finishes.
  void fail_with_reply(const std::string& bytes, const std::string& reason);
  // Aborts everything: stream reset, socket reset.
  void abort(const std::string& reason);
  // Keeps a copy of the application bytes sent on the stream (at most `limit`; reading pauses
  // beyond it), so they can be sent again on a new connection if this one dies first.
  void record_upstream(std::size_t limit) { record_limit_ = limit; }
  void stop_recording();
  // Forgets the dead stream and puts the recorded bytes back into pending(). False when the
  // bytes cannot be replayed (recording overflowed, or the application's data is gone).
  bool rewind_for_retry();
  Outcome& outcome() { return outcome_; }
  const Outcome& outcome() const { return outcome_; }  // live: the byte counts move as bytes do
  std::int64_t stream_id() const { return stream_id_; }  // -1 before the stream exists
  // The connection of the live stream, for the REST API's RTT and window; nullptr when none.
  const quic::Connection* stream_connection() const { return conn_; }
  // The tunnel's entry in the registry; it is removed when the relay finishes.
  void set_record(TunnelRegistry::Handle handle) { record_ = std::move(handle); }
  TunnelRegistry::Handle& record() { return record_; }
  // Bytes this relay holds: application bytes not yet on the stream, stream bytes not yet
  // written to the socket, and sent stream bytes not yet acknowledged.
  std::size_t buffered_bytes() const;

 protected:
  // Lets a subclass take handshake bytes off the front of the stream (the status byte, the
  // token). Returns how many of `size` bytes it consumed; the rest flows to the application.
  virtual std::size_t take_stream_prefix(const std::uint8_t*, std::size_t, bool /*fin*/) { return 0; }
  // Called whenever new application bytes arrived in pending() before upstream started.
  virtual void on_pending_bytes() {}
  // The connection carrying our stream, or nullptr when there is no live stream (not attached
  // yet, closed, or let go). Never keep it: it may be gone once the stream is.
  quic::Connection* connection() const { return conn_; }
  // Ends our direction of the stream after `bytes` and reads no more of the other (a refusal
  // on the wire). Stream bytes held so far are dropped and credited. The relay finishes when the
  // peer closes its side (or abort() is called).
  void decline_stream(const std::uint8_t* bytes, std::size_t size);

  // StreamHandler; a subclass that overrides it must call this one.
  void on_stream_closed(bool clean, std::uint64_t acked) override;

 private:
  // The application -> stream direction.
  enum class Up {
    open,      // the application may still send
    ended,     // the application sent EOF; the stream's FIN is not sent yet
    fin_sent,  // FIN queued on the stream
  };
  // The stream -> application direction.
  enum class Down {
    open,      // more stream bytes may come
    fin,       // the stream's FIN arrived; the socket gets it once down_ is written
    shut,      // FIN passed on to the application (shutdown SHUT_WR)
  };
  // How complete() leaves the socket and the stream.
  enum class Ending {
    clean,    // socket closed with FIN, stream already over
    refused,  // socket closed with FIN, but the tunnel did not do its job
    broken,   // socket reset (RST), stream reset
  };

  // StreamHandler
  void on_stream_data(const std::uint8_t* data, std::size_t size, bool fin) override;
  void on_stream_reset(std::uint64_t code) override;
  void on_stream_stop_sending() override;
  void on_send_space() override;

  void upstream_write(const char* data, std::size_t size);
  // Shows `size` bytes about to be counted in outcome_.bytes_up to the tap, except those it saw
  // before a rewind (a retry sends them again).
  void tap_to_stream(const std::uint8_t* data, std::size_t size);
  void tap(Way way, const std::uint8_t* data, std::size_t size);
  void send_fin_if_due();
  void on_readable();
  void on_writable();
  void update_read_interest();
  void flush_down();
  void maybe_complete();
  void give_credit(std::size_t size);
  // Returns the credit of every byte received and not yet credited, then forgets the stream;
  // `release` also tells the connection (aborting it with `code` if it is still open).
  void let_go_of_stream(bool release, std::uint64_t code = quic::kAppStreamReset);
  // The one way a relay ends: stream let go (with its credit), socket closed, owner told.
  void complete(Ending ending, const std::string& reason, std::uint64_t stream_code = quic::kAppStreamReset);

  event_base* loop_;
  std::string log_name_;
  State state_ = State::setup;
  Up up_ = Up::open;
  Down down_ = Down::open;
  quic::Connection* conn_ = nullptr;  // set while we have a live stream on it
  std::int64_t stream_id_ = -1;
  std::uint64_t received_ = 0;  // stream bytes handed to us on the current stream
  std::uint64_t credited_ = 0;  // of those, bytes whose credit went back to the connection
  Fd fd_;
  Event read_event_;
  Event write_event_;
  Event flush_soon_;          // batches the stream bytes of one burst of packets into one write
  EvbufferPtr down_buf_;      // stream -> application, waiting for the socket
  std::string pending_;       // application -> stream, before the stream exists
  std::size_t record_limit_ = 0;  // 0: not recording
  std::string replay_;        // application bytes sent on the current stream, while recording
  Outcome outcome_;
  std::function<void(const Outcome&)> finished_cb_;
  Tap tap_;
  std::uint64_t tapped_to_stream_ = 0;  // bytes_up the tap has seen (a retry rewinds bytes_up, not this)
  bool tapped_fin_[2] = {false, false};  // the tap was told each way ended
  TunnelRegistry::Handle record_;  // last: its removal reads outcome_, so it goes first
};

}  // namespace quictun::tunnel

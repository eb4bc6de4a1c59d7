// The data path of one tunnel: bytes between an application socket and a QUIC stream, both
// ways, with backpressure, half-close and reset mapping (WIRE.md, quictun's extensions).
//
// Backpressure: the socket is read only while the stream's send buffer has room; QUIC receive
// credit is returned only for bytes the socket has taken. So neither side buffers without bound.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "quic/connection.hpp"
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
  };

  Relay(event_base* loop, std::string log_name);
  ~Relay() override;
  Relay(const Relay&) = delete;
  Relay& operator=(const Relay&) = delete;

  // Called once when the relay is done; the owner may destroy it later, not from inside.
  void on_finished(std::function<void(const Outcome&)> cb) { finished_cb_ = std::move(cb); }

  // The application socket. Until attach_socket, stream bytes are held (within QUIC credit).
  void attach_socket(Fd fd);
  // The stream. Until attach_stream, application bytes are kept in `pending()`.
  void attach_stream(quic::Connection& connection, std::int64_t stream_id);
  bool has_stream() const { return conn_ != nullptr; }
  bool has_socket() const { return static_cast<bool>(fd_); }
  bool finished() const { return done_; }

  // Bytes read from the application before the stream existed.
  const std::string& pending() const { return pending_; }
  bool app_eof() const { return app_eof_; }
  // Replaces the held application bytes (a token source may rewrite them).
  void replace_pending(std::string bytes) { pending_ = std::move(bytes); }
  // Sends raw bytes on the stream ahead of the application's (the token handshake).
  void send_on_stream(const std::uint8_t* data, std::size_t size);
  // Starts moving application bytes to the stream (pending first).
  void start_upstream();
  // Starts reading the application socket into pending() (before the stream is bound).
  void start_reading() { update_read_interest(); }

  // Writes `bytes` to the application, then closes it (a refusal reply), and finishes.
  void fail_with_reply(const std::string& bytes, const std::string& reason);
  // Aborts everything: stream reset, socket reset.
  void abort(const std::string& reason);
  // Keeps a copy of the application bytes sent on the stream (at most `limit`; reading pauses
  // beyond it), so they can be sent again on a new connection if this one dies first.
  void record_upstream(std::size_t limit) { record_limit_ = limit; recording_ = true; }
  void stop_recording() { recording_ = false; replay_.clear(); replay_.shrink_to_fit(); update_read_interest(); }
  // Forgets the dead stream and puts the recorded bytes back into pending(). False when the
  // bytes cannot be replayed (recording overflowed, or the application's data is gone).
  bool rewind_for_retry();
  Outcome& outcome() { return outcome_; }

 protected:
  // Lets a subclass take handshake bytes off the front of the stream (the status byte, the
  // token). Returns how many of `size` bytes it consumed; the rest flows to the application.
  virtual std::size_t take_stream_prefix(const std::uint8_t*, std::size_t, bool /*fin*/) { return 0; }
  // Called whenever new application bytes arrived in pending() before upstream started.
  virtual void on_pending_bytes() {}
  void give_credit(std::size_t size);
  void finish(bool clean, const std::string& reason);
  void set_hold_downstream(bool hold) { hold_down_ = hold; flush_down(); }

  quic::Connection* conn_ = nullptr;
  std::int64_t stream_id_ = -1;

 private:
  // StreamHandler
  void on_stream_data(const std::uint8_t* data, std::size_t size, bool fin) override;
  void on_stream_reset(std::uint64_t code) override;
  void on_stream_stop_sending(std::uint64_t code) override;
  void on_send_space() override;

 protected:
  void on_stream_closed(bool clean, std::uint64_t acked) override;

 private:
  void upstream_write(const char* data, std::size_t size);
  void on_readable();
  void on_writable();
  void update_read_interest();
  void flush_down();
  void maybe_done();
  void reset_socket();

  event_base* loop_;
  std::string log_name_;
  Fd fd_;
  Event read_event_;
  Event write_event_;
  Event flush_soon_;          // batches the stream bytes of one burst of packets into one write
  EvbufferPtr down_;          // stream -> application, waiting for the socket
  std::string pending_;       // application -> stream, before the stream exists
  bool upstream_ = false;     // application bytes go straight to the stream
  bool app_eof_ = false;      // the application finished sending
  bool up_finished_ = false;  // FIN queued on the stream
  bool down_fin_ = false;     // the stream's FIN arrived
  bool down_shut_ = false;    // FIN passed on to the application (shutdown SHUT_WR)
  bool stream_closed_ = false;
  bool hold_down_ = false;    // keep stream bytes back (handshake not finished)
  bool done_ = false;
  bool close_after_flush_ = false;
  bool recording_ = false;
  std::size_t record_limit_ = 0;
  std::string replay_;        // application bytes sent on the current stream, while recording_
  Outcome outcome_;
  std::function<void(const Outcome&)> finished_cb_;
};

}  // namespace quictun::tunnel

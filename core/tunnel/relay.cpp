#include "tunnel/relay.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <tuple>

#include "util/error.hpp"

namespace quictun::tunnel {
namespace {
constexpr std::size_t kPendingLimit = 64 * 1024;  // application bytes held before the stream exists
constexpr std::size_t kReadSize = 64 * 1024;
constexpr int kReadsPerWakeup = 8;                 // then let other sockets have the loop
constexpr std::size_t kFlushNow = 256 * 1024;      // write at once beyond this; else after the packet burst
}  // namespace

Relay::Relay(event_base* loop, std::string log_name)
    : loop_(loop), log_name_(std::move(log_name)), down_(evbuffer_new()) {
  flush_soon_.assign(loop, -1, 0, [this](short) { flush_down(); });
}

Relay::~Relay() {
  read_event_.reset();
  write_event_.reset();
  flush_soon_.reset();
  if (conn_ && !stream_closed_) conn_->release(stream_id_);
}

void Relay::attach_socket(Fd fd) {
  fd_ = std::move(fd);
  read_event_.assign(loop_, fd_.get(), EV_READ | EV_PERSIST, [this](short) { on_readable(); });
  write_event_.assign(loop_, fd_.get(), EV_WRITE | EV_PERSIST, [this](short) { on_writable(); });
  update_read_interest();
  flush_down();
}

void Relay::attach_stream(quic::Connection& connection, std::int64_t stream_id) {
  conn_ = &connection;
  stream_id_ = stream_id;
}

void Relay::send_on_stream(const std::uint8_t* data, std::size_t size) {
  if (conn_ && !stream_closed_) conn_->write(stream_id_, data, size);
}

void Relay::start_upstream() {
  upstream_ = true;
  if (!conn_ || stream_closed_) return;
  if (!pending_.empty()) {
    upstream_write(pending_.data(), pending_.size());
    pending_.clear();
    pending_.shrink_to_fit();
  }
  if (app_eof_ && !up_finished_) {
    up_finished_ = true;
    conn_->finish(stream_id_);
  }
  update_read_interest();
}

void Relay::upstream_write(const char* data, std::size_t size) {
  conn_->write(stream_id_, reinterpret_cast<const std::uint8_t*>(data), size);
  outcome_.bytes_up += size;
  if (recording_) replay_.append(data, size);
}

bool Relay::rewind_for_retry() {
  if (done_ || !recording_ || replay_.size() > record_limit_) return false;
  conn_ = nullptr;
  stream_id_ = -1;
  stream_closed_ = false;
  upstream_ = false;
  up_finished_ = false;
  outcome_.bytes_up -= replay_.size();
  pending_ = std::move(replay_);
  replay_.clear();
  evbuffer_drain(down_.get(), evbuffer_get_length(down_.get()));
  down_fin_ = false;
  update_read_interest();
  return true;
}

void Relay::update_read_interest() {
  if (!read_event_) return;
  bool want = false;
  if (!done_ && !app_eof_ && !close_after_flush_) {
    if (upstream_)
      want = conn_ && !stream_closed_ && conn_->can_write(stream_id_) && !(recording_ && replay_.size() >= record_limit_);
    else
      want = pending_.size() < kPendingLimit;
  }
  if (want && !read_event_.pending(EV_READ))
    read_event_.add();
  else if (!want)
    read_event_.del();
}

void Relay::on_readable() {
  char buf[kReadSize];
  for (int i = 0; i < kReadsPerWakeup && !done_; ++i) {
    // Upstream, read straight into the stream's send buffer; before that, into pending_.
    std::uint8_t* space = nullptr;
    std::size_t room = 0;
    if (upstream_ && conn_ && !stream_closed_) std::tie(space, room) = conn_->write_space(stream_id_);
    ssize_t n = space ? ::read(fd_.get(), space, room) : ::read(fd_.get(), buf, sizeof buf);
    if (n > 0) {
      if (upstream_) {
        if (!conn_ || stream_closed_) break;
        if (space) {
          conn_->commit(stream_id_, static_cast<std::size_t>(n));
          outcome_.bytes_up += static_cast<std::uint64_t>(n);
          if (recording_) replay_.append(reinterpret_cast<const char*>(space), static_cast<std::size_t>(n));
        } else {
          upstream_write(buf, static_cast<std::size_t>(n));
        }
        if (!conn_->can_write(stream_id_) || (recording_ && replay_.size() >= record_limit_)) break;
      } else {
        pending_.append(buf, static_cast<std::size_t>(n));
        on_pending_bytes();
        break;
      }
      continue;
    }
    if (n == 0) {
      app_eof_ = true;
      if (upstream_) {
        if (conn_ && !stream_closed_ && !up_finished_) {
          up_finished_ = true;
          conn_->finish(stream_id_);
        }
      } else {
        on_pending_bytes();
      }
      break;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) break;
    // ECONNRESET and friends: the application aborted; so does the tunnel (WIRE.md: reset).
    int err = errno;
    if (conn_ && !stream_closed_) conn_->abort(stream_id_, quic::kAppStreamReset);
    finish(false, "application connection failed: " + errno_text(err));
    return;
  }
  update_read_interest();
  maybe_done();
}

void Relay::on_writable() { flush_down(); }

void Relay::give_credit(std::size_t size) {
  if (conn_ && !stream_closed_) conn_->consumed(stream_id_, size);
}

void Relay::on_stream_data(const std::uint8_t* data, std::size_t size, bool fin) {
  std::size_t taken = done_ ? size : take_stream_prefix(data, size, fin);
  give_credit(taken);
  if (done_) {
    if (taken < size) give_credit(size - taken);
    return;
  }
  if (taken < size) evbuffer_add(down_.get(), data + taken, size - taken);
  if (fin) down_fin_ = true;
  // One write per burst of packets instead of one per packet: a syscall per 1.2 KB frame was
  // the receiver's main cost.
  if (fin || evbuffer_get_length(down_.get()) >= kFlushNow)
    flush_down();
  else if (!write_event_.pending(EV_WRITE))
    flush_soon_.activate();
}

void Relay::flush_down() {
  if (hold_down_ || !fd_ || done_) return;
  while (evbuffer_get_length(down_.get()) > 0) {
    int n = evbuffer_write(down_.get(), fd_.get());
    if (n > 0) {
      if (!close_after_flush_) {
        give_credit(static_cast<std::size_t>(n));
        outcome_.bytes_down += static_cast<std::uint64_t>(n);
      }
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
      if (!write_event_.pending(EV_WRITE)) write_event_.add();
      return;
    }
    // The application went away with bytes still owed to it.
    int err = errno;
    if (conn_ && !stream_closed_) conn_->abort(stream_id_, quic::kAppStreamReset);
    finish(false, "cannot write to application: " + errno_text(err));
    return;
  }
  write_event_.del();
  if (down_fin_ && !down_shut_) {
    down_shut_ = true;
    ::shutdown(fd_.get(), SHUT_WR);  // half-close: the application still sends if it likes
  }
  if (close_after_flush_) {
    done_ = true;
    read_event_.del();
    fd_.reset();
    if (finished_cb_) finished_cb_(outcome_);
    return;
  }
  maybe_done();
}

void Relay::maybe_done() {
  if (done_ || !stream_closed_) return;
  if (evbuffer_get_length(down_.get()) == 0 && (down_shut_ || !fd_)) finish(true, {});
}

void Relay::on_stream_reset(std::uint64_t code) {
  // The other application reset its connection: so do we (a clean FIN would be a lie).
  if (conn_ && !stream_closed_) conn_->abort(stream_id_, code);
  finish(false, "peer reset the stream (code " + std::to_string(code) + ")");
}

void Relay::on_stream_stop_sending(std::uint64_t code) {
  finish(false, "peer stopped reading the stream (code " + std::to_string(code) + ")");
}

void Relay::on_send_space() { update_read_interest(); }

void Relay::on_stream_closed(bool clean, std::uint64_t /*acked*/) {
  stream_closed_ = true;
  if (done_) return;
  if (!clean && !down_fin_) {
    finish(false, "tunnel lost (stream or QUIC connection closed)");
    return;
  }
  if (!clean && !app_eof_) {
    finish(false, "tunnel lost (stream or QUIC connection closed)");
    return;
  }
  flush_down();
  maybe_done();
}

void Relay::reset_socket() {
  if (!fd_) return;
  linger lg{1, 0};  // RST instead of FIN
  setsockopt(fd_.get(), SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  fd_.reset();
}

void Relay::finish(bool clean, const std::string& reason) {
  if (done_) return;
  done_ = true;
  read_event_.del();
  write_event_.del();
  if (clean)
    fd_.reset();
  else
    reset_socket();
  if (conn_ && !stream_closed_) conn_->release(stream_id_);
  stream_closed_ = true;
  outcome_.clean = clean;
  if (outcome_.reason.empty()) outcome_.reason = reason;
  if (finished_cb_) finished_cb_(outcome_);
}

void Relay::fail_with_reply(const std::string& bytes, const std::string& reason) {
  if (done_) return;
  if (conn_ && !stream_closed_) conn_->release(stream_id_);
  stream_closed_ = true;
  outcome_.clean = false;
  outcome_.reason = reason;
  pending_.clear();
  if (!fd_ || bytes.empty()) {
    // Nothing to say: a plain close (not a reset), so the application sees an orderly end.
    done_ = true;
    read_event_.del();
    write_event_.del();
    fd_.reset();
    if (finished_cb_) finished_cb_(outcome_);
    return;
  }
  evbuffer_drain(down_.get(), evbuffer_get_length(down_.get()));
  evbuffer_add(down_.get(), bytes.data(), bytes.size());
  down_fin_ = true;
  hold_down_ = false;
  close_after_flush_ = true;
  update_read_interest();
  flush_down();
}

void Relay::abort(const std::string& reason) {
  if (conn_ && !stream_closed_) conn_->abort(stream_id_, quic::kAppStreamReset);
  finish(false, reason);
}

}  // namespace quictun::tunnel

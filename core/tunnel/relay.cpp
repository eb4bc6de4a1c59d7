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
    : loop_(loop), log_name_(std::move(log_name)), down_buf_(evbuffer_new()) {
  flush_soon_.assign(loop, -1, 0, [this](short) { flush_down(); });
}

Relay::~Relay() {
  read_event_.reset();
  write_event_.reset();
  flush_soon_.reset();
  // Destroyed before it finished (the owner is shutting down): the stream must not keep a
  // handler that no longer exists.
  let_go_of_stream(true);
}

void Relay::attach_socket(Fd fd) {
  if (state_ == State::done) return;  // the tunnel ended meanwhile; fd closes here
  fd_ = std::move(fd);
  read_event_.assign(loop_, fd_.get(), EV_READ | EV_PERSIST, [this](short) { on_readable(); });
  write_event_.assign(loop_, fd_.get(), EV_WRITE | EV_PERSIST, [this](short) { on_writable(); });
  update_read_interest();
  flush_down();
}

void Relay::attach_stream(quic::Connection& connection, std::int64_t stream_id) {
  conn_ = &connection;
  stream_id_ = stream_id;
  received_ = 0;
  credited_ = 0;
}

void Relay::send_on_stream(const std::uint8_t* data, std::size_t size) {
  if (conn_) conn_->write(stream_id_, data, size);
}

void Relay::start_upstream() {
  if (state_ != State::setup) return;
  state_ = State::relaying;
  if (!conn_) return;
  if (!pending_.empty()) {
    upstream_write(pending_.data(), pending_.size());
    pending_.clear();
    pending_.shrink_to_fit();
  }
  send_fin_if_due();
  update_read_interest();
}

void Relay::tap(Way way, const std::uint8_t* data, std::size_t size) {
  if (!tap_) return;
  bool& ended = tapped_fin_[way == Way::to_stream ? 0 : 1];
  if (ended) return;
  if (size == 0) ended = true;
  if (!tap_(way, data, size)) tap_ = nullptr;
}

void Relay::tap_to_stream(const std::uint8_t* data, std::size_t size) {
  const std::uint64_t end = outcome_.bytes_up + size;
  if (!tap_ || end <= tapped_to_stream_) return;
  const std::uint64_t start = outcome_.bytes_up;
  const auto seen = static_cast<std::size_t>(tapped_to_stream_ > start ? tapped_to_stream_ - start : 0);
  tapped_to_stream_ = end;
  tap(Way::to_stream, data + seen, size - seen);
}

void Relay::upstream_write(const char* data, std::size_t size) {
  conn_->write(stream_id_, reinterpret_cast<const std::uint8_t*>(data), size);
  tap_to_stream(reinterpret_cast<const std::uint8_t*>(data), size);
  outcome_.bytes_up += size;
  if (record_limit_) replay_.append(data, size);
}

void Relay::send_fin_if_due() {
  if (up_ != Up::ended || state_ != State::relaying || !conn_) return;
  up_ = Up::fin_sent;
  conn_->finish(stream_id_);
  tap(Way::to_stream, nullptr, 0);
}

void Relay::stop_recording() {
  record_limit_ = 0;
  replay_.clear();
  replay_.shrink_to_fit();
  update_read_interest();
}

bool Relay::rewind_for_retry() {
  if (state_ != State::relaying || !record_limit_ || replay_.size() > record_limit_) return false;
  let_go_of_stream(false);
  stream_id_ = -1;
  state_ = State::setup;
  if (up_ == Up::fin_sent) up_ = Up::ended;
  outcome_.bytes_up -= replay_.size();
  pending_ = std::move(replay_);
  replay_.clear();
  evbuffer_drain(down_buf_.get(), evbuffer_get_length(down_buf_.get()));
  down_ = Down::open;
  update_read_interest();
  return true;
}

void Relay::update_read_interest() {
  if (!read_event_) return;
  bool want = false;
  if (up_ == Up::open) {
    if (state_ == State::relaying)
      want = conn_ && conn_->can_write(stream_id_) && !(record_limit_ && replay_.size() >= record_limit_);
    else if (state_ == State::setup)
      want = pending_.size() < kPendingLimit;
  }
  if (want && !read_event_.pending(EV_READ))
    read_event_.add();
  else if (!want)
    read_event_.del();
}

void Relay::on_readable() {
  char buf[kReadSize];
  for (int i = 0; i < kReadsPerWakeup && (state_ == State::setup || state_ == State::relaying); ++i) {
    const bool upstream = state_ == State::relaying;
    if (upstream && !conn_) break;
    // Upstream, read straight into the stream's send buffer; before that, into pending_.
    std::uint8_t* space = nullptr;
    std::size_t room = 0;
    if (upstream) std::tie(space, room) = conn_->write_space(stream_id_);
    ssize_t n = space ? ::read(fd_.get(), space, room) : ::read(fd_.get(), buf, sizeof buf);
    if (n > 0) {
      if (upstream) {
        if (space) {
          tap_to_stream(space, static_cast<std::size_t>(n));
          conn_->commit(stream_id_, static_cast<std::size_t>(n));
          outcome_.bytes_up += static_cast<std::uint64_t>(n);
          if (record_limit_) replay_.append(reinterpret_cast<const char*>(space), static_cast<std::size_t>(n));
        } else {
          upstream_write(buf, static_cast<std::size_t>(n));
        }
        if (!conn_->can_write(stream_id_) || (record_limit_ && replay_.size() >= record_limit_)) break;
      } else {
        pending_.append(buf, static_cast<std::size_t>(n));
        on_pending_bytes();
        break;
      }
      continue;
    }
    if (n == 0) {
      up_ = Up::ended;
      if (upstream)
        send_fin_if_due();
      else
        on_pending_bytes();
      break;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) break;
    // ECONNRESET and friends: the application aborted; so does the tunnel (WIRE.md: reset).
    complete(Ending::broken, "application connection failed: " + errno_text(errno));
    return;
  }
  update_read_interest();
  maybe_complete();
}

void Relay::on_writable() { flush_down(); }

void Relay::give_credit(std::size_t size) {
  if (!conn_ || size == 0) return;
  credited_ += size;
  conn_->consumed(stream_id_, size);
}

void Relay::let_go_of_stream(bool release, std::uint64_t code) {
  if (!conn_) return;
  give_credit(static_cast<std::size_t>(received_ - credited_));
  if (release) conn_->release(stream_id_, code);
  conn_ = nullptr;
}

void Relay::on_stream_data(const std::uint8_t* data, std::size_t size, bool fin) {
  // Counted first: if the prefix ends the relay, letting go of the stream credits these too.
  received_ += size;
  std::size_t taken = take_stream_prefix(data, size, fin);
  if (!conn_ || (state_ != State::setup && state_ != State::relaying)) return;
  give_credit(taken);
  if (taken < size) {
    evbuffer_add(down_buf_.get(), data + taken, size - taken);
    tap(Way::to_application, data + taken, size - taken);
  }
  if (fin && down_ == Down::open) {
    down_ = Down::fin;
    tap(Way::to_application, nullptr, 0);
  }
  // One write per burst of packets instead of one per packet: a syscall per 1.2 KB frame was
  // the receiver's main cost.
  if (fin || evbuffer_get_length(down_buf_.get()) >= kFlushNow)
    flush_down();
  else if (!write_event_.pending(EV_WRITE))
    flush_soon_.activate();
}

void Relay::flush_down() {
  if (!fd_ || state_ == State::done) return;
  while (evbuffer_get_length(down_buf_.get()) > 0) {
    int n = evbuffer_write(down_buf_.get(), fd_.get());
    if (n > 0) {
      if (state_ != State::replying) {  // a reply is our own bytes, not the stream's
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
    complete(Ending::broken, "cannot write to application: " + errno_text(errno));
    return;
  }
  write_event_.del();
  if (down_ == Down::fin) {
    down_ = Down::shut;
    ::shutdown(fd_.get(), SHUT_WR);  // half-close: the application still sends if it likes
  }
  if (state_ == State::replying) {
    complete(Ending::refused, outcome_.reason);
    return;
  }
  maybe_complete();
}

void Relay::maybe_complete() {
  // Done when the stream is over and the application has everything it was owed.
  if (state_ != State::relaying || conn_) return;
  if (evbuffer_get_length(down_buf_.get()) == 0 && (down_ == Down::shut || !fd_)) complete(Ending::clean, {});
}

void Relay::on_stream_reset(std::uint64_t code) {
  // The other application reset its connection: so do we (a clean FIN would be a lie).
  complete(Ending::broken, "peer reset the stream (code " + std::to_string(code) + ")", code);
}

void Relay::on_stream_stop_sending() { complete(Ending::broken, "peer stopped reading the stream"); }

void Relay::on_send_space() { update_read_interest(); }

void Relay::on_stream_closed(bool clean, std::uint64_t /*acked*/) {
  // The connection forgets the stream now and may itself be gone later, so this is the last
  // moment to credit it: including bytes still waiting for the application, which are bounded
  // by the stream's own window.
  let_go_of_stream(false);
  if (state_ == State::setup) {
    // Nothing was relayed (a refused stream, or the client left before the backend answered).
    complete(Ending::refused, "stream closed before the tunnel was set up");
    return;
  }
  if (state_ != State::relaying) return;
  if (!clean && (down_ == Down::open || up_ == Up::open)) {
    complete(Ending::broken, "tunnel lost (stream or QUIC connection closed)");
    return;
  }
  flush_down();
  maybe_complete();
}

void Relay::complete(Ending ending, const std::string& reason, std::uint64_t stream_code) {
  if (state_ == State::done) return;
  state_ = State::done;
  read_event_.del();
  write_event_.del();
  flush_soon_.del();
  let_go_of_stream(true, stream_code);
  evbuffer_drain(down_buf_.get(), evbuffer_get_length(down_buf_.get()));
  if (ending == Ending::broken && fd_) {
    linger lg{1, 0};  // RST instead of FIN
    setsockopt(fd_.get(), SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  }
  fd_.reset();
  outcome_.clean = ending == Ending::clean;
  if (outcome_.reason.empty()) outcome_.reason = reason;
  if (finished_cb_) finished_cb_(outcome_);  // the owner only retires us: we are still here after it
  record_.reset();  // an ended tunnel is no longer listed
}

void Relay::fail_with_reply(const std::string& bytes, const std::string& reason) {
  if (state_ == State::done || state_ == State::replying) return;
  outcome_.reason = reason;
  let_go_of_stream(true);
  pending_.clear();
  evbuffer_drain(down_buf_.get(), evbuffer_get_length(down_buf_.get()));
  if (!fd_ || bytes.empty()) {
    // Nothing to say: a plain close (not a reset), so the application sees an orderly end.
    complete(Ending::refused, reason);
    return;
  }
  state_ = State::replying;
  evbuffer_add(down_buf_.get(), bytes.data(), bytes.size());
  down_ = Down::fin;
  update_read_interest();
  flush_down();
}

void Relay::decline_stream(const std::uint8_t* bytes, std::size_t size) {
  if (!conn_) return;
  send_on_stream(bytes, size);
  conn_->finish(stream_id_);
  conn_->stop_reading(stream_id_, quic::kAppNoError);
  // These bytes will never reach anyone: credit them now rather than when the stream closes.
  std::size_t held = evbuffer_get_length(down_buf_.get());
  evbuffer_drain(down_buf_.get(), held);
  give_credit(held);
}

void Relay::abort(const std::string& reason) { complete(Ending::broken, reason); }

std::size_t Relay::buffered_bytes() const {
  return pending_.size() + replay_.size() + evbuffer_get_length(down_buf_.get()) + (conn_ ? conn_->buffered(stream_id_) : 0);
}

}  // namespace quictun::tunnel

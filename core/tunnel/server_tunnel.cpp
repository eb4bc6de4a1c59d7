#include "tunnel/server_tunnel.hpp"

#include <sys/socket.h>

#include <spdlog/spdlog.h>

#include "util/error.hpp"
#include "util/escape.hpp"
#include "util/log_fields.hpp"

namespace quictun::tunnel {
namespace {
constexpr std::uint64_t kRefusedLingerMs = 10000;  // a refused stream's peer gets this long to close its side
}

ServerTunnel::ServerTunnel(Services& services, quic::Connection& connection, std::int64_t stream_id, std::uint64_t id)
    : Relay(services.loop, "server tunnel " + std::to_string(id)),
      services_(services),
      id_(id),
      client_(connection.remote().to_string()),
      classifier_(services.classifiers),
      self_(std::make_shared<ServerTunnel*>(this)) {
  classifier_.attach(*this, false);
  // The registry's record (the REST API) shows the protocol as soon as it is known.
  classifier_.on_change([this](const Classification& c) {
    if (record()) record().set_protocol(c.protocol, c.properties);
  });
  attach_stream(connection, stream_id);  // stream bytes wait in the relay until the backend is connected
  token_.reserve(wire::kTokenSize);
}

ServerTunnel::~ServerTunnel() {
  *self_ = nullptr;
  set_tap(nullptr);  // the classifier goes before the relay does
}

std::size_t ServerTunnel::take_stream_prefix(const std::uint8_t* data, std::size_t size, bool fin) {
  if (declined_) return size;  // dropped (and credited) by the relay
  if (token_complete_) return 0;
  std::size_t take = std::min(size, wire::kTokenSize - token_.size());
  token_.append(reinterpret_cast<const char*>(data), take);
  if (token_.size() < wire::kTokenSize) {
    if (fin) abort("stream ended after " + std::to_string(token_.size()) + " of 512 token bytes");
    return take;
  }
  token_complete_ = true;
  if (services_.draining) {
    // 0x03 closes the application connection at once; the client does not retry it here.
    refuse(wire::Status::backend_unreachable, "server is shutting down: no new tunnels");
    return take;
  }
  std::string token = wire::decode_token(reinterpret_cast<const std::uint8_t*>(token_.data()), token_.size());
  if (record()) record().record().token = escape_for_log(token);
  std::weak_ptr<ServerTunnel*> weak = self_;
  sdk::ClientInfo info{client_, connection() ? connection()->peer_certificate() : std::string()};
  try {
    services_.parser.parse(token, info, [weak](sdk::ParseDecision d) {
      if (auto p = weak.lock(); p && *p) (*p)->on_parsed(d);
    });
  } catch (const std::exception& e) {
    outcome().plugin_error = true;
    refuse(wire::Status::bad_token, "token parser failed: " + escape_controls_for_log(e.what()));
  }
  return take;
}

void ServerTunnel::on_parsed(const sdk::ParseDecision& d) {
  if (finished()) return;
  // Everything below may quote the token or the backend, which the client chose: escaped.
  std::string token = wire::decode_token(reinterpret_cast<const std::uint8_t*>(token_.data()), token_.size());
  if (!d.accepted) {
    refuse(wire::Status::bad_token, "token \"" + escape_for_log(token) + "\" refused: " +
                                        (d.reason.empty() ? "no reason given" : escape_controls_for_log(d.reason)));
    return;
  }
  backend_ = d.backend;
  backend_shown_ = escape_for_log(backend_);
  // Whatever the parser accepted, the operator's list has the last word.
  if (auto why = services_.allow.refusal(backend_)) {
    refuse(wire::Status::bad_token, "backend " + backend_shown_ + ": " + *why);
    return;
  }
  if (record()) record().record().server_app_addr = backend_shown_;
  // The client's token may only choose among the transports loaded at start-up; a scheme none
  // of them serves is a token we refuse, not a backend we failed to reach.
  sdk::Transport* transport = services_.transports.find(backend_);
  if (!transport) {
    std::string served;
    for (const auto& s : services_.transports.schemes()) served += (served.empty() ? "" : ", ") + s;
    refuse(wire::Status::bad_token, "backend " + backend_shown_ + ": no transport serves scheme \"" +
                                        escape_for_log(plugin::TransportSet::scheme_of(backend_)) +
                                        "\" (loaded: " + (served.empty() ? "none" : served) + ")");
    return;
  }
  std::weak_ptr<ServerTunnel*> weak = self_;
  try {
    transport->connect(backend_, [weak](sdk::ConnectResult r) {
      if (auto p = weak.lock(); p && *p) {
        (*p)->on_connect_started(std::move(r));
      } else if (r.fd >= 0) {
        Fd(r.fd).reset();  // the tunnel went away meanwhile
      }
    });
  } catch (const std::exception& e) {
    refuse(wire::Status::backend_unreachable, "backend " + backend_shown_ + ": " + escape_controls_for_log(e.what()));
  }
}

void ServerTunnel::on_connect_started(sdk::ConnectResult r) {
  if (finished()) {
    Fd(r.fd).reset();  // the stream ended while the transport was connecting
    return;
  }
  if (r.fd < 0) {
    refuse(wire::Status::backend_unreachable, "backend " + backend_shown_ + ": " + escape_controls_for_log(r.error));
    return;
  }
  connecting_.reset(r.fd);
  connect_event_.assign(services_.loop, r.fd, EV_WRITE, [this](short what) { on_connect_event(what); });
  connect_event_.add_timeout_ms(services_.connect_timeout_ms);
}

void ServerTunnel::on_connect_event(short what) {
  if (finished()) return;  // the stream ended while connecting; connecting_ closes with us
  if (what & EV_TIMEOUT) {
    connecting_.reset();
    outcome().failure = "timeout";
    refuse(wire::Status::backend_unreachable,
           "backend " + backend_shown_ + ": no answer within " + std::to_string(services_.connect_timeout_ms) + " ms");
    return;
  }
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(connecting_.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
  if (err != 0) {
    connecting_.reset();
    refuse(wire::Status::backend_unreachable, "backend " + backend_shown_ + ": " + errno_text(err));
    return;
  }
  connect_event_.reset();
  std::uint8_t ok = static_cast<std::uint8_t>(wire::Status::ok);
  send_on_stream(&ok, 1);
  log_event(spdlog::level::debug, record().log_fields(), fmt::format("tunnel {}: {} -> {}", id_, client_, backend_shown_));
  attach_socket(std::move(connecting_));
  start_upstream();
}

void ServerTunnel::refuse(wire::Status status, const std::string& reason) {
  const std::string text = wire::status_text(static_cast<std::uint8_t>(status));
  const std::string line = fmt::format("tunnel {} from {}: {} ({})", id_, client_, reason, text);
  // In full, with the tunnel's fields, at debug; at warn, rate-limited: the first refusal after
  // a quiet second, then one summary a second with the count and the latest.
  log_event(spdlog::level::debug, record().log_fields(), line);
  services_.refusals.event("tunnel refused: " + text, line);
  outcome().reason = reason;
  if (outcome().failure.empty()) outcome().failure = status == wire::Status::bad_token ? "0x02" : "0x03";
  declined_ = true;
  if (!connection()) return;
  std::uint8_t byte = static_cast<std::uint8_t>(status);
  decline_stream(&byte, 1);
  // The client normally closes its side at once; don't wait for it forever.
  linger_timer_.assign(services_.loop, -1, 0, [this](short) { abort("refused stream not closed by the client"); });
  linger_timer_.add_timeout_ms(kRefusedLingerMs);
}

}  // namespace quictun::tunnel

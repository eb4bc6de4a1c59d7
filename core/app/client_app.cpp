#include "app/client_app.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>

#include "ops/endpoint_metrics.hpp"
#include "util/error.hpp"
#include "util/log_fields.hpp"

namespace quictun::app {
namespace {
constexpr std::uint64_t kMaxBackoffMs = 2000;
constexpr std::uint64_t kAcceptPauseMs = 100;

quic::TlsClientOptions tls_options(const config::ClientSettings& s) {
  quic::TlsClientOptions o = s.tls;
  o.server_name = split_host_port(s.server_endpoint, "--server-endpoint").host;
  return o;
}
}  // namespace

ClientApp::ClientApp(const config::ClientSettings& settings, event_base* loop, plugin::PluginLoader& loader)
    : settings_(settings),
      loop_(loop),
      transports_(loader, settings),
      classifiers_(loader, settings),
      tls_(tls_options(settings)),
      server_(split_host_port(settings.server_endpoint, "--server-endpoint")),
      resolver_(loop, settings.nameservers),
      refusal_log_(loop, "client", spdlog::level::warn),
      admission_(settings.tunnel_limits, "client") {
  ops_ = std::make_unique<ops::Operations>(loop, settings, [this](const auto& each) {
    if (endpoint_) each(static_cast<const quic::Connection&>(endpoint_->connection()));
    for (const auto& e : closing_endpoints_) each(static_cast<const quic::Connection&>(e->connection()));
  });
  ops::export_tunnel_limit_stats(ops_->metrics(), admission_.stats());
  admission_.sample_buffered_bytes(loop, [this] {
    std::uint64_t sum = 0;
    for (const auto& [raw, t] : tunnels_) sum += raw->buffered_bytes();
    return sum;
  });
  reaper_.assign(loop, -1, 0, [this](short) { reap(); });
  retry_timer_.assign(loop, -1, 0, [this](short) { connect_now(); });
  if (!settings.tls.verify_server)
    spdlog::warn("--insecure-skip-verify: the server's certificate is NOT verified; anyone on the path can impersonate it");
  for (const auto& ls : settings.listeners) {
    auto l = std::make_unique<Listener>();
    l->address = ls.listen_on;
    l->transport = &transports_.for_address(ls.listen_on);
    sdk::PluginConfig pc = settings.plugin_config("token_source." + plugin::normalize_name(ls.token_source),
                                                  ls.token_source_arg, ls.token_source_arg_origin);
    for (const auto& [k, v] : ls.token_source_options) pc.table[k] = v;
    l->source = loader.token_source(ls.token_source, pc);
    l->services = std::make_unique<tunnel::ClientTunnel::Services>(tunnel::ClientTunnel::Services{
        loop, *l->source, *this, settings.connect_timeout_ms, settings.setup_timeout_ms, classifiers_});
    try {
      l->fd.reset(l->transport->listen(ls.listen_on));
    } catch (const sdk::Error& e) {
      throw RuntimeError(std::string(e.what()));
    }
    Listener* raw = l.get();
    l->accept_event.assign(loop, l->fd.get(), EV_READ | EV_PERSIST, [this, raw](short) { on_accept(*raw); });
    l->accept_event.add();
    l->resume_timer.assign(loop, -1, 0, [raw](short) { raw->accept_event.add(); });
    spdlog::info("listening on {} (token source {}), server {}", ls.listen_on, ls.token_source, settings.server_endpoint);
    listeners_.push_back(std::move(l));
  }
}

ClientApp::~ClientApp() {
  waiting_.clear();
  tunnels_.clear();
  retired_.clear();
  resolver_.cancel();
  endpoint_.reset();
  closing_endpoints_.clear();
  dead_endpoints_.clear();
  for (auto& l : listeners_) {
    l->accept_event.reset();
    if (l->fd) l->transport->unlisten(l->address, l->fd.get());
  }
}

void ClientApp::shutdown() {
  shutting_down_ = true;
  for (auto& l : listeners_) {
    l->accept_event.del();
    l->resume_timer.del();
  }
  retry_timer_.del();
  resolver_.cancel();
  if (endpoint_) endpoint_->connection().close(quic::kAppNoError, "client shutting down");
}

void ClientApp::stop_accepting() {
  for (auto& l : listeners_) {
    l->accept_event.del();
    l->resume_timer.del();
    l->fd.reset();
  }
}

void ClientApp::reload() {
  for (auto& l : listeners_) {
    try {
      l->source->reload();
    } catch (const std::exception& e) {
      spdlog::error("reload: token source of {}: {}; keeping what it had", l->address, e.what());
    }
  }
  std::string error;
  if (!tls_.reload(error)) spdlog::error("reload: certificate files not reloaded, keeping those loaded before: {}", error);
}

void ClientApp::on_accept(Listener& l) {
  for (int i = 0; i < 64; ++i) {
    std::optional<sdk::AcceptedConnection> accepted;
    try {
      accepted = l.transport->accept(l.fd.get());
    } catch (const std::exception& e) {
      spdlog::error("{}: accept failed: {}; pausing for {} ms", l.address, e.what(), kAcceptPauseMs);
      l.accept_event.del();
      l.resume_timer.add_timeout_ms(kAcceptPauseMs);
      return;
    }
    if (!accepted) return;
    if (auto why = admission_.refusal()) {
      // Closed before a stream is asked for: what is open keeps its share.
      refusal_log_.event(*why, "application connection on " + l.address + " closed");
      Fd(accepted->fd).reset();
      continue;
    }
    sdk::ConnectionInfo info;
    info.id = ++next_id_;
    info.listener = l.address;
    info.scheme = plugin::TransportSet::scheme_of(l.address);
    info.peer_address = accepted->peer_address;
    info.peer_ip = accepted->peer_ip;
    spdlog::debug("tunnel {}: accepted {} on {}", info.id, info.peer_address.empty() ? "a connection" : info.peer_address,
                  l.address);
    auto tunnel = std::make_unique<tunnel::ClientTunnel>(*l.services, info, Fd(accepted->fd));
    tunnel::ClientTunnel* raw = tunnel.get();
    raw->set_record(ops_->tunnels().add(*raw, "client", info.id));
    raw->record().record().client_app_addr = info.peer_address;
    raw->record().record().listener = l.address;
    ops_->counters().tunnel_opened();
    tunnel->on_finished([this, raw](const tunnel::Relay::Outcome& o) { retire(*raw, o); });
    tunnels_[raw] = std::move(tunnel);
    admission_.admit(raw);
    raw->start();
  }
}

void ClientApp::retire(tunnel::ClientTunnel& t, const tunnel::Relay::Outcome& o) {
  cancel(t);
  admission_.release(&t);
  ops_->counters().tunnel_ended(o);
  nlohmann::json fields = t.record().log_fields();
  fields["bytesUp"] = o.bytes_up;
  fields["bytesDown"] = o.bytes_down;
  const std::string protocol = t.classifier().finish_for_log();
  if (o.clean)
    log_event(spdlog::level::debug, fields,
              fmt::format("tunnel {} closed: {} bytes up, {} bytes down", t.id(), o.bytes_up, o.bytes_down) + protocol);
  else
    log_event(spdlog::level::info, fields,
              fmt::format("tunnel {} ended: {} ({} bytes up, {} bytes down)", t.id(), o.reason, o.bytes_up, o.bytes_down) + protocol);
  auto it = tunnels_.find(&t);
  if (it == tunnels_.end()) return;
  retired_.push_back(std::move(it->second));
  tunnels_.erase(it);
  reaper_.activate();
}

void ClientApp::reap() {
  retired_.clear();
  dead_endpoints_.clear();
}

void ClientApp::request_stream(tunnel::ClientTunnel& t) {
  if (std::find(waiting_.begin(), waiting_.end(), &t) == waiting_.end()) waiting_.push_back(&t);
  serve_waiting();
}

void ClientApp::cancel(tunnel::ClientTunnel& t) {
  waiting_.erase(std::remove(waiting_.begin(), waiting_.end(), &t), waiting_.end());
  // Backing off only spaces out the attempts made for connections that keep waiting. Once none
  // waits, a pending retry would make the next application connection wait out the old backoff
  // (up to kMaxBackoffMs, longer than a short --connect-timeout-ms) for a server that may be
  // back by then: it tries at once instead, and backs off again from where it was if that fails.
  if (waiting_.empty()) retry_timer_.del();
}

void ClientApp::serve_waiting() {
  if (waiting_.empty() || shutting_down_) return;
  if (endpoint_ && endpoint_->connection().handshake_done() && !endpoint_->connection().usable()) {
    // The old connection is closing (the server said goodbye): let it finish in the background.
    closing_endpoints_.push_back(std::move(endpoint_));
  }
  if (endpoint_ && endpoint_->connection().usable()) {
    quic::Connection& c = endpoint_->connection();
    while (!waiting_.empty()) {
      tunnel::ClientTunnel* t = waiting_.front();
      std::int64_t id = c.open_stream(*t);
      if (id < 0) return;  // the server's stream limit: on_streams_available calls again
      waiting_.pop_front();
      t->on_stream(c, id);
    }
    return;
  }
  if (!endpoint_ && !retry_timer_.pending(EV_TIMEOUT)) connect_now();
}

void ClientApp::connect_now() {
  if (endpoint_ || resolver_.pending() || shutting_down_) return;
  // Every attempt looks the name up afresh: a server that moved is found at its new address.
  resolver_.resolve(server_, "--server-endpoint",
                    [this](std::optional<SocketAddress> remote, const std::string& error) { on_resolved(remote, error); });
}

void ClientApp::on_resolved(std::optional<SocketAddress> remote, const std::string& error) {
  if (endpoint_ || shutting_down_) return;
  if (!remote) {
    connect_failed(error);
    return;
  }
  try {
    quic::ConnectionObserver& observer = *this;  // a private base: converted here, where it is visible
    endpoint_ = std::make_unique<quic::ClientEndpoint>(loop_, *remote, settings_.quic, tls_, observer,
                                                       settings_.test_drop_rate, settings_.test_rebind_every_ms);
    spdlog::debug("connecting to server {} at {}", settings_.server_endpoint, remote->to_string());
  } catch (const std::exception& e) {
    endpoint_.reset();
    connect_failed(e.what());
  }
}

void ClientApp::connect_failed(const std::string& error) {
  last_error_ = error;
  spdlog::warn("cannot connect to server {}: {}", settings_.server_endpoint, last_error_);
  backoff_ms_ = std::min(kMaxBackoffMs, backoff_ms_ ? backoff_ms_ * 2 : 100);
  if (!waiting_.empty()) retry_timer_.add_timeout_ms(backoff_ms_);
}

void ClientApp::on_handshake_done(quic::Connection& c) {
  ops_->counters().handshake_done();
  spdlog::info("connected to server {}", c.remote().to_string());
  backoff_ms_ = 0;
  last_error_.clear();
  serve_waiting();
}

void ClientApp::suspect(quic::Connection& c) {
  if (!endpoint_ || &endpoint_->connection() != &c) return;
  spdlog::warn("server {} has not answered for a while; opening a new connection", c.remote().to_string());
  c.abandon("server stopped answering");
}

void ClientApp::on_connection_closed(quic::Connection& c, const std::string& reason) {
  ops_->counters().connection_closed(c);
  for (auto it = closing_endpoints_.begin(); it != closing_endpoints_.end(); ++it) {
    if (&(*it)->connection() == &c) {
      (*it)->stop();
      dead_endpoints_.push_back(std::move(*it));
      closing_endpoints_.erase(it);
      reaper_.activate();
      return;
    }
  }
  if (!endpoint_ || &endpoint_->connection() != &c) return;
  bool established = c.handshake_done();
  endpoint_->stop();
  dead_endpoints_.push_back(std::move(endpoint_));
  reaper_.activate();
  if (shutting_down_) return;
  if (established) {
    spdlog::info("connection to server {} closed{}{}", settings_.server_endpoint, reason.empty() ? "" : ": ", reason);
    backoff_ms_ = 0;
  } else {
    last_error_ = reason;
    spdlog::warn("cannot connect to server {}: {}", settings_.server_endpoint, reason);
    backoff_ms_ = std::min(kMaxBackoffMs, backoff_ms_ ? backoff_ms_ * 2 : 100);
  }
  if (!waiting_.empty()) {
    if (backoff_ms_ == 0)
      connect_now();
    else
      retry_timer_.add_timeout_ms(backoff_ms_);
  }
}

}  // namespace quictun::app

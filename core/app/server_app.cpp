#include "app/server_app.hpp"

#include <spdlog/spdlog.h>

#include "ops/endpoint_metrics.hpp"
#include "util/error.hpp"
#include "util/log_fields.hpp"

namespace quictun::app {
namespace {

bool is_loopback(const SocketAddress& a) {
  std::optional<IpAddress> ip = parse_ip(a.ip_string());
  if (!ip) return false;
  if (ip->family == AF_INET) return ip->bytes[0] == 127;
  static constexpr std::array<std::uint8_t, 16> kLoopback6 = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  return ip->bytes == kLoopback6;
}

// The cleartext parser lets a client name any backend: reachable from the network, with no
// allow list and no client certificates, the server relays for anyone to anywhere it can reach.
void warn_if_open_relay(const config::ServerSettings& s, const SocketAddress& listen) {
  if (s.allow.active()) {
    spdlog::info("backend allow list: {} entr{}; other backends are refused", s.allow.size(),
                 s.allow.size() == 1 ? "y" : "ies");
    return;
  }
  if (plugin::normalize_name(s.token_parser) != "cleartext" || s.tls.require_client_cert || is_loopback(listen)) return;
  spdlog::warn("OPEN RELAY: the cleartext token parser on {} with no [server] allow list and no client "
               "certificates (--verify-remote-endpoint) lets anyone who reaches this port connect to any address "
               "this host can reach. Add --allow / [server] allow = [...] entries, or require mTLS",
               listen.to_string());
}

}  // namespace

ServerApp::ServerApp(const config::ServerSettings& settings, event_base* loop, plugin::PluginLoader& loader)
    : settings_(settings), transports_(loader, settings), classifiers_(loader, settings),
      refusal_log_(loop, "server", spdlog::level::warn),
      tls_(settings.tls),
      admission_(settings.tunnel_limits, "server") {
  parser_ = loader.token_parser(settings.token_parser,
                                settings.plugin_config("token_parser." + plugin::normalize_name(settings.token_parser),
                                                       settings.token_parser_key, settings.token_parser_key_origin));
  services_ = std::make_unique<tunnel::ServerTunnel::Services>(
      tunnel::ServerTunnel::Services{loop, *parser_, transports_, settings.backend_connect_timeout_ms, classifiers_, settings.allow, refusal_log_});
  reaper_.assign(loop, -1, 0, [this](short) { retired_.clear(); });
  admission_.sample_buffered_bytes(loop, [this] {
    std::uint64_t sum = 0;
    for (const auto& [raw, t] : tunnels_) sum += raw->buffered_bytes();
    return sum;
  });
  if (tls_.generated_certificate())
    spdlog::warn("no --cert-file/--key-file: using a generated self-signed certificate; clients must use "
                 "--insecure-skip-verify (testing only)");
  ops_ = std::make_unique<ops::Operations>(loop, settings, [this](const auto& each) {
    if (endpoint_) endpoint_->for_each_connection(each);
  });
  ops::export_endpoint_stats(ops_->metrics(), [this] { return endpoint_ ? &endpoint_->stats() : nullptr; });
  ops::export_tunnel_limit_stats(ops_->metrics(), admission_.stats());
  SocketAddress listen = resolve_udp(split_host_port(settings.listen_on, "--listen-on"), "--listen-on");
  endpoint_ = std::make_unique<quic::ServerEndpoint>(loop, listen, settings.quic, settings.limits, tls_, static_cast<quic::ServerEndpoint::Listener&>(*this), settings.test_drop_rate);
  warn_if_open_relay(settings, listen);
  spdlog::info("listening on UDP {} (token parser {})", endpoint_->local_address().to_string(), settings.token_parser);
}

ServerApp::~ServerApp() {
  tunnels_.clear();
  retired_.clear();
  endpoint_.reset();
}

void ServerApp::shutdown() { endpoint_->close_all(); }

void ServerApp::stop_accepting() {
  services_->draining = true;
  endpoint_->stop_accepting();
}

void ServerApp::reload() {
  try {
    parser_->reload();
  } catch (const std::exception& e) {
    spdlog::error("reload: token parser {}: {}; keeping what it had", settings_.token_parser, e.what());
  }
  std::string error;
  if (!tls_.reload(error))
    spdlog::error("reload: certificate not reloaded, keeping the one loaded before: {}", error);
  else if (!tls_.generated_certificate())
    spdlog::info("reload: certificate {} loaded for new connections", settings_.tls.cert_file);
}

void ServerApp::on_new_stream(quic::Connection& connection, std::int64_t stream_id) {
  auto t = std::make_unique<tunnel::ServerTunnel>(*services_, connection, stream_id, ++next_id_);
  tunnel::ServerTunnel* raw = t.get();
  raw->set_record(ops_->tunnels().add(*raw, "server", raw->id()));
  raw->record().record().remote_endpoint_addr = connection.remote().to_string();
  ops_->counters().tunnel_opened();
  connection.attach(stream_id, *raw);
  t->on_finished([this, raw](const tunnel::Relay::Outcome& o) { retire(*raw, o); });
  tunnels_[raw] = std::move(t);
  if (auto why = admission_.refusal(&connection)) {
    raw->refuse_early(*why);
    return;
  }
  admission_.admit(raw, &connection);
}

void ServerApp::retire(tunnel::ServerTunnel& t, const tunnel::Relay::Outcome& o) {
  ops_->counters().tunnel_ended(o);
  nlohmann::json fields = t.record().log_fields();
  fields["bytesUp"] = o.bytes_up;
  fields["bytesDown"] = o.bytes_down;
  const std::string protocol = t.classifier().finish_for_log();
  if (o.clean)
    log_event(spdlog::level::debug, fields,
              fmt::format("tunnel {} to {} closed: {} bytes up, {} bytes down", t.id(), t.backend(), o.bytes_up, o.bytes_down) + protocol);
  else
    log_event(spdlog::level::debug, fields,
              fmt::format("tunnel {} to {} ended: {} ({} bytes up, {} bytes down)", t.id(), t.backend(), o.reason,
                          o.bytes_up, o.bytes_down) + protocol);
  admission_.release(&t);
  auto it = tunnels_.find(&t);
  if (it == tunnels_.end()) return;
  retired_.push_back(std::move(it->second));
  tunnels_.erase(it);
  reaper_.activate();
}

}  // namespace quictun::app

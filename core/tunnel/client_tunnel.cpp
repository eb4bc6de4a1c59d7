#include "tunnel/client_tunnel.hpp"

#include <spdlog/spdlog.h>

#include "util/clock.hpp"
#include "util/escape.hpp"
#include "util/log_fields.hpp"

namespace quictun::tunnel {
namespace {
constexpr std::size_t kReplayLimit = 256 * 1024;   // bytes kept to resend if the connection dies before the status
constexpr std::uint64_t kDeadAfterNs = 3'000'000'000ull;  // no packet at all from the server since the stream opened
constexpr int kMaxRetries = 2;
constexpr std::uint64_t kTickMs = 500;
}  // namespace

ClientTunnel::ClientTunnel(Services& services, sdk::ConnectionInfo info, Fd fd)
    : Relay(services.loop, "client tunnel " + std::to_string(info.id)),
      services_(services),
      info_(std::move(info)),
      classifier_(services.classifiers),
      self_(std::make_shared<ClientTunnel*>(this)) {
  classifier_.attach(*this, true);
  // The registry's record (the REST API) shows the protocol as soon as it is known.
  classifier_.on_change([this](const Classification& c) {
    if (record()) record().set_protocol(c.protocol, c.properties);
  });
  attach_socket(std::move(fd));
  timer_.assign(services.loop, -1, 0, [this](short) { on_timer(); });
}

ClientTunnel::~ClientTunnel() {
  *self_ = nullptr;
  set_tap(nullptr);  // the classifier goes before the relay does
  services_.broker.cancel(*this);
}

void ClientTunnel::start() {
  started_ns_ = now_ns();
  timer_.add_timeout_ms(kTickMs);
  resolve();
}

void ClientTunnel::resolve() {
  resolve_in_flight_ = true;
  bytes_since_resolve_ = false;
  std::weak_ptr<ClientTunnel*> weak = self_;
  try {
    services_.source.resolve(info_, pending(), app_eof() || token_deadline_passed_, [weak](sdk::TokenDecision d) {
      if (auto p = weak.lock(); p && *p) (*p)->on_decision(std::move(d));
    });
  } catch (const std::exception& e) {
    resolve_in_flight_ = false;
    outcome().plugin_error = true;
    fail(sdk::TunnelFailure::tunnel_broken, std::string("token source failed: ") + e.what());
  }
}

void ClientTunnel::on_pending_bytes() {
  if (phase_ != Phase::resolving) return;
  if (resolve_in_flight_)
    bytes_since_resolve_ = true;  // asked again once the current answer is in
  else
    resolve();
}

void ClientTunnel::on_decision(sdk::TokenDecision d) {
  resolve_in_flight_ = false;
  if (phase_ != Phase::resolving) return;
  switch (d.kind) {
    case sdk::TokenDecision::Kind::need_more:
      if (token_deadline_passed_) {
        outcome().failure = "timeout";
        fail(sdk::TunnelFailure::tunnel_broken, "no token within " + std::to_string(services_.setup_timeout_ms) + " ms");
      } else if (bytes_since_resolve_) {
        resolve();
      } else if (app_eof()) {
        fail(sdk::TunnelFailure::tunnel_broken, "application closed before the token source had enough bytes");
      }
      return;  // on_pending_bytes asks again when more bytes arrive
    case sdk::TokenDecision::Kind::refuse:
      outcome().failure = "error";
      log_event(spdlog::level::warn, record().log_fields(),
                fmt::format("tunnel {} from {}: refused by token source: {}", info_.id,
                            info_.peer_address.empty() ? info_.listener : info_.peer_address,
                            escape_controls_for_log(d.reason)));
      fail_with_reply(d.reply, "refused by token source: " + d.reason);
      return;
    case sdk::TokenDecision::Kind::token:
      break;
  }
  if (auto problem = wire::token_problem(d.token)) {
    outcome().failure = "error";
    fail(sdk::TunnelFailure::token_refused, "token source gave an unusable token: " + *problem);
    return;
  }
  token_ = std::move(d.token);
  if (record()) record().record().token = escape_for_log(token_);
  if (d.forward) replace_pending(std::move(*d.forward));
  phase_ = Phase::waiting_stream;
  waiting_since_ns_ = now_ns();
  services_.broker.request_stream(*this);
}

void ClientTunnel::on_stream(quic::Connection& connection, std::int64_t stream_id) {
  if (phase_ != Phase::waiting_stream) {
    connection.release(stream_id);
    return;
  }
  attach_stream(connection, stream_id);
  if (record()) record().record().remote_endpoint_addr = connection.remote().to_string();
  phase_ = Phase::awaiting_status;
  stream_opened_ns_ = now_ns();
  auto handshake = wire::encode_token(token_);
  send_on_stream(handshake.data(), handshake.size());
  record_upstream(kReplayLimit);
  start_upstream();  // pipelining: the application's bytes follow the token at once
}

void ClientTunnel::on_no_connection(const std::string& reason) {
  fail(sdk::TunnelFailure::server_unreachable, "no connection to the server: " + reason);
}

std::size_t ClientTunnel::take_stream_prefix(const std::uint8_t* data, std::size_t size, bool fin) {
  if (phase_ != Phase::awaiting_status) return 0;
  if (size == 0) {
    if (fin) fail(sdk::TunnelFailure::tunnel_broken, "server closed the stream without a status byte");
    return 0;
  }
  std::uint8_t status = data[0];
  if (status == static_cast<std::uint8_t>(wire::Status::ok)) {
    phase_ = Phase::relaying;
    stop_recording();
    return 1;
  }
  auto failure = status == static_cast<std::uint8_t>(wire::Status::bad_token) ? sdk::TunnelFailure::token_refused
                 : status == static_cast<std::uint8_t>(wire::Status::backend_unreachable)
                     ? sdk::TunnelFailure::backend_unreachable
                     : sdk::TunnelFailure::tunnel_broken;
  fail(failure, "server answered " + wire::status_text(status) + " for token \"" + escape_for_log(token_) + "\"");
  return size;
}

void ClientTunnel::on_stream_closed(bool clean, std::uint64_t acked) {
  if (phase_ == Phase::awaiting_status && !clean && acked == 0 && retries_ < kMaxRetries && rewind_for_retry()) {
    // The connection died before the server acknowledged a single byte of this stream, so the
    // server never acted on it: sending it again on a fresh connection cannot duplicate
    // anything at the backend.
    ++retries_;
    spdlog::info("tunnel {}: connection lost before the server answered; retrying", info_.id);
    phase_ = Phase::waiting_stream;
    waiting_since_ns_ = now_ns();
    services_.broker.request_stream(*this);
    return;
  }
  Relay::on_stream_closed(clean, acked);
}

void ClientTunnel::fail(sdk::TunnelFailure failure, const std::string& reason) {
  if (phase_ != Phase::relaying) {
    // A reason may quote what a token source saw on the network (an HTTP header, a lookup's
    // answer): control bytes must not reach the log line.
    log_event(spdlog::level::warn, record().log_fields(),
              fmt::format("tunnel {} from {}: {}", info_.id, info_.peer_address.empty() ? info_.listener : info_.peer_address,
                          escape_controls_for_log(reason)));
  }
  if (outcome().failure.empty()) {
    switch (failure) {
      case sdk::TunnelFailure::token_refused: outcome().failure = "0x02"; break;
      case sdk::TunnelFailure::backend_unreachable: outcome().failure = "0x03"; break;
      case sdk::TunnelFailure::server_unreachable: outcome().failure = "timeout"; break;
      case sdk::TunnelFailure::tunnel_broken: outcome().failure = "error"; break;
    }
  }
  services_.broker.cancel(*this);
  std::string reply;
  try {
    reply = services_.source.failure_reply(info_, failure);
  } catch (const std::exception&) {
  }
  fail_with_reply(reply, reason);
}

void ClientTunnel::on_timer() {
  if (finished()) return;
  std::uint64_t now = now_ns();
  if (phase_ == Phase::resolving && !token_deadline_passed_ && now - started_ns_ > services_.setup_timeout_ms * 1000000) {
    // The application sent too little for too long. A source waiting for bytes gets one last
    // call as if the application had finished, so it can answer in its protocol (HTTP 408/400).
    token_deadline_passed_ = true;
    if (resolve_in_flight_) {
      outcome().failure = "timeout";
      fail(sdk::TunnelFailure::tunnel_broken,
           "token source gave no answer within " + std::to_string(services_.setup_timeout_ms) + " ms");
      return;
    }
    resolve();
    if (phase_ != Phase::resolving || finished()) return;
  }
  if (phase_ == Phase::waiting_stream && now - waiting_since_ns_ > services_.connect_timeout_ms * 1000000) {
    on_no_connection("none could be had within " + std::to_string(services_.connect_timeout_ms) + " ms" +
                     (services_.broker.last_error().empty() ? std::string() : " (" + services_.broker.last_error() + ")"));
    return;
  }
  if (quic::Connection* conn = connection(); phase_ == Phase::awaiting_status && conn) {
    if (conn->last_receive_ns() < stream_opened_ns_ && now - stream_opened_ns_ > kDeadAfterNs) {
      services_.broker.suspect(*conn);  // closes it; on_stream_closed retries
    } else if (now - stream_opened_ns_ > services_.setup_timeout_ms * 1000000) {
      outcome().failure = "timeout";
      fail(sdk::TunnelFailure::tunnel_broken,
           "server did not answer the token within " + std::to_string(services_.setup_timeout_ms) + " ms");
      return;
    }
  }
  if (phase_ != Phase::relaying) timer_.add_timeout_ms(kTickMs);
}

}  // namespace quictun::tunnel

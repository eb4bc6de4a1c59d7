// The client end of one tunnel: get a token from the token source, get a stream from the
// QUIC link, send the token (and the application's first bytes right behind it), check the
// server's status byte, then relay.
#pragma once

#include <memory>
#include <string>

#include <quictun/sdk/token.hpp>

#include "plugin/classifier_set.hpp"
#include "tunnel/classification.hpp"
#include "tunnel/relay.hpp"
#include "tunnel/wire.hpp"

namespace quictun::tunnel {

class ClientTunnel;

// Hands out streams of the client's QUIC connection, opening a connection when needed.
class StreamBroker {
 public:
  virtual ~StreamBroker() = default;
  // Calls tunnel.on_stream(...) when a stream is available (perhaps at once).
  virtual void request_stream(ClientTunnel& tunnel) = 0;
  virtual void cancel(ClientTunnel& tunnel) = 0;
  // Tells the broker that `connection` looks dead (a stream got no answer at all).
  virtual void suspect(quic::Connection& connection) = 0;
  // Why the last connection attempt failed ("" if none did), for error messages.
  virtual std::string last_error() const = 0;
};

class ClientTunnel : public Relay {
 public:
  struct Services {
    event_base* loop;
    sdk::TokenSource& source;
    StreamBroker& broker;
    std::uint64_t connect_timeout_ms;  // waiting for a QUIC connection
    std::uint64_t setup_timeout_ms;    // waiting for a token, and for the server's status byte
    const plugin::ClassifierSet& classifiers;
  };

  ClientTunnel(Services& services, sdk::ConnectionInfo info, Fd fd);
  ~ClientTunnel() override;
  void start();
  std::uint64_t id() const { return info_.id; }
  const std::string& token() const { return token_; }
  // What the tunnel's traffic was found to be (settles as the first bytes pass).
  const Classification& classification() const { return classifier_.result(); }
  TunnelClassifier& classifier() { return classifier_; }

  // From the broker.
  void on_stream(quic::Connection& connection, std::int64_t stream_id);
  void on_no_connection(const std::string& reason);

 private:
  enum class Phase { resolving, waiting_stream, awaiting_status, relaying };
  std::size_t take_stream_prefix(const std::uint8_t* data, std::size_t size, bool fin) override;
  void on_pending_bytes() override;
  void on_stream_closed(bool clean, std::uint64_t acked) override;
  void resolve();
  void on_decision(sdk::TokenDecision decision);
  void fail(sdk::TunnelFailure failure, const std::string& reason);
  void on_timer();

  Services& services_;
  sdk::ConnectionInfo info_;
  Phase phase_ = Phase::resolving;
  bool resolve_in_flight_ = false;
  bool bytes_since_resolve_ = false;
  std::string token_;
  int retries_ = 0;
  std::uint64_t stream_opened_ns_ = 0;
  std::uint64_t waiting_since_ns_ = 0;
  std::uint64_t started_ns_ = 0;
  bool token_deadline_passed_ = false;  // the token phase outlived setup_timeout_ms
  Event timer_;
  TunnelClassifier classifier_;
  std::shared_ptr<ClientTunnel*> self_;
};

}  // namespace quictun::tunnel

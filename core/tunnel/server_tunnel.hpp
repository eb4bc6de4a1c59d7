// The server end of one tunnel: read the token, ask the parser, connect the backend, answer
// the status byte, then relay.
#pragma once

#include <memory>
#include <string>

#include <quictun/sdk/token.hpp>

#include "plugin/classifier_set.hpp"
#include "plugin/transport_set.hpp"
#include "tunnel/classification.hpp"
#include "tunnel/backend_allowlist.hpp"
#include "util/rate_limited_log.hpp"
#include "tunnel/relay.hpp"
#include "tunnel/wire.hpp"

namespace quictun::tunnel {

class ServerTunnel : public Relay {
 public:
  struct Services {
    event_base* loop;
    sdk::TokenParser& parser;
    plugin::TransportSet& transports;
    std::uint64_t connect_timeout_ms;  // backend connect timeout
    const plugin::ClassifierSet& classifiers;
    const BackendAllowlist& allow;     // checked after the parser, before any transport dials
    RateLimitedLog& refusals;          // any client can have tunnels refused at any rate
    bool draining = false;             // shutting down: new streams are answered 0x03
  };

  ServerTunnel(Services& services, quic::Connection& connection, std::int64_t stream_id, std::uint64_t id);
  ~ServerTunnel() override;
  std::uint64_t id() const { return id_; }
  // The backend the token named, escaped for log lines (it came from the network).
  const std::string& backend() const { return backend_shown_; }
  // What the tunnel's traffic was found to be (settles as the first bytes pass).
  const Classification& classification() const { return classifier_.result(); }
  TunnelClassifier& classifier() { return classifier_; }
  // Refuses the tunnel before its token is read (a server limit); `reason` is logged as it is.
  void refuse_early(const std::string& reason) { refuse(wire::Status::bad_token, reason); }

 private:
  std::size_t take_stream_prefix(const std::uint8_t* data, std::size_t size, bool fin) override;
  void on_parsed(const sdk::ParseDecision& decision);
  void on_connect_started(sdk::ConnectResult result);
  void on_connect_event(short what);
  // Answers `status` and ends the tunnel; `reason` goes to the log and must already be escaped.
  void refuse(wire::Status status, const std::string& reason);

  Services& services_;
  std::uint64_t id_;
  std::string client_;      // the QUIC client's address, for logs
  std::string token_;       // the 512 bytes as they arrive
  bool token_complete_ = false;
  bool declined_ = false;   // refused: every later stream byte is dropped, the token never parsed
  std::string backend_;        // as the parser gave it: what the transport connects to
  std::string backend_shown_;  // escape_for_log(backend_)
  Fd connecting_;           // backend socket while connect() is under way
  Event connect_event_;
  Event linger_timer_;      // bounds how long a refused stream may linger
  TunnelClassifier classifier_;
  std::shared_ptr<ServerTunnel*> self_;  // async callbacks hold a weak_ptr to this
};

}  // namespace quictun::tunnel

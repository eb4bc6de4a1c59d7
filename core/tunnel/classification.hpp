// What protocol a tunnel carries: the configured classifiers run side by side on copies of the
// first bytes of each direction, as the relay moves them.
//
// It never holds up the data: the relay hands over a copy after it has queued the bytes, and
// keeps no more than the largest classifier budget per direction (ClassifierSet::budget()).
// It stops at the first `mine`, when every classifier has said `not_mine`, or when every
// direction is final (ended, or past the budget); then the relay stops feeding it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "plugin/classifier_set.hpp"
#include "tunnel/relay.hpp"

namespace quictun::tunnel {

// The result, as the REST API shows it (`protocol`, `protocolProperties`).
struct Classification {
  std::string protocol;                                  // "" while unknown, and if no classifier claims the tunnel
  nlohmann::json properties = nlohmann::json::object();  // the claiming classifier's properties, string values
  bool settled = false;                                  // true once it can no longer change

  // ` protocol=ssh software="OpenSSH_9.2p1"` for a tunnel's closing log line (network text
  // escaped), or ` protocol=unknown` when nothing claimed it; "" when nothing was classified.
  std::string log_fields() const;
};

enum class Flow { client_to_server, server_to_client };

class TunnelClassifier {
 public:
  // `set` must outlive this object; an empty set settles at once with no protocol.
  explicit TunnelClassifier(const plugin::ClassifierSet& set);

  // Taps `relay`, whose application socket is the client (quictun-client) or the server's
  // backend (quictun-server). Nothing is tapped when no classifier is configured.
  void attach(Relay& relay, bool application_is_client);
  // Bytes of `flow` as they are relayed; `size` 0 says the flow has ended. Returns false once
  // the classification is settled: the caller may stop feeding it.
  bool observe(Flow flow, const std::uint8_t* data, std::size_t size);
  // The tunnel is over: a tentative `mine_so_far` becomes final, anything else "unknown".
  void finish();
  // For the closing log line: finish(), then result().log_fields(), or "" when not enabled.
  std::string finish_for_log();
  bool settled() const { return result_.settled; }
  const Classification& result() const { return result_; }
  // Whether any classifier was configured (a tunnel without them logs no protocol).
  bool enabled() const { return !set_.empty(); }
  // Told each time the protocol or its properties change (a claim, a retraction), so that a
  // live view (the REST API's tunnel record) shows them while the tunnel is open.
  void on_change(std::function<void(const Classification&)> cb) { changed_ = std::move(cb); }

 private:
  enum class Standing { open, out, owner };
  struct Direction {
    std::string bytes;  // the first bytes, at most set_.budget()
    bool ended = false;
  };
  void run();
  void settle();
  bool final_for(const Direction& d, std::size_t budget) const { return d.ended || d.bytes.size() >= budget; }

  const plugin::ClassifierSet& set_;
  std::vector<Standing> standing_;  // one per set_.entries()
  Direction c2s_, s2c_;
  Classification result_;
  std::function<void(const Classification&)> changed_;
};

}  // namespace quictun::tunnel

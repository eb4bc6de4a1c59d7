// quictun plugin SDK: traffic classifiers.
//
// A classifier names the protocol a tunnel carries (SSH, TLS, SPICE, ...) from the first bytes
// of each direction, and says what it learnt about it (a server name, a software version). It
// only looks: the host hands it copies of bytes that are relayed at the same time, so a
// classifier can neither delay nor change them.
//
// Classifiers are stateless: every call gets everything seen so far in both directions (up to
// the classifier's budget), so one object serves every tunnel and keeps nothing per tunnel. The
// host calls it again whenever either direction has new bytes, until it answers `mine`, answers
// `not_mine`, or both directions are final (ended, or its budget is full), which counts as
// `not_mine` unless it has said `mine_so_far`.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace quictun::sdk {

// What a classifier sees of one tunnel. "Client" is the application that connected to
// quictun-client, "server" the backend quictun-server connected to, on both programs.
struct TrafficSample {
  std::string_view client_to_server;  // the first bytes the client sent, at most budget()
  std::string_view server_to_client;  // the first bytes the server sent, at most budget()
  bool client_final = false;          // no more client bytes will be shown (ended, or budget full)
  bool server_final = false;          // no more server bytes will be shown
};

// One fact about the traffic, for logs and the REST API's `protocolProperties`. Keys are short
// camelCase words ("sni", "channelType"); values are text from the network, which the host
// escapes wherever it shows them.
struct Property {
  std::string key;
  std::string value;
};
using Properties = std::vector<Property>;

struct ClassifierVerdict {
  enum class Kind {
    need_more,    // cannot tell yet: call again with more bytes
    not_mine,     // certainly not this protocol: never call again for this tunnel
    mine_so_far,  // it is this protocol; more bytes may add properties: call again
    mine,         // it is this protocol, with these properties: done
  };
  Kind kind = Kind::need_more;
  std::string protocol;   // "ssh", "tls", ...: set with mine and mine_so_far
  Properties properties;  // in the order they should be shown

  static ClassifierVerdict need_more() { return {}; }
  static ClassifierVerdict not_mine() { return {Kind::not_mine, {}, {}}; }
  static ClassifierVerdict mine(std::string protocol, Properties properties = {}) {
    return {Kind::mine, std::move(protocol), std::move(properties)};
  }
  static ClassifierVerdict mine_so_far(std::string protocol, Properties properties = {}) {
    return {Kind::mine_so_far, std::move(protocol), std::move(properties)};
  }
};

// A configured classifier, created once at start-up from its `[classifier.<name>]` table.
// classify() runs on the loop thread, for many tunnels interleaved, and must be quick (it
// parses at most twice budget() bytes) and must not throw: a classifier that throws is taken
// as `not_mine` for that tunnel and logged as a plugin bug.
class Classifier {
 public:
  virtual ~Classifier() = default;
  virtual ClassifierVerdict classify(const TrafficSample& sample) = 0;
  // Bytes per direction it may need to decide (the host caps it at 65536). The host keeps
  // copies of at most this many bytes per direction per tunnel while the question is open.
  virtual std::size_t budget() const { return 4096; }
};

}  // namespace quictun::sdk

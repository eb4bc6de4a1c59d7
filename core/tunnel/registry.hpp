// The open tunnels of one program, for the REST API and /metrics: one record per tunnel from
// the moment it exists until it ends. A record holds what the tunnel learnt (its addresses,
// token, the protocol a classifier found) and reads the live parts (bytes, state, the QUIC
// connection) from the tunnel's relay when asked, so counters move during a transfer.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "util/event.hpp"

namespace quictun::tunnel {

class Relay;

// What a tunnel knows about itself; the fields the tunnel fills as it goes.
struct TunnelRecord {
  std::string uuid;                  // random, RFC 4122 version 4
  std::string endpoint;              // "client" or "server" (quic-tun's)
  std::uint64_t id = 0;              // the number log lines use
  std::string client_app_addr;       // client side: the application's address
  std::string server_app_addr;       // server side: the backend
  std::string remote_endpoint_addr;  // the QUIC peer
  std::string token;                 // as sent / received (escaped for display)
  std::string listener;              // client side: the listener that accepted it
  std::string created_at;            // quic-tun's layout (Go's time.Time.String())
  std::chrono::system_clock::time_point created;
  std::string protocol;              // "" until a classifier knows
  nlohmann::json protocol_properties;  // null until a classifier knows
};

class TunnelRegistry {
 public:
  class Handle;

  // Byte and rate samples are taken once a second on `loop`.
  explicit TunnelRegistry(event_base* loop);
  ~TunnelRegistry();
  TunnelRegistry(const TunnelRegistry&) = delete;
  TunnelRegistry& operator=(const TunnelRegistry&) = delete;

  // Registers `relay` (which must outlive the handle) as `endpoint` ("client" / "server").
  Handle add(Relay& relay, std::string endpoint, std::uint64_t id);

  std::size_t size() const { return entries_.size(); }
  // quic-tun's fields (in its order) and ours, one object per tunnel, oldest first.
  nlohmann::ordered_json to_json() const;
  // One tunnel's object, or null when there is no such tunnel.
  nlohmann::ordered_json to_json(const std::string& uuid) const;
  // Ends the tunnel (its application connection is reset). False when there is no such tunnel.
  bool close(const std::string& uuid);
  // Bytes of every tunnel that ever ran, the open ones included: client->server, server->client.
  std::pair<std::uint64_t, std::uint64_t> total_bytes() const;

 private:
  struct Entry {
    TunnelRecord record;
    Relay* relay;
    std::uint64_t sampled_c2s = 0, sampled_s2c = 0;  // bytes at the last sample
    double rate_c2s = 0, rate_s2c = 0;               // bytes per second over the last sample period
  };
  void remove(const std::string& uuid);
  void sample();
  static std::pair<std::uint64_t, std::uint64_t> bytes_of(const Entry& e);
  nlohmann::ordered_json entry_json(const Entry& e) const;

  std::map<std::string, std::unique_ptr<Entry>> entries_;
  std::uint64_t closed_c2s_ = 0, closed_s2c_ = 0;  // bytes of the tunnels already gone
  std::chrono::steady_clock::time_point last_sample_;
  Event sampler_;
  std::shared_ptr<TunnelRegistry*> self_;  // handles outliving the registry find it gone
};

// A tunnel's registration: the tunnel fills its record through it, and the record goes away
// with it (or with reset(), when the tunnel ends).
class TunnelRegistry::Handle {
 public:
  Handle() = default;
  Handle(Handle&& other) noexcept { *this = std::move(other); }
  Handle& operator=(Handle&& other) noexcept;
  ~Handle() { reset(); }
  void reset();
  explicit operator bool() const { return record_ != nullptr; }
  // The record to fill; only valid while the handle is set.
  TunnelRecord& record() { return *record_; }
  const std::string& uuid() const;
  // The tunnel's identity for structured log lines (util/log_fields.hpp); {} when unset.
  nlohmann::json log_fields() const;
  // What a classifier found: shown as quic-tun's `protocol` and `protocolProperties`.
  void set_protocol(std::string protocol, nlohmann::json properties);

 private:
  friend class TunnelRegistry;
  std::weak_ptr<TunnelRegistry*> registry_;
  TunnelRecord* record_ = nullptr;
};

// quic-tun's rate text: bytes per second in units of 1024, "12.34 kB/s".
std::string format_rate(double bytes_per_second);
// Go's time.Time.String() layout, which quic-tun's createdAt uses:
// "2022-06-21 11:41:28.85774404 +0800 CST m=+47.535828999" (m= counts from process start).
std::string go_time_string(std::chrono::system_clock::time_point t, std::chrono::steady_clock::time_point mono);

}  // namespace quictun::tunnel

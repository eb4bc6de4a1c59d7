#include "tunnel/registry.hpp"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <ctime>
#include <span>

#include "tunnel/relay.hpp"
#include "util/random.hpp"

namespace quictun::tunnel {
namespace {

constexpr std::uint64_t kSampleMs = 1000;  // quic-tun's rates are per second, sampled each second

std::string new_uuid() {
  std::uint8_t b[16];
  random_bytes(std::span(b), GNUTLS_RND_NONCE);
  b[6] = static_cast<std::uint8_t>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<std::uint8_t>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
  char out[37];
  std::snprintf(out, sizeof out, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
  return out;
}

const char* state_name(Relay::State s) {
  switch (s) {
    case Relay::State::setup: return "setup";
    case Relay::State::relaying: return "relaying";
    case Relay::State::replying: return "replying";
    case Relay::State::done: return "done";
  }
  return "unknown";
}

double ms(std::uint64_t ns) { return static_cast<double>(ns) / 1e6; }

// When the program started (static initialization), for Go's monotonic "m=+..." suffix.
const std::chrono::steady_clock::time_point kProcessStart = std::chrono::steady_clock::now();

}  // namespace

std::string format_rate(double bytes_per_second) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f kB/s", bytes_per_second / 1024.0);
  return buf;
}

std::string go_time_string(std::chrono::system_clock::time_point t, std::chrono::steady_clock::time_point mono) {
  using namespace std::chrono;
  auto ns_total = duration_cast<nanoseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ns_total / 1'000'000'000);
  long frac = static_cast<long>(ns_total % 1'000'000'000);
  std::tm tm{};
  localtime_r(&secs, &tm);
  char date[32], zone[16], offset[8];
  std::strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S", &tm);
  std::strftime(zone, sizeof zone, "%Z", &tm);
  std::strftime(offset, sizeof offset, "%z", &tm);
  // Go prints the fraction with its trailing zeros removed, and no dot when it is zero.
  std::string fraction;
  if (frac) {
    char f[16];
    std::snprintf(f, sizeof f, ".%09ld", frac);
    fraction = f;
    while (fraction.back() == '0') fraction.pop_back();
  }
  double since_start = std::max(0.0, duration<double>(mono - kProcessStart).count());
  char m[48];
  std::snprintf(m, sizeof m, " m=+%.9f", since_start);
  return std::string(date) + fraction + " " + offset + " " + zone + m;
}

TunnelRegistry::TunnelRegistry(event_base* loop)
    : last_sample_(std::chrono::steady_clock::now()), self_(std::make_shared<TunnelRegistry*>(this)) {
  sampler_.assign(loop, -1, EV_PERSIST, [this](short) { sample(); });
}

TunnelRegistry::~TunnelRegistry() { *self_ = nullptr; }

TunnelRegistry::Handle TunnelRegistry::add(Relay& relay, std::string endpoint, std::uint64_t id) {
  auto e = std::make_unique<Entry>();
  e->relay = &relay;
  TunnelRecord& r = e->record;
  r.uuid = new_uuid();
  r.endpoint = std::move(endpoint);
  r.id = id;
  r.created = std::chrono::system_clock::now();
  r.created_at = go_time_string(r.created, std::chrono::steady_clock::now());
  Handle h;
  h.registry_ = self_;
  h.record_ = &r;
  entries_[r.uuid] = std::move(e);
  // Sampled only while there are tunnels: an idle program's loop stays free of our timer.
  if (!sampler_.pending(EV_TIMEOUT)) {
    last_sample_ = std::chrono::steady_clock::now();
    sampler_.add_timeout_ms(kSampleMs);
  }
  return h;
}

void TunnelRegistry::remove(const std::string& uuid) {
  auto it = entries_.find(uuid);
  if (it == entries_.end()) return;
  auto [c2s, s2c] = bytes_of(*it->second);
  closed_c2s_ += c2s;
  closed_s2c_ += s2c;
  entries_.erase(it);
  if (entries_.empty()) sampler_.del();
}

std::pair<std::uint64_t, std::uint64_t> TunnelRegistry::bytes_of(const Entry& e) {
  // quic-tun names directions by the applications: the client application's bytes go to the
  // server. A client tunnel sends them upstream; a server tunnel receives them from its stream.
  const Relay::Outcome& o = e.relay->outcome();
  if (e.record.endpoint == "client") return {o.bytes_up, o.bytes_down};
  return {o.bytes_down, o.bytes_up};
}

std::pair<std::uint64_t, std::uint64_t> TunnelRegistry::total_bytes() const {
  std::uint64_t c2s = closed_c2s_, s2c = closed_s2c_;
  for (const auto& [uuid, e] : entries_) {
    auto [a, b] = bytes_of(*e);
    c2s += a;
    s2c += b;
  }
  return {c2s, s2c};
}

void TunnelRegistry::sample() {
  auto now = std::chrono::steady_clock::now();
  double seconds = std::chrono::duration<double>(now - last_sample_).count();
  last_sample_ = now;
  if (seconds <= 0) return;
  for (auto& [uuid, e] : entries_) {
    auto [c2s, s2c] = bytes_of(*e);
    // A client tunnel replaying its first bytes on a new connection counts them again from the
    // start: a drop is not a negative rate.
    e->rate_c2s = c2s >= e->sampled_c2s ? static_cast<double>(c2s - e->sampled_c2s) / seconds : 0;
    e->rate_s2c = s2c >= e->sampled_s2c ? static_cast<double>(s2c - e->sampled_s2c) / seconds : 0;
    e->sampled_c2s = c2s;
    e->sampled_s2c = s2c;
  }
}

nlohmann::ordered_json TunnelRegistry::entry_json(const Entry& e) const {
  const TunnelRecord& r = e.record;
  auto [c2s, s2c] = bytes_of(e);
  nlohmann::ordered_json j;
  // quic-tun's fields, in its order and with its meanings.
  j["uuid"] = r.uuid;
  j["streamId"] = e.relay->stream_id();
  j["endpoint"] = r.endpoint;
  if (r.endpoint == "client") j["clientAppAddr"] = r.client_app_addr;
  if (r.endpoint == "server") j["serverAppAddr"] = r.server_app_addr;
  j["remoteEndpointAddr"] = r.remote_endpoint_addr;
  j["createdAt"] = r.created_at;
  j["serverTotalBytes"] = s2c;
  j["clientTotalBytes"] = c2s;
  j["serverSendRate"] = format_rate(e.rate_s2c);
  j["clientSendRate"] = format_rate(e.rate_c2s);
  j["protocol"] = r.protocol;
  j["protocolProperties"] = r.protocol_properties;
  // quictun's own.
  j["id"] = r.id;
  j["token"] = r.token;
  if (r.endpoint == "client") j["listener"] = r.listener;
  j["state"] = state_name(e.relay->state());
  j["createdAtUnixMs"] =
      std::chrono::duration_cast<std::chrono::milliseconds>(r.created.time_since_epoch()).count();
  j["serverSendBytesPerSecond"] = e.rate_s2c;
  j["clientSendBytesPerSecond"] = e.rate_c2s;
  if (const quic::Connection* c = e.relay->stream_connection()) {
    quic::ConnectionStats s = c->stats();
    nlohmann::ordered_json cj;
    cj["smoothedRttMs"] = ms(s.smoothed_rtt_ns);
    cj["minRttMs"] = ms(s.min_rtt_ns);
    cj["latestRttMs"] = ms(s.latest_rtt_ns);
    cj["cwndBytes"] = s.cwnd;
    cj["bytesInFlight"] = s.bytes_in_flight;
    if (s.loss_known) {
      cj["packetsLost"] = s.packets_lost;
      cj["bytesLost"] = s.bytes_lost;
    } else {
      cj["packetsLost"] = nullptr;  // ngtcp2's own controllers do not tell (only plugin controllers do)
      cj["bytesLost"] = nullptr;
    }
    j["connection"] = cj;
  } else {
    j["connection"] = nullptr;
  }
  return j;
}

nlohmann::ordered_json TunnelRegistry::to_json() const {
  std::vector<const Entry*> order;
  for (const auto& [uuid, e] : entries_) order.push_back(e.get());
  std::stable_sort(order.begin(), order.end(),
                   [](const Entry* a, const Entry* b) { return a->record.id < b->record.id; });
  nlohmann::ordered_json out = nlohmann::ordered_json::array();  // [] when empty, never null
  for (const Entry* e : order) out.push_back(entry_json(*e));
  return out;
}

nlohmann::ordered_json TunnelRegistry::to_json(const std::string& uuid) const {
  auto it = entries_.find(uuid);
  return it == entries_.end() ? nlohmann::ordered_json() : entry_json(*it->second);
}

bool TunnelRegistry::close(const std::string& uuid) {
  auto it = entries_.find(uuid);
  if (it == entries_.end()) return false;
  // Aborting ends the relay, which drops its handle and with it this entry: nothing of it may
  // be touched afterwards.
  it->second->relay->abort("closed through the REST API");
  return true;
}

TunnelRegistry::Handle& TunnelRegistry::Handle::operator=(Handle&& other) noexcept {
  if (this == &other) return *this;
  reset();
  registry_ = std::move(other.registry_);
  record_ = other.record_;
  other.record_ = nullptr;
  return *this;
}

void TunnelRegistry::Handle::reset() {
  if (!record_) return;
  std::string uuid = record_->uuid;
  record_ = nullptr;
  if (auto r = registry_.lock(); r && *r) (*r)->remove(uuid);
}

const std::string& TunnelRegistry::Handle::uuid() const {
  static const std::string none;
  return record_ ? record_->uuid : none;
}

void TunnelRegistry::Handle::set_protocol(std::string protocol, nlohmann::json properties) {
  if (!record_) return;
  record_->protocol = std::move(protocol);
  record_->protocol_properties = std::move(properties);
}

}  // namespace quictun::tunnel

namespace quictun::tunnel {

nlohmann::json TunnelRegistry::Handle::log_fields() const {
  nlohmann::json j = nlohmann::json::object();
  if (!record_) return j;
  const TunnelRecord& r = *record_;
  j["tunnel"] = r.uuid;
  j["tunnelId"] = r.id;
  j["endpoint"] = r.endpoint;
  if (!r.remote_endpoint_addr.empty()) j["remoteEndpointAddr"] = r.remote_endpoint_addr;
  if (!r.client_app_addr.empty()) j["clientAppAddr"] = r.client_app_addr;
  if (!r.server_app_addr.empty()) j["serverAppAddr"] = r.server_app_addr;
  if (!r.listener.empty()) j["listener"] = r.listener;
  if (!r.protocol.empty()) j["protocol"] = r.protocol;
  return j;
}

}  // namespace quictun::tunnel

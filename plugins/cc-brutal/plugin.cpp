// cc-brutal: the "brutal" congestion controller (brutal.hpp).
//
//   --congestion-control brutal --bandwidth 100mbit      # this side's sending rate
//   [congestion.brutal]
//   up = "20mbit"        # what the client sends (uploads)
//   down = "100mbit"     # what the server sends (downloads)
//   rate = "50mbit"      # both, where up/down are not given
//   max_compensation = 0.25
#include <quictun/sdk.hpp>

#include <set>

#include "brutal.hpp"

namespace {

using namespace quictun;

class BrutalControl : public sdk::CongestionControl {
 public:
  explicit BrutalControl(const cc::BrutalParams& params) : params_(params) {}
  std::unique_ptr<sdk::CongestionController> new_controller() override { return std::make_unique<cc::Brutal>(params_); }

 private:
  cc::BrutalParams params_;
};

std::unique_ptr<sdk::CongestionControl> create(const sdk::PluginConfig& config, sdk::Host& host) {
  static const std::set<std::string> known = {"up", "down", "rate", "max_compensation", "cwnd_gain"};
  for (const auto& [key, value] : config.table)
    if (!known.count(key)) throw config.error(key, "unknown key (known: cwnd_gain, down, max_compensation, rate, up)");
  const char* direction = host.side() == sdk::Side::client ? "up" : "down";
  cc::BrutalParams p;
  std::string text;
  if (!config.argument.empty()) {
    text = config.argument;
    p.rate = cc::parse_rate(text);
    if (!p.rate) throw config.argument_error("\"" + text + "\" is not a rate (e.g. 100mbit, 12.5MB/s)");
  } else {
    const std::string key = config.has(direction) ? direction : "rate";
    auto v = config.get_string(key);
    if (!v)
      throw sdk::Error(std::string("brutal needs the rate to send at: --bandwidth RATE, or [congestion.brutal] ") +
                       direction + " = \"100mbit\" (or rate = ...)");
    p.rate = cc::parse_rate(*v);
    if (!p.rate) throw config.error(key, "\"" + *v + "\" is not a rate (e.g. 100mbit, 12.5MB/s)");
  }
  if (auto v = config.get_number("max_compensation")) {
    if (!(*v >= 0 && *v <= 0.5)) throw config.error("max_compensation", "must be between 0 and 0.5");
    p.max_compensation = *v;
  }
  if (auto v = config.get_number("cwnd_gain")) {
    if (!(*v >= 1 && *v <= 8)) throw config.error("cwnd_gain", "must be between 1 and 8");
    p.cwnd_gain = *v;
  }
  host.log(sdk::LogLevel::info, "sending at " + std::to_string(p.rate * 8 / 1000000) + " Mbit/s (" + direction + ")");
  return std::make_unique<BrutalControl>(p);
}

sdk::PluginDescriptor describe() {
  sdk::PluginDescriptor d;
  d.name = "cc-brutal";
  d.version = "1.0.0";
  d.description = "brutal: a declared sending rate, raised to make up for measured loss (links you own)";
  d.congestion_controls.push_back(
      {"brutal", "sends at --bandwidth (or [congestion.brutal] up/down), compensating loss up to max_compensation",
       create});
  return d;
}

}  // namespace

QUICTUN_PLUGIN(describe)
QUICTUN_PLUGIN_PROVIDES(congestion, brutal)

// cc-bbr1: the "bbr1" congestion controller (bbr1.hpp), quictun's default.
//
//   [congestion.bbr1]
//   react_to_congestion = true   # the loss-and-delay backoff; false: ignore loss entirely
//   excess_loss = 0.02           # loss above the link's quiet rate that, with a queue, is congestion
//   queue_fraction = 0.5         # a standing queue of this fraction of the min RTT
//   cwnd_gain = 2.0
//   probe_rtt_interval_ms = 10000
//   probe_rtt_when_queued_only = true  # skip ProbeRTT after an interval in which the queue emptied
//   ack_aggregation = true       # widen the window by the measured excess of ACK bursts
#include <quictun/sdk.hpp>

#include <set>

#include "bbr1.hpp"

namespace {

using namespace quictun;

class Bbr1Control : public sdk::CongestionControl {
 public:
  explicit Bbr1Control(const cc::Bbr1Params& params) : params_(params) {}
  std::unique_ptr<sdk::CongestionController> new_controller() override {
    // Each connection gets its own probing phase: flows started together should not probe together.
    return std::make_unique<cc::Bbr1>(params_, 0x9e3779b97f4a7c15ull * ++connections_);
  }

 private:
  cc::Bbr1Params params_;
  std::uint64_t connections_ = 0;
};

double number_in(const sdk::PluginConfig& config, const std::string& key, double lo, double hi, double fallback) {
  auto v = config.get_number(key);
  if (!v) return fallback;
  if (!(*v >= lo && *v <= hi))
    throw config.error(key, "must be between " + std::to_string(lo) + " and " + std::to_string(hi));
  return *v;
}

std::unique_ptr<sdk::CongestionControl> create(const sdk::PluginConfig& config, sdk::Host&) {
  if (!config.argument.empty()) throw config.argument_error("bbr1 takes no argument (its settings go in [congestion.bbr1])");
  static const std::set<std::string> known = {"react_to_congestion", "excess_loss", "queue_fraction", "cwnd_gain",
                                              "probe_rtt_interval_ms", "probe_rtt_when_queued_only", "ack_aggregation"};
  for (const auto& [key, value] : config.table) {
    if (known.count(key)) continue;
    std::string names;  // the set is ordered: the list reads alphabetically
    for (const auto& k : known) names += (names.empty() ? "" : ", ") + k;
    throw config.error(key, "unknown key (known: " + names + ")");
  }
  cc::Bbr1Params p;
  if (auto v = config.get_bool("react_to_congestion")) p.react_to_congestion = *v;
  if (auto v = config.get_bool("probe_rtt_when_queued_only")) p.skip_needless_probe_rtt = *v;
  if (auto v = config.get_bool("ack_aggregation")) p.ack_aggregation = *v;
  p.excess_loss = number_in(config, "excess_loss", 0.001, 0.5, p.excess_loss);
  p.queue_fraction = number_in(config, "queue_fraction", 0.05, 10, p.queue_fraction);
  p.cwnd_gain = number_in(config, "cwnd_gain", 1.0, 8.0, p.cwnd_gain);
  p.min_rtt_window_ns =
      static_cast<std::uint64_t>(number_in(config, "probe_rtt_interval_ms", 1000, 600000, 10000)) * 1'000'000ull;
  return std::make_unique<Bbr1Control>(p);
}

sdk::PluginDescriptor describe() {
  sdk::PluginDescriptor d;
  d.name = "cc-bbr1";
  d.version = "1.0.0";
  d.description = "bbr1: loss-tolerant model-based congestion control (BBR v1 style), quictun's default";
  d.congestion_controls.push_back(
      {"bbr1", "max-filtered delivery rate x min RTT; ignores random loss, backs off when loss and queueing rise together",
       create});
  return d;
}

}  // namespace

QUICTUN_PLUGIN(describe)
QUICTUN_PLUGIN_PROVIDES(congestion, bbr1)

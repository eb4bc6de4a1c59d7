#include "tunnel/classification.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <string_view>

#include "util/escape.hpp"

namespace quictun::tunnel {
namespace {

// Property keys are chosen by plugins and values come from the network: both are escaped, and
// only a few short fields go into a log line.
constexpr std::size_t kLogValueLimit = 96;

bool plain_key(const std::string& key) {
  return !key.empty() && std::all_of(key.begin(), key.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '_' || c == '-' || c == '.';
  });
}

}  // namespace

std::string Classification::log_fields() const {
  if (protocol.empty()) return " protocol=unknown";
  std::string out = " protocol=" + escape_for_log(protocol, kLogValueLimit);
  for (const auto& [key, value] : properties.items()) {
    if (!plain_key(key) || !value.is_string()) continue;
    out += " " + key + "=\"" + escape_for_log(value.get<std::string>(), kLogValueLimit) + "\"";
  }
  return out;
}

TunnelClassifier::TunnelClassifier(const plugin::ClassifierSet& set)
    : set_(set), standing_(set.entries().size(), Standing::open) {
  if (set_.empty()) result_.settled = true;
}

bool TunnelClassifier::observe(Flow flow, const std::uint8_t* data, std::size_t size) {
  if (result_.settled) return false;
  Direction& d = flow == Flow::client_to_server ? c2s_ : s2c_;
  if (size == 0) {
    if (d.ended) return true;
    d.ended = true;
  } else {
    std::size_t room = set_.budget() - std::min(set_.budget(), d.bytes.size());
    if (room == 0) return true;  // past every budget: this flow has nothing new to show
    d.bytes.append(reinterpret_cast<const char*>(data), std::min(room, size));
  }
  run();
  return !result_.settled;
}

void TunnelClassifier::run() {
  const auto& entries = set_.entries();
  bool any_open = false;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (standing_[i] == Standing::out) continue;
    const auto& e = entries[i];
    sdk::TrafficSample sample;
    sample.client_to_server = std::string_view(c2s_.bytes).substr(0, e.budget);
    sample.server_to_client = std::string_view(s2c_.bytes).substr(0, e.budget);
    sample.client_final = final_for(c2s_, e.budget);
    sample.server_final = final_for(s2c_, e.budget);
    sdk::ClassifierVerdict verdict;
    try {
      verdict = e.classifier->classify(sample);
    } catch (const std::exception& ex) {
      spdlog::error("classifier \"{}\" threw (a plugin bug): {}", e.name, escape_controls_for_log(ex.what()));
      verdict = sdk::ClassifierVerdict::not_mine();
    } catch (...) {
      spdlog::error("classifier \"{}\" threw (a plugin bug)", e.name);
      verdict = sdk::ClassifierVerdict::not_mine();
    }
    using Kind = sdk::ClassifierVerdict::Kind;
    const bool claims = verdict.kind == Kind::mine || verdict.kind == Kind::mine_so_far;
    if (claims && verdict.protocol.empty()) verdict.kind = Kind::not_mine;  // a claim must name its protocol
    if (verdict.kind == Kind::mine || verdict.kind == Kind::mine_so_far) {
      result_.protocol = verdict.protocol;
      result_.properties = nlohmann::json::object();
      for (const auto& p : verdict.properties) result_.properties[p.key] = p.value;
      if (changed_) changed_(result_);
      // The protocol is known: the others need not be asked again.
      for (std::size_t j = 0; j < entries.size(); ++j) standing_[j] = j == i ? Standing::owner : Standing::out;
      if (verdict.kind == Kind::mine || (sample.client_final && sample.server_final)) settle();
      return;
    }
    if (standing_[i] == Standing::owner && verdict.kind == Kind::not_mine) {
      // It took its claim back (the rest of the bytes contradicted the start).
      result_.protocol.clear();
      result_.properties = nlohmann::json::object();
      if (changed_) changed_(result_);
      settle();
      return;
    }
    if (verdict.kind == Kind::not_mine || (sample.client_final && sample.server_final)) {
      // An owner that runs out of bytes keeps what it said so far.
      if (standing_[i] == Standing::owner) {
        settle();
        return;
      }
      standing_[i] = Standing::out;
      continue;
    }
    any_open = true;
  }
  if (!any_open) settle();
}

void TunnelClassifier::settle() {
  result_.settled = true;
  c2s_.bytes.clear();
  c2s_.bytes.shrink_to_fit();
  s2c_.bytes.clear();
  s2c_.bytes.shrink_to_fit();
}

void TunnelClassifier::attach(Relay& relay, bool application_is_client) {
  if (!enabled()) return;
  relay.set_tap([this, application_is_client](Relay::Way way, const std::uint8_t* data, std::size_t size) {
    const bool from_application = way == Relay::Way::to_stream;
    const bool from_client = from_application == application_is_client;
    return observe(from_client ? Flow::client_to_server : Flow::server_to_client, data, size);
  });
}

void TunnelClassifier::finish() {
  if (!result_.settled) settle();
}

std::string TunnelClassifier::finish_for_log() {
  finish();
  return enabled() ? result_.log_fields() : std::string();
}

}  // namespace quictun::tunnel

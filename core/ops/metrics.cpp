#include "ops/metrics.hpp"

#include <cmath>
#include <cstdio>

#include "util/error.hpp"

namespace quictun::ops {
namespace {

std::string escape_label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string escape_help(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string label_text(const Labels& labels) {
  if (labels.empty()) return {};
  std::string out = "{";
  for (const auto& [k, v] : labels) out += (out.size() > 1 ? "," : "") + k + "=\"" + escape_label(v) + "\"";
  return out + "}";
}

std::string number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  if (v == std::floor(v) && std::fabs(v) < 1e15)
    std::snprintf(buf, sizeof buf, "%.0f", v);
  else
    std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

}  // namespace

Metrics::Value Metrics::sample(const std::string& name, const std::string& help, const char* type,
                               const Labels& labels) {
  auto [it, fresh] = families_.try_emplace(name);
  Family& f = it->second;
  if (fresh) {
    f.help = help;
    f.type = type;
  } else if (std::string(f.type) != type) {
    throw RuntimeError("metric " + name + " declared as both " + f.type + " and " + type);
  }
  auto& slot = f.samples[label_text(labels)];
  if (!slot) slot = std::make_unique<double>(0);
  return Value(slot.get());
}

Metrics::Value Metrics::counter(const std::string& name, const std::string& help, const Labels& labels) {
  return sample(name, help, "counter", labels);
}

Metrics::Value Metrics::gauge(const std::string& name, const std::string& help, const Labels& labels) {
  return sample(name, help, "gauge", labels);
}

void Metrics::clear(const std::string& name) {
  auto it = families_.find(name);
  if (it != families_.end()) it->second.samples.clear();
}

std::string Metrics::render() {
  for (auto& c : collectors_) c(*this);
  std::string out;
  for (const auto& [name, f] : families_) {
    out += "# HELP " + name + " " + escape_help(f.help) + "\n";
    out += "# TYPE " + name + " " + f.type + "\n";
    for (const auto& [labels, v] : f.samples) out += name + labels + " " + number(*v) + "\n";
  }
  return out;
}

}  // namespace quictun::ops

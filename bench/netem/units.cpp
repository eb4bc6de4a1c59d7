#include "units.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>

namespace quictun::netem {
namespace {

struct Unit {
  std::string_view suffix;  // lower-case spelling
  double scale;             // multiplier to the base unit
};

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

[[noreturn]] void fail(std::string_view flag, std::string_view text, std::string_view why) {
  throw UsageError(std::string(flag) + ": '" + std::string(text) + "' " + std::string(why));
}

// Splits "12.5ms" into 12.5 and "ms". from_chars for double keeps this locale-independent.
std::pair<double, std::string> split_number(std::string_view flag, std::string_view text) {
  if (text.empty()) fail(flag, text, "is empty");
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end == text.data()) fail(flag, text, "does not start with a number");
  if (!std::isfinite(value) || value < 0) fail(flag, text, "must be a finite, non-negative number");
  return {value,
          lower(std::string_view(end, static_cast<std::size_t>(text.data() + text.size() - end)))};
}

double scaled(std::string_view flag, std::string_view text, std::initializer_list<Unit> units,
              std::string_view expected) {
  auto [value, suffix] = split_number(flag, text);
  if (suffix.empty() && value == 0) return 0;
  for (const Unit& u : units) {
    if (suffix == u.suffix) return value * u.scale;
  }
  if (suffix.empty()) fail(flag, text, "needs a unit (" + std::string(expected) + ")");
  fail(flag, text, "has an unknown unit '" + suffix + "' (expected " + std::string(expected) + ")");
}

}  // namespace

Nanos parse_duration(std::string_view flag, std::string_view text) {
  double ns =
      scaled(flag, text, {{"ns", 1}, {"us", 1e3}, {"ms", 1e6}, {"s", 1e9}}, "ns, us, ms, s");
  if (ns > 3600e9) fail(flag, text, "is longer than an hour");
  return static_cast<Nanos>(std::llround(ns));
}

double parse_percent(std::string_view flag, std::string_view text) {
  double p = scaled(flag, text, {{"%", 0.01}}, "%, e.g. 1%");
  if (p > 1) fail(flag, text, "is more than 100%");
  return p;
}

std::uint64_t parse_rate(std::string_view flag, std::string_view text) {
  auto [value, suffix] = split_number(flag, text);
  if (suffix == "mbps" || suffix == "kbps" || suffix == "gbps" || suffix == "bps") {
    fail(flag, text, "is ambiguous (bits or bytes?); write it in bit/s, e.g. 100mbit");
  }
  double bps = scaled(flag, text, {{"bit", 1}, {"kbit", 1e3}, {"mbit", 1e6}, {"gbit", 1e9}},
                      "bit, kbit, mbit, gbit");
  if (bps > 0 && bps < 8000) fail(flag, text, "is below 8 kbit/s, too slow to be useful");
  if (bps > 1e12) fail(flag, text, "is above 1000 gbit/s");
  return static_cast<std::uint64_t>(std::llround(bps));
}

QueueLimit parse_queue(std::string_view flag, std::string_view text) {
  auto [value, suffix] = split_number(flag, text);
  if (value != std::floor(value)) fail(flag, text, "must be a whole number");
  QueueLimit q;
  if (suffix == "p" || suffix == "pkt" || suffix == "pkts" || suffix == "packets") {
    q.in_packets = true;
    q.amount = static_cast<std::uint64_t>(value);
  } else {
    q.in_packets = false;
    q.amount = static_cast<std::uint64_t>(scaled(
        flag, text, {{"b", 1}, {"kb", 1e3}, {"kib", 1024}, {"mb", 1e6}, {"mib", 1024.0 * 1024}},
        "pkt, b, kb, kib, mb, mib"));
  }
  if (q.amount == 0) fail(flag, text, "must be at least one packet or byte");
  if (q.in_packets && q.amount > 10'000'000) fail(flag, text, "is more than 10 million packets");
  return q;
}

std::string format_duration(Nanos ns) {
  char buf[48];
  if (ns % 1'000'000 == 0) {
    std::snprintf(buf, sizeof buf, "%lldms", static_cast<long long>(ns / 1'000'000));
  } else {
    std::snprintf(buf, sizeof buf, "%.3fms", static_cast<double>(ns) / 1e6);
  }
  return buf;
}

std::string format_rate(std::uint64_t bps) {
  if (bps == 0) return "unlimited";
  char buf[48];
  std::snprintf(buf, sizeof buf, "%gmbit", static_cast<double>(bps) / 1e6);
  return buf;
}

}  // namespace quictun::netem

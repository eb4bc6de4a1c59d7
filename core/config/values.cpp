#include "config/values.hpp"

#include <event2/util.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <set>

#include "util/error.hpp"

namespace quictun::config {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

bool parse_decimal(const std::string& text, std::uint64_t& out) {
  if (text.empty() || !std::isdigit(static_cast<unsigned char>(text.front()))) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

bool parse_real(const std::string& text, double& out) {
  if (text.empty()) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

std::string parse_congestion_name(const std::string& text, const std::string& origin) {
  std::string v;
  for (char c : lower(text)) v.push_back(c == '-' ? '_' : c);
  if (v.empty() || v.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") != std::string::npos)
    throw UsageError(origin + ": \"" + text + "\" is not a congestion controller name");
  return v;
}

bool parse_on_off(const std::string& text, const std::string& origin) {
  std::string v = lower(text);
  if (v == "on" || v == "true" || v == "yes" || v == "1") return true;
  if (v == "off" || v == "false" || v == "no" || v == "0") return false;
  throw UsageError(origin + ": expected on or off, got \"" + text + "\"");
}

quic::ServerLimits::Retry parse_retry_mode(const std::string& text, const std::string& origin) {
  std::string v = lower(text);
  if (v == "auto") return quic::ServerLimits::Retry::automatic;
  if (v == "always") return quic::ServerLimits::Retry::always;
  if (v == "never") return quic::ServerLimits::Retry::never;
  throw UsageError(origin + ": unknown retry mode \"" + text + "\" (use auto, always or never)");
}

std::string check_log_level(const std::string& level, const std::string& origin) {
  static const std::set<std::string> levels = {"trace", "debug", "info", "warn", "error", "off"};
  std::string v = lower(level);
  if (v == "warning") v = "warn";
  if (v == "dpanic" || v == "panic" || v == "fatal") v = "error";  // quic-tun's (zap's) names above error
  if (!levels.count(v))
    throw UsageError(origin + ": unknown log level \"" + level + "\" (use trace, debug, info, warn, error or off)");
  return v;
}

std::string check_log_format(const std::string& format, const std::string& origin) {
  std::string v = lower(format);
  if (v != "console" && v != "json")
    throw UsageError(origin + ": unknown log format \"" + format + "\" (use console or json)");
  return v;
}

std::vector<std::string> split_commas(const std::vector<std::string>& items) {
  std::vector<std::string> out;
  for (const auto& item : items) {
    std::size_t start = 0;
    while (start <= item.size()) {
      std::size_t end = item.find(',', start);
      if (end == std::string::npos) end = item.size();
      if (end > start) out.push_back(item.substr(start, end - start));
      start = end + 1;
    }
  }
  return out;
}

std::string check_nameserver(const std::string& text, const std::string& origin) {
  sockaddr_storage ss{};
  int len = sizeof ss;
  if (evutil_parse_sockaddr_port(text.c_str(), reinterpret_cast<sockaddr*>(&ss), &len) != 0)
    throw UsageError(origin + ": nameserver \"" + text + "\" is not IP, IP:PORT or [IPv6]:PORT");
  return text;
}

}  // namespace quictun::config

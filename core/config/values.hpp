// Text values whose meaning is the same in quictun.toml and on the command line. Each throws
// UsageError prefixed with `origin` ("quictun.toml:12" or "--arq").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "quic/connection.hpp"
#include "quic/server_endpoint.hpp"

namespace quictun::config {

// A nameserver for the client's resolver: numeric only ("IP", "IP:PORT", "[IPv6]:PORT"), since
// naming it by a name would need a resolver. Returns the text; throws UsageError naming `origin`.
std::string check_nameserver(const std::string& text, const std::string& origin);

std::string lower(std::string s);

// Whole decimal digits only ("10x" and "-1" are refused); false when `text` is not one.
bool parse_decimal(const std::string& text, std::uint64_t& out);
// A decimal number, all of `text`.
bool parse_real(const std::string& text, double& out);

// A controller's name as the loader compares it (lower case, '_' for '-'); whether a plugin
// provides it is checked at start-up, once the plugins are known.
std::string parse_congestion_name(const std::string& text, const std::string& origin);

// auto, always or never ([server] retry).
quic::ServerLimits::Retry parse_retry_mode(const std::string& text, const std::string& origin);

// on/off, true/false, yes/no, 1/0, in any case.
bool parse_on_off(const std::string& text, const std::string& origin);

// trace, debug, info, warn (or warning), error, off; returned in the form spdlog takes.
std::string check_log_level(const std::string& level, const std::string& origin);
// console or json, case-insensitive; returns it in lower case.
std::string check_log_format(const std::string& format, const std::string& origin);
// quic-tun's list flags take "a,b,c" as well as repeats: every item split at its commas.
std::vector<std::string> split_commas(const std::vector<std::string>& items);

}  // namespace quictun::config

// Client address (or CIDR) -> token, with longest-prefix match.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace quictun::token_file {

// An IPv4 or IPv6 address; IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are stored as IPv4, so
// a dual-stack listener's clients match the IPv4 lines written for them.
struct IpAddress {
  bool v6 = false;
  std::array<std::uint8_t, 16> bytes{};  // network order; the first 4 for IPv4

  std::size_t bits() const { return v6 ? 128 : 32; }
  // "192.0.2.7", "2001:db8::7"; brackets and a %zone are accepted and ignored.
  static std::optional<IpAddress> parse(std::string_view text);
  std::string to_string() const;
};

class AddressTable {
 public:
  // Parses the source file format (see sdk/README.md and the plugin's help). `file` names the
  // file in errors. Throws sdk::Error("file:line: why") at the first bad line.
  static AddressTable parse(std::string_view text, const std::string& file);

  // The token for a client; an empty `peer_ip` (UNIX socket) matches only the '*' line.
  const std::string* find(std::string_view peer_ip) const;

  std::size_t size() const { return entries_; }
  bool has_default() const { return default_.has_value(); }

 private:
  // Prefix length, longest first -> masked address bytes -> token: a lookup costs one hash per
  // distinct prefix length in the file, however many lines it has.
  using ByLength = std::map<std::size_t, std::unordered_map<std::string, std::string>, std::greater<>>;
  ByLength v4_, v6_;
  std::optional<std::string> default_;
  std::size_t entries_ = 0;
};

}  // namespace quictun::token_file

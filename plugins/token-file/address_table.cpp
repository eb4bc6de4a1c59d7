#include "address_table.hpp"

#include <arpa/inet.h>
#include <charconv>
#include <cstring>

#include <quictun/sdk.hpp>

#include "file_format.hpp"

namespace quictun::token_file {

namespace {

constexpr std::array<std::uint8_t, 12> v4_mapped_prefix = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

// The address with every bit past `length` cleared.
IpAddress masked(IpAddress a, std::size_t length) {
  for (std::size_t bit = length; bit < a.bits(); ++bit) a.bytes[bit / 8] &= static_cast<std::uint8_t>(~(0x80u >> (bit % 8)));
  return a;
}

std::string key_of(const IpAddress& a) {
  return std::string(reinterpret_cast<const char*>(a.bytes.data()), a.v6 ? 16 : 4);
}

}  // namespace

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') text = text.substr(1, text.size() - 2);
  if (auto zone = text.find('%'); zone != std::string_view::npos) text = text.substr(0, zone);
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  char buf[INET6_ADDRSTRLEN] = {};
  std::memcpy(buf, text.data(), text.size());

  IpAddress a;
  if (text.find(':') == std::string_view::npos) {
    if (inet_pton(AF_INET, buf, a.bytes.data()) != 1) return std::nullopt;
    return a;
  }
  if (inet_pton(AF_INET6, buf, a.bytes.data()) != 1) return std::nullopt;
  if (std::memcmp(a.bytes.data(), v4_mapped_prefix.data(), v4_mapped_prefix.size()) == 0) {
    std::memmove(a.bytes.data(), a.bytes.data() + 12, 4);
    std::memset(a.bytes.data() + 4, 0, 12);
    return a;
  }
  a.v6 = true;
  return a;
}

std::string IpAddress::to_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(v6 ? AF_INET6 : AF_INET, bytes.data(), buf, sizeof buf);
  return buf;
}

AddressTable AddressTable::parse(std::string_view text, const std::string& file) {
  AddressTable table;
  std::map<std::string, std::size_t> first_line;  // "10.0.0.0/8" -> where it was first written
  std::size_t default_line = 0;

  for_each_line(text, [&](std::size_t line, const std::vector<std::string_view>& fields) {
    if (fields.size() != 2)
      throw line_error(file, line, "expected '<client address or CIDR> <token>', got " + std::to_string(fields.size()) +
                                       " field" + (fields.size() == 1 ? "" : "s"));
    std::string_view where = fields[0];
    std::string token(fields[1]);
    if (auto problem = token_problem(token); !problem.empty()) throw line_error(file, line, problem);

    if (where == "*") {
      if (default_line)
        throw line_error(file, line, "second '*' line (the first is at line " + std::to_string(default_line) + ")");
      default_line = line;
      table.default_ = std::move(token);
      ++table.entries_;
      return;
    }

    std::string_view address_text = where;
    std::optional<std::size_t> length;
    if (auto slash = where.find('/'); slash != std::string_view::npos) {
      address_text = where.substr(0, slash);
      std::string_view digits = where.substr(slash + 1);
      std::size_t value = 0;
      auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
      if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size())
        throw line_error(file, line, "bad prefix length in " + sdk::quote(where));
      length = value;
    }
    if (address_text.find('%') != std::string_view::npos)
      throw line_error(file, line, sdk::quote(where) + ": zone indexes (%) are not supported");
    bool written_v6 = address_text.find(':') != std::string_view::npos;
    auto address = IpAddress::parse(address_text);
    if (!address)
      throw line_error(file, line, sdk::quote(address_text) + " is neither an IPv4 nor an IPv6 address");

    std::size_t written_bits = written_v6 ? 128 : 32;
    std::size_t bits = length.value_or(written_bits);
    if (bits > written_bits)
      throw line_error(file, line, "prefix length " + std::to_string(bits) + " in " + sdk::quote(where) +
                                       " is longer than " + std::to_string(written_bits));
    if (written_v6 && !address->v6) {
      // ::ffff:10.0.0.0/104 is 10.0.0.0/8; a shorter prefix would cover non-mapped IPv6 too.
      if (bits < 96)
        throw line_error(file, line, sdk::quote(where) + " mixes IPv4-mapped and other IPv6 addresses");
      bits -= 96;
    }
    IpAddress network = masked(*address, bits);
    if (network.bytes != address->bytes)
      throw line_error(file, line, sdk::quote(where) + " has host bits set (did you mean " +
                                       network.to_string() + "/" + std::to_string(bits) + "?)");

    std::string canonical = network.to_string() + "/" + std::to_string(bits);
    auto [it, inserted] = first_line.emplace(canonical, line);
    if (!inserted)
      throw line_error(file, line, "duplicate entry for " + canonical + " (first at line " + std::to_string(it->second) + ")");
    (network.v6 ? table.v6_ : table.v4_)[bits].emplace(key_of(network), std::move(token));
    ++table.entries_;
  });
  return table;
}

const std::string* AddressTable::find(std::string_view peer_ip) const {
  if (!peer_ip.empty()) {
    if (auto address = IpAddress::parse(peer_ip)) {
      for (const auto& [length, entries] : address->v6 ? v6_ : v4_) {
        auto it = entries.find(key_of(masked(*address, length)));
        if (it != entries.end()) return &it->second;
      }
    }
  }
  return default_ ? &*default_ : nullptr;
}

}  // namespace quictun::token_file

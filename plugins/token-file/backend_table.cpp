#include "backend_table.hpp"

#include <charconv>

#include <quictun/sdk.hpp>

#include "file_format.hpp"

namespace quictun::token_file {

std::string backend_problem(std::string_view backend) {
  auto colon = backend.find(':');
  if (colon == std::string_view::npos)
    return "backend " + sdk::quote(backend) + " is not network:address (tcp:HOST:PORT or unix:PATH)";
  std::string_view network = backend.substr(0, colon);
  std::string_view address = backend.substr(colon + 1);
  if (network != "tcp" && network != "tcp4" && network != "tcp6" && network != "unix")
    return "backend " + sdk::quote(backend) + " has unknown network " + sdk::quote(network) +
           " (expected tcp, tcp4, tcp6 or unix)";
  if (address.empty()) return "backend " + sdk::quote(backend) + " has an empty address";
  if (network == "unix") return {};

  auto port_colon = address.rfind(':');
  if (port_colon == std::string_view::npos)
    return "backend " + sdk::quote(backend) + " lacks a port (" + std::string(network) + ":HOST:PORT)";
  std::string_view host = address.substr(0, port_colon);
  std::string_view port = address.substr(port_colon + 1);
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535)
    return "backend " + sdk::quote(backend) + " has a bad port " + sdk::quote(port) + " (1-65535)";
  if (host.empty()) return "backend " + sdk::quote(backend) + " has an empty host";
  bool bracketed = host.size() >= 2 && host.front() == '[' && host.back() == ']';
  if (!bracketed && host.find(':') != std::string_view::npos)
    return "backend " + sdk::quote(backend) + ": write an IPv6 host in brackets, as in tcp:[2001:db8::1]:22";
  return {};
}

BackendTable BackendTable::parse(std::string_view text, const std::string& file) {
  BackendTable table;
  std::unordered_map<std::string, std::size_t> first_line;
  for_each_line(text, [&](std::size_t line, const std::vector<std::string_view>& fields) {
    if (fields.size() != 2)
      throw line_error(file, line, "expected '<token> <backend>', got " + std::to_string(fields.size()) + " field" +
                                       (fields.size() == 1 ? "" : "s"));
    std::string token(fields[0]);
    if (auto problem = token_problem(token); !problem.empty()) throw line_error(file, line, problem);
    if (auto problem = backend_problem(fields[1]); !problem.empty()) throw line_error(file, line, problem);
    auto [it, inserted] = first_line.emplace(token, line);
    if (!inserted)
      throw line_error(file, line, "duplicate token " + sdk::quote(token) + " (first at line " +
                                       std::to_string(it->second) + ")");
    table.backends_.emplace(std::move(token), std::string(fields[1]));
  });
  return table;
}

const std::string* BackendTable::find(const std::string& token) const {
  auto it = backends_.find(token);
  return it == backends_.end() ? nullptr : &it->second;
}

}  // namespace quictun::token_file

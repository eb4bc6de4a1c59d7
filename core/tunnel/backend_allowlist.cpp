#include "tunnel/backend_allowlist.hpp"

#include <fnmatch.h>

#include <algorithm>
#include <cctype>

#include "util/error.hpp"

namespace quictun::tunnel {
namespace {

struct Problem {
  std::string what;
};

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// RFC 3986's scheme syntax: a letter, then letters, digits, '+', '-' or '.'.
bool is_scheme(std::string_view s) {
  if (s.empty() || !std::isalpha(static_cast<unsigned char>(s.front()))) return false;
  return std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isalnum(c) || c == '+' || c == '-' || c == '.'; });
}

bool is_tcp_scheme(const std::string& scheme) { return scheme == "tcp" || scheme == "tcp4" || scheme == "tcp6"; }

// Host-name characters as the tcp transport accepts them, plus the glob characters.
bool is_name_pattern(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '*' ||
           c == '?';
  });
}

// "HOST:PORT" with HOST maybe in brackets, as written after the scheme. Host keeps any
// "/prefix" that follows a bracket ("[fd00::]/8").
bool split_host(std::string_view rest, std::string& host, std::string_view& port) {
  auto last = rest.rfind(':');
  if (last == std::string_view::npos) return false;
  std::string_view h = rest.substr(0, last);
  port = rest.substr(last + 1);
  if (!h.empty() && h.front() == '[') {
    auto close = h.find(']');
    if (close == std::string_view::npos) return false;
    host = std::string(h.substr(1, close - 1)) + std::string(h.substr(close + 1));
  } else {
    host = std::string(h);
  }
  return true;
}

// A path is matched only in its plain form: "/run/app/../../etc/x.sock" could pass a glob
// while naming a file outside it.
bool is_plain_absolute_path(std::string_view path) {
  if (path.empty() || path.front() != '/') return false;
  std::size_t start = 1;
  while (start <= path.size()) {
    auto end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view part = path.substr(start, end - start);
    if ((part.empty() && end != path.size()) || part == "." || part == "..") return false;
    start = end + 1;
  }
  return true;
}

bool glob(const std::string& pattern, std::string_view text, int flags) {
  return ::fnmatch(pattern.c_str(), std::string(text).c_str(), flags) == 0;
}

}  // namespace

BackendAllowlist::BackendAllowlist(const std::vector<std::string>& entries, const std::vector<std::string>& origins)
    : active_(true) {
  for (std::size_t i = 0; i < entries.size(); ++i) {
    try {
      entries_.push_back(parse_entry(entries[i]));
    } catch (const Problem& p) {
      std::string origin = i < origins.size() ? origins[i] : "allow";
      throw UsageError(origin + ": allow entry \"" + entries[i] + "\": " + p.what);
    }
  }
}

BackendAllowlist::Entry BackendAllowlist::parse_entry(std::string_view text) {
  auto colon = text.find(':');
  if (colon == std::string_view::npos || !is_scheme(text.substr(0, colon)))
    throw Problem{"missing scheme (write tcp:NETWORK:PORTS, tcp:NAME:PORTS or unix:PATH-GLOB)"};
  Entry e;
  e.scheme = lower(text.substr(0, colon));
  std::string_view rest = text.substr(colon + 1);
  if (e.scheme == "tcp4" || e.scheme == "tcp6")
    throw Problem{"write tcp: (it covers tcp, tcp4 and tcp6 backends; the address says which family)"};
  if (rest.empty()) throw Problem{"nothing after \"" + e.scheme + ":\""};
  if (e.scheme == "unix") {
    if (rest.front() != '/') throw Problem{"the path glob must be absolute"};
    e.kind = Kind::path_glob;
    e.pattern = std::string(rest);
    return e;
  }
  if (e.scheme != "tcp") {
    e.kind = Kind::text_glob;
    e.pattern = std::string(rest);
    return e;
  }
  std::string host;
  std::string_view port;
  if (!split_host(rest, host, port)) throw Problem{"expected tcp:NETWORK:PORTS or tcp:NAME:PORTS"};
  std::string problem;
  auto ports = parse_port_range(port, &problem);
  if (!ports) throw Problem{problem};
  e.ports = *ports;
  if (host == "*") {
    e.kind = Kind::tcp_network;
    e.any_host = true;
    return e;
  }
  std::string name = lower(host);
  bool looks_numeric = host.find(':') != std::string::npos || host.find('/') != std::string::npos ||
                       std::all_of(host.begin(), host.end(), [](char c) { return (c >= '0' && c <= '9') || c == '.'; });
  if (looks_numeric) {
    auto net = parse_network(host, &problem);
    if (!net) throw Problem{problem};
    e.kind = Kind::tcp_network;
    e.network = *net;
    return e;
  }
  if (!is_name_pattern(name)) throw Problem{"\"" + host + "\" is neither an address, a prefix nor a host name"};
  e.kind = Kind::tcp_name;
  e.pattern = name;
  return e;
}

std::optional<std::string> BackendAllowlist::refusal(std::string_view backend) const {
  if (!active_) return std::nullopt;
  const std::string none = "not in the server's allow list";
  auto colon = backend.find(':');
  if (colon == std::string_view::npos) return none;
  std::string scheme = lower(backend.substr(0, colon));
  std::string_view rest = backend.substr(colon + 1);

  std::string host;
  std::string_view port_text;
  std::optional<IpAddress> ip;
  std::optional<PortRange> port;
  if (is_tcp_scheme(scheme)) {
    if (!split_host(rest, host, port_text)) return none;
    std::string problem;
    port = parse_port_range(port_text, &problem);
    if (!port || port->lo != port->hi) return none;
    std::string address = host.substr(0, host.find('%'));  // a zone picks the interface, not the host
    ip = parse_ip(address);
  }
  bool plain_path = scheme == "unix" && is_plain_absolute_path(rest);
  for (const Entry& e : entries_) {
    switch (e.kind) {
      case Kind::tcp_network:
        if (is_tcp_scheme(scheme) && port && e.ports.contains(port->lo) && (e.any_host || (ip && e.network.contains(*ip))))
          return std::nullopt;
        break;
      case Kind::tcp_name:
        if (is_tcp_scheme(scheme) && port && !ip && e.ports.contains(port->lo) && glob(e.pattern, lower(host), FNM_PERIOD))
          return std::nullopt;
        break;
      case Kind::path_glob:
        if (plain_path && glob(e.pattern, rest, FNM_PATHNAME | FNM_PERIOD)) return std::nullopt;
        break;
      case Kind::text_glob:
        if (scheme == e.scheme && glob(e.pattern, rest, 0)) return std::nullopt;
        break;
    }
  }
  if (scheme == "unix" && !plain_path)
    return none + " (only absolute unix paths without . or .. or empty components can match)";
  return none;
}

}  // namespace quictun::tunnel

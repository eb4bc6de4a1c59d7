// Which backends a client's token may name: the server's `allow` list. With no list every
// backend is reachable (quic-tun's behaviour, an open relay under the cleartext parser); with
// one, a backend that matches no entry is refused, whatever the token parser said.
//
// Entries, each "scheme:rest":
//   tcp:NETWORK:PORTS   NETWORK is an address, a CIDR prefix (10.0.0.0/8, [fd00::]/8 or
//                       [fd00::/8]) or *; PORTS is 22, 8000-8100 or *. Covers tcp, tcp4, tcp6.
//   tcp:NAME:PORTS      NAME is a host name or a glob of one (*.svc.internal), case-insensitive.
//   unix:GLOB           an absolute path glob; * and ? stay within one path component.
//   other:GLOB          any other transport's scheme: a glob over the rest of the address.
//
// A host-name backend is matched by its name, never by what it resolves to: a CIDR entry does
// not admit a name, however it resolves, so DNS cannot widen the list. To reach a named backend
// list its name; the operator then trusts that name's DNS. (Matching resolved addresses would
// need the host to resolve before the transport dials, which the transport API leaves to the
// plugin.)
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/address.hpp"

namespace quictun::tunnel {

class BackendAllowlist {
 public:
  BackendAllowlist() = default;  // inactive: every backend passes

  // `origins[i]` says where `entries[i]` was given ("quictun.toml:7", "--allow"). Throws
  // UsageError "<origin>: allow entry "<entry>": <problem>" for the first bad entry.
  BackendAllowlist(const std::vector<std::string>& entries, const std::vector<std::string>& origins);

  bool active() const { return active_; }
  std::size_t size() const { return entries_.size(); }

  // Why `backend` ("tcp:10.0.0.5:22") may not be reached, or nullopt when it may. The reason
  // does not repeat the backend.
  std::optional<std::string> refusal(std::string_view backend) const;

 private:
  enum class Kind { tcp_network, tcp_name, path_glob, text_glob };
  struct Entry {
    Kind kind;
    std::string scheme;    // lower case; "tcp" covers tcp4 and tcp6
    IpNetwork network;     // tcp_network; prefix 0 with family AF_UNSPEC means any address
    bool any_host = false; // tcp_network written as *
    std::string pattern;   // tcp_name (lower case), path_glob, text_glob
    PortRange ports;       // tcp_*
  };
  static Entry parse_entry(std::string_view text);

  bool active_ = false;
  std::vector<Entry> entries_;
};

}  // namespace quictun::tunnel

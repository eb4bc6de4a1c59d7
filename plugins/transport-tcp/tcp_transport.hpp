// The TCP transport adapter: listening, accepting and connecting TCP sockets for the host.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <quictun/sdk.hpp>

#include "resolver.hpp"
#include "tcp_address.hpp"

namespace quictun::transport_tcp {

// What [transport.tcp] may set; checked by the factory.
struct TcpOptions {
  std::vector<SocketAddress> nameservers;  // asked instead of /etc/resolv.conf's when not empty
};

class TcpTransport final : public sdk::Transport {
 public:
  TcpTransport(sdk::Host& host, TcpOptions options) : host_(host), options_(std::move(options)) {}
  // Through resolver_: cancels pending host-name lookups (their callbacks are dropped, never
  // called) and closes the resolver's sockets; see Resolver::shut_down().
  ~TcpTransport() override = default;
  TcpTransport(const TcpTransport&) = delete;
  TcpTransport& operator=(const TcpTransport&) = delete;

  int listen(std::string_view address) override;
  std::optional<sdk::AcceptedConnection> accept(int listen_fd) override;
  // Never throws: every failure, a malformed address included, reaches `done`.
  void connect(std::string_view address, sdk::ConnectCallback done) override;
  void unlisten(std::string_view address, int listen_fd) override;

 private:
  void connect_by_name(TcpAddress address, sdk::ConnectCallback done);
  std::string listener_name(int listen_fd) const;

  sdk::Host& host_;                                 // outlives this transport
  TcpOptions options_;                              // as the factory checked them
  ResolverPtr resolver_;                            // made at the first host name
  std::unordered_map<int, std::string> listeners_;  // listening fd -> its address
};

}  // namespace quictun::transport_tcp

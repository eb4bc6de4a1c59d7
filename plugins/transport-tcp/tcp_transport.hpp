// The TCP transport adapter: listening, accepting and connecting TCP sockets for the host.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include <quictun/sdk.hpp>

#include "resolver.hpp"
#include "tcp_address.hpp"

namespace quictun::transport_tcp {

class TcpTransport final : public sdk::Transport {
 public:
  explicit TcpTransport(sdk::Host& host) : host_(host) {}
  // Cancels pending host-name lookups: their callbacks are dropped, never called.
  ~TcpTransport() override;
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

  sdk::Host& host_;                                                  // outlives this transport
  std::unique_ptr<Resolver> resolver_;                               // made at the first host name
  std::unordered_map<std::uint64_t, Resolver::Lookup*> lookups_;     // pending lookups by number
  std::uint64_t next_lookup_ = 0;                                    // number of the next lookup
  std::unordered_map<int, std::string> listeners_;                   // listening fd -> its address
};

}  // namespace quictun::transport_tcp

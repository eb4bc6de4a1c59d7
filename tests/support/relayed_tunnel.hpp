// quictun-server and quictun-client joined through a RebindingRelay (the path between them), with
// a TCP backend behind the server: the setup of every test about what the path does to a tunnel.
// The programs log at debug level to files in `dir`.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "harness.hpp"
#include "udp_relay.hpp"

namespace quictun::test {

struct RelayedTunnel {
  RelayedTunnel(std::function<void(int)> backend_handler, RelayPath path, std::vector<std::string> server_extra,
                std::vector<std::string> client_extra);
  // Both programs have said they listen.
  bool ready() const { return server->wait_for_log("listening on UDP") && client->wait_for_log("listening on"); }

  TempDir dir;
  int backend_port = free_tcp_port(), server_port = free_udp_port(), relay_port = free_udp_port();
  int client_port = free_tcp_port();  // where the application connects
  std::unique_ptr<Backend> backend;
  std::unique_ptr<RebindingRelay> relay;
  std::unique_ptr<Process> server, client;
};

}  // namespace quictun::test

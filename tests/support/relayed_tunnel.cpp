#include "relayed_tunnel.hpp"

namespace quictun::test {

RelayedTunnel::RelayedTunnel(std::function<void(int)> backend_handler, RelayPath path,
                             std::vector<std::string> server_extra, std::vector<std::string> client_extra) {
  backend = std::make_unique<Backend>(listen_tcp(backend_port), std::move(backend_handler));
  relay = std::make_unique<RebindingRelay>(relay_port, server_port, path);
  const std::vector<std::string> common = {"--plugin-dir", plugin_dir(), "--log-level", "debug"};
  std::vector<std::string> sargs = {bin_path("quictun-server"), "--listen-on", "127.0.0.1:" + std::to_string(server_port)};
  sargs.insert(sargs.end(), common.begin(), common.end());
  sargs.insert(sargs.end(), server_extra.begin(), server_extra.end());
  server = std::make_unique<Process>(sargs, dir.file("server.log"));
  std::vector<std::string> cargs = {bin_path("quictun-client"), "--listen-on", "tcp:127.0.0.1:" + std::to_string(client_port),
                                    "--server-endpoint", "127.0.0.1:" + std::to_string(relay_port),
                                    "--insecure-skip-verify", "--token-source",
                                    "tcp:127.0.0.1:" + std::to_string(backend_port)};
  cargs.insert(cargs.end(), common.begin(), common.end());
  cargs.insert(cargs.end(), client_extra.begin(), client_extra.end());
  client = std::make_unique<Process>(cargs, dir.file("client.log"));
}

}  // namespace quictun::test

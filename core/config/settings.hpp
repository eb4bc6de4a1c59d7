// Everything the two programs can be told, from quictun.toml overlaid by command-line flags.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <quictun/sdk/config.hpp>

#include "quic/connection.hpp"
#include "quic/server_endpoint.hpp"
#include "quic/tls.hpp"
#include "tunnel/backend_allowlist.hpp"
#include "tunnel/tunnel_limits.hpp"

namespace quictun::config {

// Settings both programs share.
struct CommonSettings {
  std::string config_file;                       // the TOML file read, or "" when none
  std::string arq_origin;                        // where ARQ was asked for ("" when by default)
  std::filesystem::path base_dir;                // relative paths in the config resolve against this
  std::string log_level = "info";                // trace, debug, info, warn, error, off
  std::string log_format = "console";            // console or json (one object a line)
  std::vector<std::string> log_output_paths;     // stdout, stderr or files; empty: stderr
  std::string log_output_origin;                 // where they were given, for open errors
  std::vector<std::string> log_error_output_paths;  // where the logger's own failures go; empty: stderr
  std::string log_error_output_origin;
  std::string log_name;                          // the logger's name; empty: the program's
  bool log_development = false;                  // quic-tun's switches, accepted (logging.hpp says what they do)
  bool log_disable_caller = false;
  bool log_disable_stacktrace = false;
  std::string api_listen_on;                     // REST API: HOST:PORT or unix:/path; empty: off
  std::string api_listen_origin;
  std::string api_token;                         // bearer token, or file:/path holding it; empty: none
  std::string api_token_origin;
  std::vector<std::filesystem::path> plugin_dirs;  // empty: the built-in default
  std::vector<std::string> classifiers;          // traffic classifiers run on every tunnel, in order; empty: none
  std::string classifiers_origin;                // where they were named ("quictun.toml:8", "--classifier")
  bool list_plugins = false;                     // --list-plugins: describe the plugins and exit
  quic::TransportConfig quic;                    // [quic]
  std::string congestion_origin;                 // where the controller was named ("" when by default)
  std::string congestion_argument;               // the controller's argument (--bandwidth)
  std::string congestion_argument_origin;
  double test_drop_rate = 0;                     // fraction of received datagrams dropped (tests only)
  // Plugin tables, keyed "token_source.<name>", "token_parser.<name>", "transport.<scheme>",
  // "congestion.<name>", "classifier.<name>".
  std::map<std::string, sdk::PluginConfig> plugin_tables;

  // The table for one plugin with `argument` filled in (empty table if the config has none).
  sdk::PluginConfig plugin_config(const std::string& key, const std::string& argument,
                                  const std::string& argument_origin) const;
};

struct ServerSettings : CommonSettings {
  std::string listen_on = "0.0.0.0:7500";   // UDP HOST:PORT
  std::string token_parser = "cleartext";   // plugin name, case-insensitive
  std::string token_parser_key;             // the parser's argument (--token-parser-key)
  std::string token_parser_key_origin;      // where it was given
  quic::TlsServerOptions tls;
  std::uint64_t backend_connect_timeout_ms = 10000;  // a backend that does not answer by then is unreachable (0x03)
  std::uint64_t drain_timeout_ms = 30000;  // on SIGTERM, open tunnels get this long before CONNECTION_CLOSE
  quic::ServerLimits limits;                // admission: connection limits, Retry, stateless resets
  tunnel::BackendAllowlist allow;  // [server] allow / --allow; inactive when neither gives one
  tunnel::TunnelLimits tunnel_limits;  // [server] max_tunnels_per_connection, max_tunnels, max_buffered_bytes
};

struct ListenerSettings {
  std::string listen_on = "tcp:127.0.0.1:6500";  // transport address the applications connect to
  std::string token_source = "fixed";            // plugin name, case-insensitive
  std::string token_source_arg;                  // its argument (--token-source)
  std::string token_source_arg_origin;
  sdk::ConfigTable token_source_options;         // per-listener table, over [token_source.<name>]
  std::string origin;                            // "quictun.toml:20" or "command line"
};

struct ClientSettings : CommonSettings {
  std::vector<ListenerSettings> listeners{ListenerSettings{}};
  std::string server_endpoint = "127.0.0.1:7500";  // UDP HOST:PORT of quictun-server
  std::vector<std::string> nameservers;           // DNS servers for server_endpoint, "IP[:PORT]"; empty: /etc/resolv.conf
  quic::TlsClientOptions tls;
  std::uint64_t connect_timeout_ms = 10000;   // an application connection waits this long for QUIC
  std::uint64_t setup_timeout_ms = 30000;     // and this long for the server's answer to its token
  std::uint64_t drain_timeout_ms = 30000;     // on SIGTERM, open tunnels get this long before CONNECTION_CLOSE
  std::uint64_t test_rebind_every_ms = 0;     // tests only: move the connection to a new local port this often
  tunnel::TunnelLimits tunnel_limits;         // [client] max_tunnels, max_buffered_bytes (no per-connection limit)
};

enum class ParseResult { run, exit_ok };

// Parse the command line (and the config file it names). Throws UsageError with a message
// naming the flag or file:line. exit_ok after --help / --version.
ParseResult parse_server(int argc, char** argv, ServerSettings& out);
ParseResult parse_client(int argc, char** argv, ClientSettings& out);

}  // namespace quictun::config

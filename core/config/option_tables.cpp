#include "config/option_tables.hpp"

#include "config/values.hpp"
#include "util/error.hpp"

namespace quictun::config {
namespace {

constexpr std::uint64_t kMs = 1'000'000;          // ns per ms: the file says ms, ngtcp2 takes ns
constexpr std::uint64_t kHourMs = 3'600'000;      // longest timeout accepted
constexpr std::uint64_t kMinWindow = 16384;       // smallest window or send buffer accepted, in bytes

}  // namespace

const std::vector<Option<CommonSettings>>& common_options() {
  using S = CommonSettings;
  static const std::vector<Option<S>> table = {
      {{.section = "quic", .key = "congestion_control", .flag = "--congestion-control",
        .help = "congestion controller: bbr1 (default, loss-tolerant), brutal (a declared rate), or ngtcp2's bbr, "
                "cubic, reno; any name a plugin provides"},
       [](S& s, const Value& v) {
         s.quic.congestion = parse_congestion_name(v.text, v.origin);
         s.congestion_origin = v.origin;
       }},
      {{.flag = "--list-plugins", .kind = Kind::flag,
        .help = "print every plugin in the plugin dirs with what it provides and each one's help, then exit"},
       [](S& s, const Value& v) { s.list_plugins = v.yes; }},
      {{.flag = "--bandwidth",
        .help = "the controller's argument: for brutal, the rate to send at (e.g. 100mbit, 12.5MB)"},
       [](S& s, const Value& v) {
         s.congestion_argument = v.text;
         s.congestion_argument_origin = v.origin;
       }},
      {{.section = "quic", .key = "handshake_timeout_ms", .kind = Kind::integer, .min = 100, .max = 600'000},
       [](S& s, const Value& v) { s.quic.handshake_timeout_ns = v.number * kMs; }},
      {{.section = "quic", .key = "initial_rtt_ms", .kind = Kind::integer, .min = 1, .max = 10'000},
       [](S& s, const Value& v) { s.quic.initial_rtt_ns = v.number * kMs; }},
      {{.section = "quic", .key = "idle_timeout_ms", .kind = Kind::integer, .min = 1000, .max = kHourMs},
       [](S& s, const Value& v) { s.quic.idle_timeout_ns = v.number * kMs; }},
      {{.section = "quic", .key = "keep_alive_ms", .kind = Kind::integer, .min = 0, .max = kHourMs},
       [](S& s, const Value& v) { s.quic.keep_alive_ns = v.number * kMs; }},
      {{.section = "quic", .key = "stream_window", .kind = Kind::integer, .min = kMinWindow, .max = 1ull << 30},
       [](S& s, const Value& v) { s.quic.stream_window = v.number; }},
      {{.section = "quic", .key = "connection_window", .kind = Kind::integer, .min = kMinWindow, .max = 1ull << 32},
       [](S& s, const Value& v) { s.quic.connection_window = v.number; }},
      {{.section = "quic", .key = "max_stream_window", .kind = Kind::integer, .min = kMinWindow, .max = 1ull << 30},
       [](S& s, const Value& v) { s.quic.max_stream_window = v.number; }},
      {{.section = "quic", .key = "max_connection_window", .kind = Kind::integer, .min = kMinWindow, .max = 1ull << 32},
       [](S& s, const Value& v) { s.quic.max_connection_window = v.number; }},
      {{.section = "quic", .key = "max_streams", .kind = Kind::integer, .min = 1, .max = 1ull << 20},
       [](S& s, const Value& v) { s.quic.max_streams = v.number; }},
      {{.section = "quic", .key = "stream_send_buffer", .kind = Kind::integer, .min = kMinWindow, .max = 1ull << 30},
       [](S& s, const Value& v) { s.quic.stream_send_buffer = v.number; }},
      {{.section = "quic", .key = "ack_every", .kind = Kind::integer, .min = 1, .max = 64},
       [](S& s, const Value& v) { s.quic.ack_every = v.number; }},
      {{.section = "quic", .key = "test_drop_rate", .flag = "--test-drop-rate", .kind = Kind::fraction,
        .help = "TESTING ONLY: drop this fraction (0..1) of received QUIC datagrams"},
       [](S& s, const Value& v) { s.test_drop_rate = v.fraction; }},
      // FEC was removed (README): a file or script that still asks for it hears why, not that
      // the key is unknown.
      {{.section = "quic", .key = "fec", .flag = "--fec", .help = "removed: FEC is no longer part of quictun"},
       [](S&, const Value& v) {
         throw UsageError(v.origin +
                          ": FEC (--fec, [quic] fec) was removed from quictun: under the default bbr1 controller it "
                          "was slower than no repair at every loss rate measured; delete this setting");
       }},
      {{.section = "quic", .key = "arq", .flag = "--arq", .kind = Kind::boolean,
        .help = "repair lost datagrams below QUIC: on or off (client default: on only under ngtcp2's bbr; a server "
                "accepts it unless off). Used only when both peers are quictun (negotiated in the handshake)"},
       [](S& s, const Value& v) {
         s.quic.arq = v.yes;
         s.arq_origin = v.origin;
       }},
      {{.section = "log", .key = "level", .flag = "--log-level",
        .help = "trace, debug, info (default), warn, error or off; quic-tun's dpanic, panic and fatal mean error"},
       [](S& s, const Value& v) { s.log_level = check_log_level(v.text, v.origin); }},
      {{.section = "log", .key = "format", .flag = "--log-format", .help = "console (default) or json: one object a line"},
       [](S& s, const Value& v) { s.log_format = check_log_format(v.text, v.origin); }},
      {{.section = "log", .key = "output_paths", .flag = "--log-output-paths", .kind = Kind::text_list,
        .help = "where log lines go: stdout, stderr or files, comma-separated or repeated (default stderr)"},
       [](S& s, const Value& v) {
         s.log_output_paths = split_commas(v.list);
         s.log_output_origin = v.origin;
       }},
      {{.section = "log", .key = "error_output_paths", .flag = "--log-error-output-paths", .kind = Kind::text_list,
        .help = "where the logger reports its own failures (a log file it cannot write): stdout, stderr or files"},
       [](S& s, const Value& v) {
         s.log_error_output_paths = split_commas(v.list);
         s.log_error_output_origin = v.origin;
       }},
      {{.section = "log", .key = "name", .flag = "--log-name", .help = "the logger's name in each line (default: the program's)"},
       [](S& s, const Value& v) { s.log_name = v.text; }},
      {{.section = "log", .key = "development", .flag = "--log-development", .kind = Kind::flag,
        .help = "accepted for quic-tun; zap's development mode (panics on dpanic) has no equivalent here"},
       [](S& s, const Value& v) { s.log_development = v.yes; }},
      {{.section = "log", .key = "disable_caller", .flag = "--log-disable-caller", .kind = Kind::flag,
        .help = "accepted for quic-tun; quictun's lines carry no caller"},
       [](S& s, const Value& v) { s.log_disable_caller = v.yes; }},
      {{.section = "log", .key = "disable_stacktrace", .flag = "--log-disable-stacktrace", .kind = Kind::flag,
        .help = "accepted for quic-tun; quictun's lines carry no stack trace"},
       [](S& s, const Value& v) { s.log_disable_stacktrace = v.yes; }},
      {{.section = "api", .key = "listen_on", .flag = "--httpd-listen-on",
        .help = "serve the REST API and /metrics on HOST:PORT or unix:/path (default: off)"},
       [](S& s, const Value& v) {
         s.api_listen_on = v.text;
         s.api_listen_origin = v.origin;
       }},
      {{.section = "api", .key = "token"},
       [](S& s, const Value& v) {
         s.api_token = v.text;
         s.api_token_origin = v.origin;
       }},
      {{.section = "plugins", .key = "dirs", .flag = "--plugin-dir", .kind = Kind::path_list,
        .help = "directory to search for plugins (repeatable; default: the build tree's or installed plugins)"},
       [](S& s, const Value& v) { s.plugin_dirs.assign(v.list.begin(), v.list.end()); }},
      {{.section = "plugins", .key = "classifiers", .flag = "--classifier", .kind = Kind::text_list,
        .help = "traffic classifier to run on every tunnel (repeatable): spice, ssh, tls, http or a plugin's; "
                "default none"},
       [](S& s, const Value& v) {
         s.classifiers = v.list;
         s.classifiers_origin = v.origin;
       }},
  };
  return table;
}

const std::vector<Option<ServerSettings>>& server_options() {
  using S = ServerSettings;
  static const std::vector<Option<S>> table = {
      {{.section = "server", .key = "listen_on", .flag = "--listen-on",
        .help = "UDP address to listen on, HOST:PORT (default 0.0.0.0:7500)"},
       [](S& s, const Value& v) { s.listen_on = v.text; }},
      {{.section = "server", .key = "token_parser", .flag = "--token-parser-plugin",
        .help = "token parser plugin, case-insensitive (default cleartext)"},
       [](S& s, const Value& v) { s.token_parser = v.text; }},
      {{.section = "server", .key = "token_parser_key", .flag = "--token-parser-key",
        .help = "the parser's argument (cleartext: 'base64' to decode tokens; file: the token map)"},
       [](S& s, const Value& v) {
         s.token_parser_key = v.text;
         s.token_parser_key_origin = v.origin;
       }},
      {{.section = "server", .key = "cert_file", .flag = "--cert-file", .kind = Kind::path,
        .help = "PEM certificate (default: a generated self-signed one)"},
       [](S& s, const Value& v) { s.tls.cert_file = v.text; }},
      {{.section = "server", .key = "key_file", .flag = "--key-file", .kind = Kind::path,
        .help = "PEM private key of --cert-file"},
       [](S& s, const Value& v) { s.tls.key_file = v.text; }},
      {{.section = "server", .key = "ca_file", .flag = "--ca-file", .kind = Kind::path,
        .help = "PEM CA bundle that client certificates must chain to"},
       [](S& s, const Value& v) { s.tls.ca_file = v.text; }},
      {{.section = "server", .key = "verify_remote_endpoint", .flag = "--verify-remote-endpoint", .kind = Kind::flag,
        .help = "require and verify client certificates (mTLS)"},
       [](S& s, const Value& v) { s.tls.require_client_cert = v.yes; }},
      {{.section = "server", .key = "backend_connect_timeout_ms", .flag = "--backend-connect-timeout-ms",
        .kind = Kind::integer, .min = 1, .max = kHourMs, .help = "backend connect timeout (default 10000)"},
       [](S& s, const Value& v) { s.backend_connect_timeout_ms = v.number; }},
      {{.section = "server", .key = "drain_timeout_ms", .flag = "--drain-timeout-ms", .kind = Kind::integer, .min = 0,
        .max = kHourMs, .help = "on SIGTERM/SIGINT, how long open tunnels may finish before the connections close (default 30000)"},
       [](S& s, const Value& v) { s.drain_timeout_ms = v.number; }},
      {{.section = "server", .key = "max_connections", .flag = "--max-connections", .kind = Kind::integer, .min = 1,
        .max = 1'000'000, .help = "QUIC connections open at once; more are refused (default 10000)"},
       [](S& s, const Value& v) { s.limits.max_connections = v.number; }},
      {{.section = "server", .key = "max_connections_per_source", .kind = Kind::integer, .min = 1, .max = 1'000'000},
       [](S& s, const Value& v) { s.limits.max_connections_per_source = v.number; }},
      {{.section = "server", .key = "max_handshakes", .kind = Kind::integer, .min = 1, .max = 1'000'000},
       [](S& s, const Value& v) { s.limits.max_handshakes = v.number; }},
      {{.section = "server", .key = "retry", .flag = "--retry",
        .help = "address validation by Retry: auto (default: under load and for busy sources), always or never"},
       [](S& s, const Value& v) { s.limits.retry = parse_retry_mode(v.text, v.origin); }},
      {{.section = "server", .key = "retry_source_rate", .kind = Kind::integer, .min = 0, .max = 1'000'000},
       [](S& s, const Value& v) { s.limits.retry_source_rate = static_cast<double>(v.number); }},
      {{.section = "server", .key = "retry_global_rate", .kind = Kind::integer, .min = 0, .max = 10'000'000},
       [](S& s, const Value& v) { s.limits.retry_global_rate = static_cast<double>(v.number); }},
      {{.section = "server", .key = "reset_rate", .kind = Kind::integer, .min = 0, .max = 1'000'000},
       [](S& s, const Value& v) { s.limits.reset_rate = static_cast<double>(v.number); }},
      {{.section = "server", .key = "allow", .flag = "--allow", .kind = Kind::text_list,
        .help = "backends a token may name, e.g. tcp:10.0.0.0/8:22, tcp:db.internal:5432, unix:/run/app/*.sock "
                "(repeatable); once given, every other backend is refused with 0x02 (default: all)"},
       [](S& s, const Value& v) { s.allow = tunnel::BackendAllowlist(v.list, v.list_origins); }},
      {{.section = "server", .key = "max_tunnels_per_connection", .flag = "--max-tunnels-per-connection",
        .kind = Kind::integer, .min = 1, .max = 1ull << 20,
        .help = "open tunnels one client connection may have; more are refused with 0x02 (default 4096)"},
       [](S& s, const Value& v) { s.tunnel_limits.max_per_connection = v.number; }},
      {{.section = "server", .key = "max_tunnels", .flag = "--max-tunnels", .kind = Kind::integer, .min = 1,
        .max = 1ull << 24, .help = "open tunnels in all; more are refused with 0x02 (default 65536)"},
       [](S& s, const Value& v) { s.tunnel_limits.max_total = v.number; }},
      {{.section = "server", .key = "max_buffered_bytes", .flag = "--max-buffered-bytes", .kind = Kind::integer,
        .min = 65536, .max = 1ull << 40,
        .help = "bytes all tunnels may hold in buffers; above it new tunnels are refused with 0x02 (default 1 GiB)"},
       [](S& s, const Value& v) { s.tunnel_limits.max_buffered_bytes = v.number; }},
  };
  return table;
}

const std::vector<Option<ClientSettings>>& client_options() {
  using S = ClientSettings;
  static const std::vector<Option<S>> table = {
      {{.section = "client", .key = "server_endpoint", .flag = "--server-endpoint",
        .help = "quictun-server's UDP address, HOST:PORT"},
       [](S& s, const Value& v) { s.server_endpoint = v.text; }},
      {{.section = "client", .key = "nameservers", .flag = "--nameserver", .kind = Kind::text_list,
        .help = "DNS server for --server-endpoint, IP or IP:PORT; repeatable (default: /etc/resolv.conf)"},
       [](S& s, const Value& v) {
         s.nameservers.clear();
         for (const auto& ns : v.list) s.nameservers.push_back(check_nameserver(ns, v.origin));
       }},
      {{.section = "client", .key = "insecure_skip_verify", .flag = "--insecure-skip-verify", .kind = Kind::flag,
        .help = "do not verify the server's certificate (testing only); accepts =true / True"},
       [](S& s, const Value& v) { s.tls.verify_server = !v.yes; }},
      {{.section = "client", .key = "ca_file", .flag = "--ca-file", .kind = Kind::path,
        .help = "PEM CA bundle to verify the server with (default: system trust)"},
       [](S& s, const Value& v) { s.tls.ca_file = v.text; }},
      {{.section = "client", .key = "cert_file", .flag = "--cert-file", .kind = Kind::path,
        .help = "PEM client certificate (for servers with --verify-remote-endpoint)"},
       [](S& s, const Value& v) { s.tls.cert_file = v.text; }},
      {{.section = "client", .key = "key_file", .flag = "--key-file", .kind = Kind::path,
        .help = "PEM private key of --cert-file"},
       [](S& s, const Value& v) { s.tls.key_file = v.text; }},
      {{.section = "client", .key = "connect_timeout_ms", .flag = "--connect-timeout-ms", .kind = Kind::integer,
        .min = 1, .max = kHourMs, .help = "how long an application connection waits for the QUIC connection (default 10000)"},
       [](S& s, const Value& v) { s.connect_timeout_ms = v.number; }},
      {{.section = "client", .key = "setup_timeout_ms", .kind = Kind::integer, .min = 1, .max = kHourMs},
       [](S& s, const Value& v) { s.setup_timeout_ms = v.number; }},
      {{.section = "client", .key = "drain_timeout_ms", .flag = "--drain-timeout-ms", .kind = Kind::integer, .min = 0,
        .max = kHourMs, .help = "on SIGTERM/SIGINT, how long open tunnels may finish before the connection closes (default 30000)"},
       [](S& s, const Value& v) { s.drain_timeout_ms = v.number; }},
      // quic-tun's client verifies the server only when told to; quictun always does (unless
      // --insecure-skip-verify), so `false` here keeps verification on rather than silently
      // trusting any server.
      {{.section = "client", .key = "verify_remote_endpoint", .flag = "--verify-remote-endpoint", .kind = Kind::flag,
        .help = "quic-tun's switch to verify the server: quictun always verifies (false does not turn it off; "
                "--insecure-skip-verify does)"},
       [](S& s, const Value& v) {
         if (v.yes) s.tls.verify_server = true;
       }},
      {{.section = "client", .key = "test_rebind_every_ms", .flag = "--test-rebind-every-ms", .kind = Kind::integer,
        .min = 0, .max = kHourMs,
        .help = "TESTING ONLY: move the QUIC connection to a new local port this often (connection migration)"},
       [](S& s, const Value& v) { s.test_rebind_every_ms = v.number; }},
      {{.section = "client", .key = "max_tunnels", .flag = "--max-tunnels", .kind = Kind::integer, .min = 1,
        .max = 1ull << 24,
        .help = "open tunnels in all; more application connections are closed at once (default 65536)"},
       [](S& s, const Value& v) { s.tunnel_limits.max_total = v.number; }},
      {{.section = "client", .key = "max_buffered_bytes", .flag = "--max-buffered-bytes", .kind = Kind::integer,
        .min = 65536, .max = 1ull << 40,
        .help = "bytes all tunnels may hold in buffers; above it new application connections are closed at once "
                "(default 1 GiB)"},
       [](S& s, const Value& v) { s.tunnel_limits.max_buffered_bytes = v.number; }},
      {{.section = "client", .key = "listener", .kind = Kind::nested}, nullptr},
  };
  return table;
}

const std::vector<Option<ListenerSettings>>& listener_options() {
  using L = ListenerSettings;
  static const std::vector<Option<L>> table = {
      {{.section = "client.listener", .key = "listen_on", .flag = "--listen-on",
        .help = "where applications connect: tcp:HOST:PORT or unix:PATH (default tcp:127.0.0.1:6500)"},
       [](L& l, const Value& v) { l.listen_on = v.text; }},
      {{.section = "client.listener", .key = "token_source", .flag = "--token-source-plugin",
        .help = "token source plugin, case-insensitive (default fixed)"},
       [](L& l, const Value& v) { l.token_source = v.text; }},
      {{.section = "client.listener", .key = "token_source_arg", .flag = "--token-source",
        .help = "the source's argument (fixed: the token itself, e.g. tcp:10.0.0.5:22)"},
       [](L& l, const Value& v) {
         l.token_source_arg = v.text;
         l.token_source_arg_origin = v.origin;
       }},
      {{.section = "client.listener", .key = "options", .kind = Kind::table},
       [](L& l, const Value& v) { l.token_source_options = v.table; }},
  };
  return table;
}

const std::vector<std::string>& plugin_table_kinds() {
  static const std::vector<std::string> kinds = {"token_source", "token_parser", "transport", "congestion",
                                                   "classifier"};
  return kinds;
}

std::vector<std::string> known_sections() {
  std::vector<std::string> out;
  append_sections(out, server_options());
  append_sections(out, client_options());
  append_sections(out, common_options());
  for (const auto& k : plugin_table_kinds()) out.push_back(k);
  return out;
}

}  // namespace quictun::config

#include "config/settings.hpp"

#include <CLI/CLI.hpp>
#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <set>
#include <sstream>

#include "util/error.hpp"

namespace quictun::config {
namespace fs = std::filesystem;

sdk::PluginConfig CommonSettings::plugin_config(const std::string& key, const std::string& argument,
                                                const std::string& argument_origin) const {
  sdk::PluginConfig pc;
  auto it = plugin_tables.find(key);
  if (it != plugin_tables.end()) pc = it->second;
  pc.argument = argument;
  pc.argument_origin = argument_origin;
  if (pc.base_dir.empty()) pc.base_dir = base_dir.empty() ? fs::current_path() : base_dir;
  return pc;
}

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// ---------------------------------------------------------------------------------------------
// The TOML side: typed reads that report file:line and refuse unknown keys.

class TomlReader {
 public:
  explicit TomlReader(std::string file) : file_(std::move(file)) {}

  std::string where(const toml::node& n) const { return file_ + ":" + std::to_string(n.source().begin.line); }
  std::string where(const toml::key& k) const { return file_ + ":" + std::to_string(k.source().begin.line); }

  [[noreturn]] void fail(const toml::node& n, const std::string& what) const { throw UsageError(where(n) + ": " + what); }

  void only_keys(const toml::table& t, const std::string& section, std::initializer_list<const char*> known) const {
    for (auto&& [k, v] : t) {
      bool ok = std::any_of(known.begin(), known.end(), [&](const char* name) { return k.str() == name; });
      if (!ok) {
        std::string list;
        for (const char* name : known) list += (list.empty() ? "" : ", ") + std::string(name);
        throw UsageError(where(k) + ": unknown key '" + std::string(k.str()) + "' in [" + section + "] (known: " + list + ")");
      }
    }
  }

  const toml::table* table(const toml::table& parent, const char* key) const {
    const toml::node* n = parent.get(key);
    if (!n) return nullptr;
    if (!n->is_table()) fail(*n, std::string("'") + key + "' must be a table");
    return n->as_table();
  }

  bool str(const toml::table& t, const char* key, std::string& out, std::string* origin = nullptr) const {
    const toml::node* n = t.get(key);
    if (!n) return false;
    if (!n->is_string()) fail(*n, std::string("'") + key + "' must be a string");
    out = n->as_string()->get();
    if (origin) *origin = where(*n);
    return true;
  }

  bool boolean(const toml::table& t, const char* key, bool& out) const {
    const toml::node* n = t.get(key);
    if (!n) return false;
    if (!n->is_boolean()) fail(*n, std::string("'") + key + "' must be true or false");
    out = n->as_boolean()->get();
    return true;
  }

  bool uint(const toml::table& t, const char* key, std::uint64_t& out, std::uint64_t min = 0,
            std::uint64_t max = UINT64_MAX) const {
    const toml::node* n = t.get(key);
    if (!n) return false;
    if (!n->is_integer()) fail(*n, std::string("'") + key + "' must be an integer");
    std::int64_t v = n->as_integer()->get();
    if (v < 0 || static_cast<std::uint64_t>(v) < min || static_cast<std::uint64_t>(v) > max)
      fail(*n, std::string("'") + key + "' must be between " + std::to_string(min) + " and " + std::to_string(max));
    out = static_cast<std::uint64_t>(v);
    return true;
  }

  bool number(const toml::table& t, const char* key, double& out) const {
    const toml::node* n = t.get(key);
    if (!n) return false;
    if (n->is_integer()) out = static_cast<double>(n->as_integer()->get());
    else if (n->is_floating_point()) out = n->as_floating_point()->get();
    else fail(*n, std::string("'") + key + "' must be a number");
    return true;
  }

  sdk::ConfigValue value(const toml::node& n) const {
    std::string origin = where(n);
    if (n.is_string()) return {n.as_string()->get(), origin};
    if (n.is_integer()) return {n.as_integer()->get(), origin};
    if (n.is_floating_point()) return {n.as_floating_point()->get(), origin};
    if (n.is_boolean()) return {n.as_boolean()->get(), origin};
    if (n.is_array()) {
      sdk::ConfigArray a;
      for (const auto& e : *n.as_array()) a.push_back(value(e));
      return {std::move(a), origin};
    }
    if (n.is_table()) return {table_value(*n.as_table()), origin};
    fail(n, "dates and times are not supported in plugin tables");
  }

  sdk::ConfigTable table_value(const toml::table& t) const {
    sdk::ConfigTable out;
    for (auto&& [k, v] : t) out[std::string(k.str())] = value(v);
    return out;
  }

 private:
  std::string file_;
};

toml::table parse_toml(const std::string& file) {
  try {
    return toml::parse_file(file);
  } catch (const toml::parse_error& e) {
    std::ostringstream msg;
    msg << file << ":" << e.source().begin.line << ": " << e.description();
    throw UsageError(msg.str());
  } catch (const std::exception& e) {
    throw UsageError(file + ": " + e.what());
  }
}

// A controller's name as the loader compares it; whether a plugin provides it is checked at
// start-up, once the plugins are known.
std::string parse_cc(const std::string& text, const std::string& origin) {
  std::string v;
  for (char c : lower(text)) v.push_back(c == '-' ? '_' : c);
  if (v.empty() || v.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") != std::string::npos)
    throw UsageError(origin + ": \"" + text + "\" is not a congestion controller name");
  return v;
}

// "K:M" (data and parity datagrams per block) or "off".
void parse_fec(const std::string& text, const std::string& origin, quic::TransportConfig& q) {
  std::string v = lower(text);
  if (v == "off" || v == "none" || v == "0") {
    q.fec_k = q.fec_m = 0;
    return;
  }
  if (v == "on") v = "20:2";
  unsigned k = 0, m = 0;
  char extra = 0;
  if (std::sscanf(v.c_str(), "%u:%u%c", &k, &m, &extra) != 2 || k < 1 || m < 1 || k + m > 255)
    throw UsageError(origin + ": FEC must be K:M with K, M >= 1 and K + M <= 255 (e.g. 20:2), \"on\" or \"off\"; got \"" +
                     text + "\"");
  q.fec_k = k;
  q.fec_m = m;
}

bool parse_on_off(const std::string& text, const std::string& origin) {
  std::string v = lower(text);
  if (v == "on" || v == "true" || v == "yes" || v == "1") return true;
  if (v == "off" || v == "false" || v == "no" || v == "0") return false;
  throw UsageError(origin + ": expected on or off, got \"" + text + "\"");
}

// FEC and ARQ both wrap every datagram; one connection uses one of them. ARQ is on by default,
// so asking for FEC turns it off unless ARQ was asked for too, which is an error.
void settle_link(quic::TransportConfig& q, bool arq_given, const std::string& origin) {
  if (!q.fec_k) return;
  if (arq_given && q.arq)
    throw UsageError(origin + ": ARQ and FEC cannot be combined; choose one (turn arq off or fec off)");
  q.arq = false;
}

const std::set<std::string> kLogLevels = {"trace", "debug", "info", "warn", "error", "off"};

std::string check_log_level(const std::string& level, const std::string& origin) {
  std::string v = lower(level);
  if (v == "warning") v = "warn";
  if (!kLogLevels.count(v)) throw UsageError(origin + ": unknown log level \"" + level + "\" (use trace, debug, info, warn, error or off)");
  return v;
}

// [quic], [log], [plugins] and the plugin tables: the parts both programs read.
void read_common(const TomlReader& r, const toml::table& root, CommonSettings& s) {
  if (auto* q = r.table(root, "quic")) {
    r.only_keys(*q, "quic", {"congestion_control", "handshake_timeout_ms", "idle_timeout_ms", "keep_alive_ms",
                             "stream_window", "connection_window", "max_stream_window", "max_connection_window",
                             "max_streams", "stream_send_buffer", "test_drop_rate", "fec", "arq"});
    std::string cc, origin;
    if (r.str(*q, "congestion_control", cc, &origin)) {
      s.quic.congestion = parse_cc(cc, origin);
      s.congestion_origin = origin;
    }
    std::uint64_t v;
    if (r.uint(*q, "handshake_timeout_ms", v, 100, 600000)) s.quic.handshake_timeout_ns = v * 1000000;
    if (r.uint(*q, "idle_timeout_ms", v, 1000, 3600000)) s.quic.idle_timeout_ns = v * 1000000;
    if (r.uint(*q, "keep_alive_ms", v, 0, 3600000)) s.quic.keep_alive_ns = v * 1000000;
    if (r.uint(*q, "stream_window", v, 16384, 1ull << 30)) s.quic.stream_window = v;
    if (r.uint(*q, "connection_window", v, 16384, 1ull << 32)) s.quic.connection_window = v;
    if (r.uint(*q, "max_stream_window", v, 16384, 1ull << 30)) s.quic.max_stream_window = v;
    if (r.uint(*q, "max_connection_window", v, 16384, 1ull << 32)) s.quic.max_connection_window = v;
    if (r.uint(*q, "max_streams", v, 1, 1ull << 20)) s.quic.max_streams = v;
    if (r.uint(*q, "stream_send_buffer", v, 16384, 1ull << 30)) s.quic.stream_send_buffer = v;
    std::string fec;
    if (r.str(*q, "fec", fec, &origin)) parse_fec(fec, origin, s.quic);
    bool arq = false;
    const bool arq_given = r.boolean(*q, "arq", arq);
    if (arq_given) {
      s.quic.arq = arq;
      s.arq_origin = r.where(*q->get("arq"));
    }
    if (const toml::node* n = q->get("fec")) settle_link(s.quic, arq_given, r.where(*n));
    double d;
    if (r.number(*q, "test_drop_rate", d)) {
      if (d < 0 || d >= 1) r.fail(*q->get("test_drop_rate"), "'test_drop_rate' must be in [0, 1)");
      s.test_drop_rate = d;
    }
  }
  if (auto* l = r.table(root, "log")) {
    r.only_keys(*l, "log", {"level"});
    std::string level, origin;
    if (r.str(*l, "level", level, &origin)) s.log_level = check_log_level(level, origin);
  }
  if (auto* p = r.table(root, "plugins")) {
    r.only_keys(*p, "plugins", {"dirs"});
    if (const toml::node* n = p->get("dirs")) {
      if (!n->is_array()) r.fail(*n, "'dirs' must be an array of paths");
      for (const auto& e : *n->as_array()) {
        if (!e.is_string()) r.fail(e, "'dirs' must be an array of paths");
        fs::path dir(e.as_string()->get());
        s.plugin_dirs.push_back(dir.is_absolute() ? dir : s.base_dir / dir);
      }
    }
  }
  for (const char* kind : {"token_source", "token_parser", "transport", "congestion"}) {
    auto* t = r.table(root, kind);
    if (!t) continue;
    for (auto&& [name, v] : *t) {
      if (!v.is_table()) r.fail(v, std::string("[") + kind + "." + std::string(name.str()) + "] must be a table");
      sdk::PluginConfig pc;
      pc.table = r.table_value(*v.as_table());
      pc.table_origin = r.where(v);
      pc.base_dir = s.base_dir;
      std::string normalized;
      for (char c : lower(std::string(name.str()))) normalized.push_back(c == '-' ? '_' : c);
      s.plugin_tables[std::string(kind) + "." + normalized] = std::move(pc);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The command line.

// quic-tun (Go) users type `-listen-on` and `--insecure-skip-verify True`; accept both forms.
std::vector<std::string> normalize_argv(int argc, char** argv, const std::set<std::string>& bool_flags) {
  std::vector<std::string> out;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.size() > 2 && a[0] == '-' && a[1] != '-' && a.find_first_of("-=", 1) != std::string::npos &&
        std::isalpha(static_cast<unsigned char>(a[1])) && a.find('-', 1) < a.find('=')) {
      a = "-" + a;  // -listen-on=x → --listen-on=x (Go's flag package takes one dash)
    }
    if (bool_flags.count(a) && i + 1 < argc) {
      std::string next = lower(argv[i + 1]);
      if (next == "true" || next == "false" || next == "1" || next == "0" || next == "yes" || next == "no") {
        out.push_back(a + "=" + next);
        ++i;
        continue;
      }
    }
    out.push_back(a);
  }
  std::reverse(out.begin(), out.end());  // CLI11 takes arguments in reverse order
  return out;
}

struct CommonFlags {
  std::string config, log_level, congestion, bandwidth, drop_rate_text, fec, arq;
  std::vector<std::string> plugin_dirs;
  bool list_plugins = false;
  CLI::Option *config_opt, *log_opt, *cc_opt, *bw_opt, *dirs_opt, *drop_opt, *fec_opt, *arq_opt;
};

void add_common(CLI::App& app, CommonFlags& f) {
  f.config_opt = app.add_option("-c,--config", f.config, "TOML configuration file (flags override it)");
  f.log_opt = app.add_option("--log-level", f.log_level, "trace, debug, info (default), warn, error or off");
  f.cc_opt = app.add_option("--congestion-control", f.congestion,
                            "congestion controller: bbr1 (default, loss-tolerant), brutal (a declared rate), or "
                            "ngtcp2's bbr, cubic, reno; any name a plugin provides");
  f.bw_opt = app.add_option("--bandwidth", f.bandwidth,
                            "the controller's argument: for brutal, the rate to send at (e.g. 100mbit, 12.5MB)");
  f.dirs_opt = app.add_option("--plugin-dir", f.plugin_dirs,
                              "directory to search for plugins (repeatable; default: the build tree's or installed plugins)");
  app.add_flag("--list-plugins", f.list_plugins,
               "print every plugin in the plugin dirs with what it provides and each one's help, then exit");
  f.fec_opt = app.add_option("--fec", f.fec,
                             "forward error correction below QUIC, K:M data:parity datagrams per block (e.g. 20:2), "
                             "on (=20:2) or off (default). quictun peers only: a server answers FEC with FEC");
  f.arq_opt = app.add_option("--arq", f.arq,
                             "repair lost datagrams below QUIC so that random loss does not throttle the tunnel: on "
                             "(default) or off. Used only when both peers are quictun (negotiated in the handshake)");
  f.drop_opt = app.add_option("--test-drop-rate", f.drop_rate_text,
                              "TESTING ONLY: drop this fraction (0..1) of received QUIC datagrams");
}

void apply_common_flags(const CommonFlags& f, CommonSettings& s) {
  if (f.log_opt->count()) s.log_level = check_log_level(f.log_level, "--log-level");
  if (f.cc_opt->count()) {
    s.quic.congestion = parse_cc(f.congestion, "--congestion-control");
    s.congestion_origin = "--congestion-control";
  }
  if (f.bw_opt->count()) {
    s.congestion_argument = f.bandwidth;
    s.congestion_argument_origin = "--bandwidth";
  }
  if (f.dirs_opt->count()) {
    s.plugin_dirs.clear();
    for (const auto& d : f.plugin_dirs) s.plugin_dirs.push_back(fs::absolute(d));
  }
  s.list_plugins = f.list_plugins;
  if (f.fec_opt->count()) parse_fec(f.fec, "--fec", s.quic);
  if (f.arq_opt->count()) s.quic.arq = parse_on_off(f.arq, "--arq");
  // A flag beats the file: --arq on drops the file's FEC, --fec drops the file's ARQ.
  if (f.arq_opt->count() && !f.fec_opt->count() && s.quic.arq) s.quic.fec_k = s.quic.fec_m = 0;
  if (f.fec_opt->count()) settle_link(s.quic, f.arq_opt->count() > 0, "--fec");
  if (f.arq_opt->count()) s.arq_origin = "--arq";
  if (s.quic.arq && quic::congestion_is_loss_based(s.quic.congestion)) {
    // Measured: cubic and reno size their window by loss; with every loss repaired below them
    // they grow it until every queue on the path overflows (3x the wire bytes at 0 % loss).
    if (!s.arq_origin.empty())
      throw UsageError(s.arq_origin + ": ARQ cannot be used with congestion control " + s.quic.congestion +
                       " (cubic and reno size their window by the loss ARQ hides, and would flood the path)");
    s.quic.arq = false;
  }
  if (f.drop_opt->count()) {
    double d = -1;
    try {
      std::size_t used = 0;
      d = std::stod(f.drop_rate_text, &used);
      if (used != f.drop_rate_text.size()) d = -1;
    } catch (const std::exception&) {
    }
    if (d < 0 || d >= 1) throw UsageError("--test-drop-rate: \"" + f.drop_rate_text + "\" is not a fraction in [0, 1)");
    s.test_drop_rate = d;
  }
}

// Parses; on --help prints and returns false. CLI11 errors become UsageError naming the flag.
bool run_cli(CLI::App& app, int argc, char** argv, const std::set<std::string>& bool_flags) {
  std::vector<std::string> args = normalize_argv(argc, argv, bool_flags);
  try {
    app.parse(args);
  } catch (const CLI::CallForHelp&) {
    std::cout << app.help();
    return false;
  } catch (const CLI::CallForVersion&) {
    std::cout << app.version() << "\n";
    return false;
  } catch (const CLI::ParseError& e) {
    throw UsageError(std::string(e.what()) + " (see --help)");
  }
  return true;
}

toml::table load_config(const std::string& path, CommonSettings& s) {
  s.config_file = path;
  fs::path p(path);
  std::error_code ec;
  if (!fs::exists(p, ec)) throw UsageError(path + ": no such configuration file");
  s.base_dir = fs::absolute(p).parent_path();
  return parse_toml(path);
}

void check_sections(const TomlReader& r, const toml::table& root, const char* mine, const char* other) {
  for (auto&& [k, v] : root) {
    std::string key(k.str());
    if (key == mine || key == other || key == "quic" || key == "log" || key == "plugins" || key == "token_source" ||
        key == "token_parser" || key == "transport" || key == "congestion")
      continue;
    throw UsageError(r.where(k) + ": unknown section or key '" + key +
                     "' (known: server, client, quic, log, plugins, token_source, token_parser, transport, congestion)");
  }
}

}  // namespace

ParseResult parse_server(int argc, char** argv, ServerSettings& s) {
  CLI::App app("quictun-server: ends the QUIC tunnel and connects each stream to the backend its token names.\n"
               "Compatible with quic-tun v0.0.5 flags and wire protocol.",
               "quictun-server");
  app.set_version_flag("--version", "quictun-server 0.1.0");
  CommonFlags common;
  add_common(app, common);
  std::string listen_on, parser, key, cert, keyf, ca, timeout;
  bool verify = false;
  auto* o_listen = app.add_option("--listen-on", listen_on, "UDP address to listen on, HOST:PORT (default 0.0.0.0:7500)");
  auto* o_parser = app.add_option("--token-parser-plugin", parser,
                                  "token parser plugin, case-insensitive (default cleartext)");
  auto* o_key = app.add_option("--token-parser-key", key,
                               "the parser's argument (cleartext: 'base64' to decode tokens; file: the token map)");
  auto* o_cert = app.add_option("--cert-file", cert, "PEM certificate (default: a generated self-signed one)");
  auto* o_keyf = app.add_option("--key-file", keyf, "PEM private key of --cert-file");
  auto* o_ca = app.add_option("--ca-file", ca, "PEM CA bundle that client certificates must chain to");
  auto* o_verify = app.add_flag("--verify-remote-endpoint", verify, "require and verify client certificates (mTLS)");
  auto* o_timeout = app.add_option("--backend-connect-timeout-ms", timeout, "backend connect timeout (default 10000)");
  if (!run_cli(app, argc, argv, {"--verify-remote-endpoint"})) return ParseResult::exit_ok;

  if (common.config_opt->count()) {
    toml::table root = load_config(common.config, s);
    TomlReader r(common.config);
    check_sections(r, root, "server", "client");
    read_common(r, root, s);
    if (auto* t = r.table(root, "server")) {
      r.only_keys(*t, "server", {"listen_on", "token_parser", "token_parser_key", "cert_file", "key_file", "ca_file",
                                 "verify_remote_endpoint", "backend_connect_timeout_ms"});
      r.str(*t, "listen_on", s.listen_on);
      r.str(*t, "token_parser", s.token_parser);
      r.str(*t, "token_parser_key", s.token_parser_key, &s.token_parser_key_origin);
      auto path = [&](const char* k, std::string& out) {
        if (r.str(*t, k, out) && !out.empty() && fs::path(out).is_relative()) out = (s.base_dir / out).string();
      };
      path("cert_file", s.tls.cert_file);
      path("key_file", s.tls.key_file);
      path("ca_file", s.tls.ca_file);
      r.boolean(*t, "verify_remote_endpoint", s.tls.require_client_cert);
      r.uint(*t, "backend_connect_timeout_ms", s.backend_connect_timeout_ms, 1, 3600000);
    }
  }
  apply_common_flags(common, s);
  if (o_listen->count()) s.listen_on = listen_on;
  if (o_parser->count()) s.token_parser = parser;
  if (o_key->count()) {
    s.token_parser_key = key;
    s.token_parser_key_origin = "--token-parser-key";
  }
  if (o_cert->count()) s.tls.cert_file = cert;
  if (o_keyf->count()) s.tls.key_file = keyf;
  if (o_ca->count()) s.tls.ca_file = ca;
  if (o_verify->count()) s.tls.require_client_cert = verify;
  if (o_timeout->count()) {
    try {
      s.backend_connect_timeout_ms = std::stoull(timeout);
    } catch (const std::exception&) {
      throw UsageError("--backend-connect-timeout-ms: \"" + timeout + "\" is not a number of milliseconds");
    }
  }
  if (s.token_parser.empty()) throw UsageError("--token-parser-plugin: empty plugin name");
  return ParseResult::run;
}

ParseResult parse_client(int argc, char** argv, ClientSettings& s) {
  CLI::App app("quictun-client: carries each application connection as a stream of one QUIC connection to\n"
               "quictun-server. Compatible with quic-tun v0.0.5 flags and wire protocol.",
               "quictun-client");
  app.set_version_flag("--version", "quictun-client 0.1.0");
  CommonFlags common;
  add_common(app, common);
  std::string listen_on, endpoint, source_plugin, source, ca, cert, keyf, timeout;
  bool insecure = false;
  auto* o_listen = app.add_option("--listen-on", listen_on,
                                  "where applications connect: tcp:HOST:PORT or unix:PATH (default tcp:127.0.0.1:6500)");
  auto* o_endpoint = app.add_option("--server-endpoint", endpoint, "quictun-server's UDP address, HOST:PORT");
  auto* o_plugin = app.add_option("--token-source-plugin", source_plugin,
                                  "token source plugin, case-insensitive (default fixed)");
  auto* o_source = app.add_option("--token-source", source,
                                  "the source's argument (fixed: the token itself, e.g. tcp:10.0.0.5:22)");
  auto* o_insecure = app.add_flag("--insecure-skip-verify", insecure,
                                  "do not verify the server's certificate (testing only); accepts =true / True");
  auto* o_ca = app.add_option("--ca-file", ca, "PEM CA bundle to verify the server with (default: system trust)");
  auto* o_cert = app.add_option("--cert-file", cert, "PEM client certificate (for servers with --verify-remote-endpoint)");
  auto* o_keyf = app.add_option("--key-file", keyf, "PEM private key of --cert-file");
  auto* o_timeout = app.add_option("--connect-timeout-ms", timeout,
                                   "how long an application connection waits for the QUIC connection (default 10000)");
  if (!run_cli(app, argc, argv, {"--insecure-skip-verify"})) return ParseResult::exit_ok;

  s.quic.keep_alive_ns = 15'000'000'000ull;  // as the reference client: NATs forget silent flows
  if (common.config_opt->count()) {
    toml::table root = load_config(common.config, s);
    TomlReader r(common.config);
    check_sections(r, root, "client", "server");
    read_common(r, root, s);
    if (auto* t = r.table(root, "client")) {
      r.only_keys(*t, "client", {"server_endpoint", "insecure_skip_verify", "ca_file", "cert_file", "key_file",
                                 "connect_timeout_ms", "setup_timeout_ms", "listen_on", "token_source",
                                 "token_source_arg", "listener"});
      r.str(*t, "server_endpoint", s.server_endpoint);
      bool insecure_cfg = false;
      if (r.boolean(*t, "insecure_skip_verify", insecure_cfg)) s.tls.verify_server = !insecure_cfg;
      auto path = [&](const char* k, std::string& out) {
        if (r.str(*t, k, out) && !out.empty() && fs::path(out).is_relative()) out = (s.base_dir / out).string();
      };
      path("ca_file", s.tls.ca_file);
      path("cert_file", s.tls.cert_file);
      path("key_file", s.tls.key_file);
      r.uint(*t, "connect_timeout_ms", s.connect_timeout_ms, 1, 3600000);
      r.uint(*t, "setup_timeout_ms", s.setup_timeout_ms, 1, 3600000);
      // One listener in [client] itself, or several as [[client.listener]].
      ListenerSettings first;
      first.origin = r.where(*t);
      bool has_first = r.str(*t, "listen_on", first.listen_on);
      has_first |= r.str(*t, "token_source", first.token_source);
      has_first |= r.str(*t, "token_source_arg", first.token_source_arg, &first.token_source_arg_origin);
      std::vector<ListenerSettings> listeners;
      if (has_first) listeners.push_back(first);
      if (const toml::node* n = t->get("listener")) {
        if (!n->is_array_of_tables()) r.fail(*n, "'listener' must be an array of tables ([[client.listener]])");
        for (const auto& e : *n->as_array()) {
          const toml::table& lt = *e.as_table();
          r.only_keys(lt, "client.listener", {"listen_on", "token_source", "token_source_arg", "options"});
          ListenerSettings l;
          l.origin = r.where(e);
          if (!r.str(lt, "listen_on", l.listen_on)) r.fail(e, "[[client.listener]] needs 'listen_on'");
          r.str(lt, "token_source", l.token_source);
          r.str(lt, "token_source_arg", l.token_source_arg, &l.token_source_arg_origin);
          if (auto* opts = r.table(lt, "options")) l.token_source_options = r.table_value(*opts);
          listeners.push_back(std::move(l));
        }
      }
      if (!listeners.empty()) s.listeners = std::move(listeners);
    }
  }
  apply_common_flags(common, s);
  // ARQ by default only under ngtcp2's bbr, whose window it protects from random loss. The
  // loss-tolerant bbr1 (the default) measured faster without it: a repair holds every packet
  // behind the gap for a round trip (bench/RESULTS.md, quictun-bbr1 against quictun-bbr1-plain).
  if (s.arq_origin.empty() && s.quic.congestion != "bbr") s.quic.arq = false;
  if (o_listen->count() || o_plugin->count() || o_source->count()) {
    // Flags describe the first listener (the only one quic-tun knows).
    ListenerSettings& l = s.listeners.front();
    l.origin = "command line";
    if (o_listen->count()) l.listen_on = listen_on;
    if (o_plugin->count()) l.token_source = source_plugin;
    if (o_source->count()) {
      l.token_source_arg = source;
      l.token_source_arg_origin = "--token-source";
    }
  }
  if (o_endpoint->count()) s.server_endpoint = endpoint;
  if (o_insecure->count()) s.tls.verify_server = !insecure;
  if (o_ca->count()) s.tls.ca_file = ca;
  if (o_cert->count()) s.tls.cert_file = cert;
  if (o_keyf->count()) s.tls.key_file = keyf;
  if (o_timeout->count()) {
    try {
      s.connect_timeout_ms = std::stoull(timeout);
    } catch (const std::exception&) {
      throw UsageError("--connect-timeout-ms: \"" + timeout + "\" is not a number of milliseconds");
    }
  }
  for (const auto& l : s.listeners)
    if (l.token_source.empty()) throw UsageError(l.origin + ": empty token source plugin name");
  return ParseResult::run;
}

}  // namespace quictun::config

#include "config/settings.hpp"

#include "config/command_line.hpp"
#include "config/flat_file.hpp"
#include "config/option_tables.hpp"
#include "config/toml_reader.hpp"
#include "config/values.hpp"
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

// After every source: what no single source can decide alone.
void settle_common(CommonSettings& s) {
  if (s.quic.arq && quic::congestion_is_loss_based(s.quic.congestion)) {
    // Measured: cubic and reno size their window by loss; with every loss repaired below them
    // they grow it until every queue on the path overflows (3x the wire bytes at 0 % loss).
    if (!s.arq_origin.empty())
      throw UsageError(s.arq_origin + ": ARQ cannot be used with congestion control " + s.quic.congestion +
                       " (cubic and reno size their window by the loss ARQ hides, and would flood the path)");
    s.quic.arq = false;
  }
}

struct ConfigFile {
  toml::table root;
  TomlReader reader;
};

ConfigFile load_config(const std::string& path, CommonSettings& s) {
  s.config_file = path;
  std::error_code ec;
  if (!fs::exists(fs::path(path), ec)) throw UsageError(path + ": no such configuration file");
  s.base_dir = fs::absolute(fs::path(path)).parent_path();
  return {parse_toml(path), TomlReader(path, s.base_dir)};
}

// quic-tun's flat YAML/JSON file: its keys are the flags of `options`.
Given read_flat_config(const std::string& path, CommonSettings& s, const BoundOptions& options) {
  s.config_file = path;
  std::error_code ec;
  if (!fs::exists(fs::path(path), ec)) throw UsageError(path + ": no such configuration file");
  s.base_dir = fs::absolute(fs::path(path)).parent_path();
  return read_flat(parse_flat_file(path), options, s.base_dir);
}

// One file may serve both programs, so each accepts the other's section without reading it.
void check_sections(const TomlReader& r, const toml::table& root) {
  const std::vector<std::string> known = known_sections();
  for (auto&& [k, v] : root) {
    bool ok = false;
    for (const auto& name : known) ok |= k.str() == name;
    if (ok) continue;
    std::string list;
    for (const auto& name : known) list += (list.empty() ? "" : ", ") + name;
    throw UsageError(r.where(k) + ": unknown section or key '" + std::string(k.str()) + "' (known: " + list + ")");
  }
}

// The sections both programs read: the common options and the plugin tables.
void read_common(const TomlReader& r, const toml::table& root, CommonSettings& s) {
  std::vector<std::string> sections;
  append_sections(sections, common_options());
  for (const auto& section : sections) {
    const toml::table* t = r.table(root, section.c_str());
    if (!t) continue;
    BoundOptions options;
    bind(options, common_options(), s, section.c_str());
    r.read(*t, section, options);
  }
  for (const auto& kind : plugin_table_kinds()) {
    const toml::table* t = r.table(root, kind.c_str());
    if (!t) continue;
    for (auto&& [name, v] : *t) {
      if (!v.is_table()) r.fail(v, "[" + kind + "." + std::string(name.str()) + "] must be a table");
      sdk::PluginConfig pc;
      pc.table = r.table_value(*v.as_table());
      pc.table_origin = r.where(v);
      pc.base_dir = s.base_dir;
      std::string normalized;
      for (char c : lower(std::string(name.str()))) normalized.push_back(c == '-' ? '_' : c);
      s.plugin_tables[kind + "." + normalized] = std::move(pc);
    }
  }
}

bool any_listener_option(const Given& given) {
  for (const auto& o : listener_options())
    if (given.count(o.spec.name())) return true;
  return false;
}

// [client]: its own options, one listener in [client] itself, or several as [[client.listener]].
void read_client(const TomlReader& r, const toml::table& t, ClientSettings& s) {
  ListenerSettings first;
  first.origin = r.where(t);
  BoundOptions options;
  bind(options, client_options(), s, "client");
  bind(options, listener_options(), first, "client.listener");
  Given given = r.read(t, "client", options);
  std::vector<ListenerSettings> listeners;
  if (any_listener_option(given)) listeners.push_back(first);
  if (const toml::node* n = t.get("listener")) {
    if (!n->is_array_of_tables()) r.fail(*n, "'listener' must be an array of tables ([[client.listener]])");
    for (const auto& e : *n->as_array()) {
      ListenerSettings l;
      l.origin = r.where(e);
      BoundOptions lo;
      bind(lo, listener_options(), l, "client.listener");
      if (!r.read(*e.as_table(), "client.listener", lo).count("listen_on"))
        r.fail(e, "[[client.listener]] needs 'listen_on'");
      listeners.push_back(std::move(l));
    }
  }
  if (!listeners.empty()) s.listeners = std::move(listeners);
}

}  // namespace

ParseResult parse_server(int argc, char** argv, ServerSettings& s) {
  CommandLine cli("quictun-server: ends the QUIC tunnel and connects each stream to the backend its token names.\n"
                  "Compatible with quic-tun v0.0.5 flags and wire protocol.",
                  "quictun-server", "quictun-server 0.1.0");
  cli.declare(common_options());
  cli.declare(server_options());
  if (!cli.parse(argc, argv)) return ParseResult::exit_ok;

  if (auto file = cli.config_file(); file && is_flat_config(*file)) {
    BoundOptions options;
    bind(options, common_options(), s);
    bind(options, server_options(), s);
    read_flat_config(*file, s, options);
  } else if (file) {
    ConfigFile f = load_config(*file, s);
    check_sections(f.reader, f.root);
    read_common(f.reader, f.root, s);
    if (const toml::table* t = f.reader.table(f.root, "server")) {
      BoundOptions options;
      bind(options, server_options(), s, "server");
      f.reader.read(*t, "server", options);
    }
  }
  BoundOptions flags;
  bind(flags, common_options(), s);
  bind(flags, server_options(), s);
  cli.apply(flags);
  settle_common(s);
  if (s.token_parser.empty()) throw UsageError("--token-parser-plugin: empty plugin name");
  return ParseResult::run;
}

ParseResult parse_client(int argc, char** argv, ClientSettings& s) {
  CommandLine cli("quictun-client: carries each application connection as a stream of one QUIC connection to\n"
                  "quictun-server. Compatible with quic-tun v0.0.5 flags and wire protocol.",
                  "quictun-client", "quictun-client 0.1.0");
  cli.declare(common_options());
  cli.declare(client_options());
  cli.declare(listener_options());
  if (!cli.parse(argc, argv)) return ParseResult::exit_ok;

  s.quic.keep_alive_ns = 15'000'000'000ull;  // as the reference client: NATs forget silent flows
  if (auto file = cli.config_file(); file && is_flat_config(*file)) {
    // quic-tun's file describes one listener, as its flags do.
    BoundOptions options;
    bind(options, common_options(), s);
    bind(options, client_options(), s);
    bind(options, listener_options(), s.listeners.front());
    Given given = read_flat_config(*file, s, options);
    for (const auto& o : listener_options())
      if (given.count(o.spec.name())) s.listeners.front().origin = given.at(o.spec.name());
  } else if (file) {
    ConfigFile f = load_config(*file, s);
    check_sections(f.reader, f.root);
    read_common(f.reader, f.root, s);
    if (const toml::table* t = f.reader.table(f.root, "client")) read_client(f.reader, *t, s);
  }
  // The listener is bound only now: the file may have replaced the list. Flags describe the
  // first listener, the only one quic-tun knows.
  BoundOptions flags;
  bind(flags, common_options(), s);
  bind(flags, client_options(), s);
  bind(flags, listener_options(), s.listeners.front());
  Given given = cli.apply(flags);
  settle_common(s);
  // ARQ by default only under ngtcp2's bbr, whose window it protects from random loss. The
  // loss-tolerant bbr1 (the default) measured faster without it: a repair holds every packet
  // behind the gap for a round trip (bench/RESULTS.md, quictun-bbr1 against quictun-bbr1-plain).
  if (s.arq_origin.empty() && s.quic.congestion != "bbr") s.quic.arq = false;
  if (any_listener_option(given)) s.listeners.front().origin = "command line";
  for (const auto& l : s.listeners)
    if (l.token_source.empty()) throw UsageError(l.origin + ": empty token source plugin name");
  return ParseResult::run;
}

}  // namespace quictun::config

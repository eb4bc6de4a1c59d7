// quictun.toml and flags: what is read, what wins, and how mistakes are reported.
#include <gtest/gtest.h>

#include <fstream>

#include "config/option_tables.hpp"
#include "config/settings.hpp"
#include "harness.hpp"
#include "util/error.hpp"

using namespace quictun;

namespace {

struct Argv {
  explicit Argv(std::vector<std::string> a) : args(std::move(a)) {
    args.insert(args.begin(), "prog");
    for (auto& s : args) ptrs.push_back(s.data());
  }
  int argc() { return static_cast<int>(ptrs.size()); }
  char** argv() { return ptrs.data(); }
  std::vector<std::string> args;
  std::vector<char*> ptrs;
};

std::string write(const test::TempDir& d, const std::string& text) {
  std::string path = d.file("quictun.toml");
  std::ofstream(path) << text;
  return path;
}

std::string usage_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const UsageError& e) {
    return e.what();
  }
  return "<no error>";
}

}  // namespace

TEST(Config, TheCommentedExampleParsesForBothPrograms) {
  std::string example = std::string(QUICTUN_SOURCE_DIR) + "/examples/quictun.toml";
  config::ServerSettings server;
  Argv a({"-c", example});
  ASSERT_EQ(config::parse_server(a.argc(), a.argv(), server), config::ParseResult::run);
  EXPECT_EQ(server.token_parser, "file");
  EXPECT_EQ(server.tls.cert_file, std::string(QUICTUN_SOURCE_DIR) + "/examples/server.pem");
  config::ClientSettings client;
  Argv b({"-c", example});
  ASSERT_EQ(config::parse_client(b.argc(), b.argv(), client), config::ParseResult::run);
  ASSERT_EQ(client.listeners.size(), 2u);
  EXPECT_EQ(client.listeners[1].listen_on, "unix:/run/quictun/db.sock");
  EXPECT_EQ(client.listeners[1].token_source_arg, "db");
  EXPECT_TRUE(client.tls.verify_server);
  EXPECT_EQ(client.quic.congestion, "bbr1");
}

TEST(Config, FlagsOverrideTheFile) {
  test::TempDir d;
  std::string cfg = write(d, "[server]\nlisten_on = \"127.0.0.1:1\"\n[quic]\ncongestion_control = \"reno\"\n");
  config::ServerSettings s;
  Argv a({"-c", cfg, "--listen-on", "127.0.0.1:2", "--congestion-control", "BBR"});
  config::parse_server(a.argc(), a.argv(), s);
  EXPECT_EQ(s.listen_on, "127.0.0.1:2");
  EXPECT_EQ(s.quic.congestion, "bbr");
}

TEST(Config, DefaultsMatchQuicTun) {
  config::ServerSettings s;
  Argv a({});
  config::parse_server(a.argc(), a.argv(), s);
  EXPECT_EQ(s.listen_on, "0.0.0.0:7500");
  EXPECT_EQ(s.token_parser, "cleartext");
  config::ClientSettings c;
  Argv b({});
  config::parse_client(b.argc(), b.argv(), c);
  ASSERT_EQ(c.listeners.size(), 1u);
  EXPECT_EQ(c.listeners[0].listen_on, "tcp:127.0.0.1:6500");
  EXPECT_EQ(c.listeners[0].token_source, "fixed");
  EXPECT_TRUE(c.tls.verify_server) << "secure by default";
  EXPECT_EQ(c.quic.keep_alive_ns, 15'000'000'000ull);
}

TEST(Config, InsecureSkipVerifyAcceptsEveryQuicTunSpelling) {
  for (std::vector<std::string> args : {std::vector<std::string>{"--insecure-skip-verify"},
                                        {"--insecure-skip-verify=true"},
                                        {"--insecure-skip-verify", "True"},
                                        {"-insecure-skip-verify"}}) {
    config::ClientSettings c;
    Argv a(args);
    config::parse_client(a.argc(), a.argv(), c);
    EXPECT_FALSE(c.tls.verify_server) << args.back();
  }
  config::ClientSettings c;
  Argv a({"--insecure-skip-verify", "false"});
  config::parse_client(a.argc(), a.argv(), c);
  EXPECT_TRUE(c.tls.verify_server);
}

TEST(Config, PluginTablesReachThePluginWithTheirPlaces) {
  test::TempDir d;
  std::string cfg = write(d, "[token_source.http-header]\nheader = \"X-T\"\nstrip_header = true\n");
  config::ClientSettings c;
  Argv a({"-c", cfg});
  config::parse_client(a.argc(), a.argv(), c);
  sdk::PluginConfig pc = c.plugin_config("token_source.http_header", "arg", "--token-source");
  EXPECT_EQ(pc.get_string("header").value_or(""), "X-T");
  EXPECT_TRUE(pc.get_bool("strip_header").value_or(false));
  EXPECT_EQ(pc.argument, "arg");
  EXPECT_EQ(pc.table.at("header").origin(), cfg + ":2");
  EXPECT_EQ(pc.error("header", "is bad").what(), cfg + ":2: 'header' is bad");
}

TEST(Config, MistakesNameFileAndLine) {
  test::TempDir d;
  auto server_error = [&](const std::string& text) {
    std::string cfg = write(d, text);
    return usage_error([&] {
      config::ServerSettings s;
      Argv a({"-c", cfg});
      config::parse_server(a.argc(), a.argv(), s);
    });
  };
  std::string cfg = d.file("quictun.toml");
  EXPECT_EQ(server_error("[quic]\nidle_timeout_ms = -5\n"), cfg + ":2: 'idle_timeout_ms' must be between 1000 and 3600000");
  EXPECT_EQ(server_error("[serverr]\n"), cfg + ":1: unknown section or key 'serverr' (known: server, client, quic, log, api, plugins, token_source, token_parser, transport, congestion, classifier)");
  EXPECT_EQ(server_error("[log]\nlevel = \"loud\"\n"), cfg + ":2: unknown log level \"loud\" (use trace, debug, info, warn, error or off)");
  EXPECT_EQ(server_error("[quic]\ncongestion_control = \"bbr 1\"\n"), cfg + ":2: \"bbr 1\" is not a congestion controller name");
  EXPECT_NE(server_error("[server\n").find(cfg + ":1:"), std::string::npos);
  EXPECT_EQ(server_error("[quic]\ntest_drop_rate = 1.5\n"), cfg + ":2: 'test_drop_rate' must be in [0, 1)");
  // Each allow entry is named with its own line.
  EXPECT_EQ(server_error("[server]\nallow = [\n  \"tcp:10.0.0.0/8:22\",\n  \"tcp:10.0.0.0/8:ssh\",\n]\n"),
            cfg + ":4: allow entry \"tcp:10.0.0.0/8:ssh\": port \"ssh\" is not a port, a range LOW-HIGH or *");
  EXPECT_EQ(usage_error([&] {
              config::ServerSettings s;
              Argv a({"--allow", "tcp:127.0.0.1:1", "--allow", "udp"});
              config::parse_server(a.argc(), a.argv(), s);
            }),
            "--allow: allow entry \"udp\": missing scheme (write tcp:NETWORK:PORTS, tcp:NAME:PORTS or unix:PATH-GLOB)");
}

TEST(Config, AllowEntriesFromTheFileOrTheFlags) {
  test::TempDir d;
  config::ServerSettings from_file;
  Argv a({"-c", write(d, "[server]\nallow = [\"tcp:10.0.0.0/8:22\", \"unix:/run/app/*.sock\"]\n")});
  config::parse_server(a.argc(), a.argv(), from_file);
  EXPECT_EQ(from_file.allow.size(), 2u);
  EXPECT_FALSE(from_file.allow.refusal("unix:/run/app/x.sock"));
  EXPECT_TRUE(from_file.allow.refusal("tcp:10.0.0.1:23"));
  config::ServerSettings none;
  Argv b({});
  config::parse_server(b.argc(), b.argv(), none);
  EXPECT_FALSE(none.allow.active());
  config::ServerSettings flags;
  Argv c({"--allow", "tcp:127.0.0.1:22", "--allow", "tcp:127.0.0.1:23"});
  config::parse_server(c.argc(), c.argv(), flags);
  EXPECT_EQ(flags.allow.size(), 2u);
}

TEST(Config, FecWasRemovedAndSaysSoInTheFileAndOnTheCommandLine) {
  const std::string why =
      ": FEC (--fec, [quic] fec) was removed from quictun: under the default bbr1 controller it was slower than no "
      "repair at every loss rate measured; delete this setting";
  EXPECT_EQ(usage_error([] {
              config::ClientSettings c;
              Argv a({"--fec", "20:2"});
              config::parse_client(a.argc(), a.argv(), c);
            }),
            "--fec" + why);
  EXPECT_EQ(usage_error([] {
              config::ServerSettings s;
              Argv a({"--fec", "off"});
              config::parse_server(a.argc(), a.argv(), s);
            }),
            "--fec" + why)
      << "even \"off\": the setting itself is what must go";
  test::TempDir d;
  std::string file = write(d, "[quic]\narq = true\nfec = \"10:2\"\n");
  EXPECT_EQ(usage_error([&] {
              config::ClientSettings c;
              Argv a({"-c", file});
              config::parse_client(a.argc(), a.argv(), c);
            }),
            file + ":3" + why);
}

TEST(Config, ArqIsOptInExceptUnderNgtcp2Bbr) {
  auto client = [](std::vector<std::string> args) {
    config::ClientSettings c;
    Argv a(args);
    config::parse_client(a.argc(), a.argv(), c);
    return c.quic;
  };
  EXPECT_FALSE(client({}).arq) << "bbr1, the default, measured faster without ARQ (bench/RESULTS.md)";
  EXPECT_EQ(client({}).congestion, "bbr1") << "the default controller (bench/RESULTS.md)";
  EXPECT_TRUE(client({"--congestion-control", "bbr"}).arq) << "ngtcp2's bbr still gets ARQ by default";
  config::ServerSettings server;
  Argv none({});
  config::parse_server(none.argc(), none.argv(), server);
  EXPECT_TRUE(server.quic.arq) << "a server accepts ARQ when a client offers it";
  EXPECT_FALSE(client({"--arq", "off"}).arq);
  EXPECT_TRUE(client({"--arq", "on"}).arq);
  EXPECT_EQ(usage_error([&] { client({"--arq", "maybe"}); }), "--arq: expected on or off, got \"maybe\"");
  test::TempDir d;
  std::string wrong = write(d, "[quic]\narq = \"yes\"\n");
  EXPECT_EQ(usage_error([&] { client({"-c", wrong}); }), wrong + ":2: 'arq' must be true or false");
  std::string file_off = write(d, "[quic]\narq = false\n");
  EXPECT_TRUE(client({"-c", file_off, "--arq", "on"}).arq) << "a flag beats the file";
  EXPECT_FALSE(client({"--congestion-control", "cubic"}).arq) << "ARQ is never used with a loss-based controller";
  EXPECT_EQ(usage_error([&] { client({"--congestion-control", "reno", "--arq", "on"}); }),
            "--arq: ARQ cannot be used with congestion control reno (cubic and reno size their window by the loss "
            "ARQ hides, and would flood the path)");
}

// ---------------------------------------------------------------------------------------------
// One option table serves the file and the flags: every number is checked the same way in both.

namespace {

enum class Program { server, client };

std::string parse_error(Program p, std::vector<std::string> args) {
  return usage_error([&] {
    Argv a(std::move(args));
    if (p == Program::server) {
      config::ServerSettings s;
      config::parse_server(a.argc(), a.argv(), s);
    } else {
      config::ClientSettings c;
      config::parse_client(a.argc(), a.argv(), c);
    }
  });
}

// A numeric option and the program(s) that read it.
struct Numeric {
  const config::OptionSpec* spec;
  std::vector<Program> programs;
};

std::vector<Numeric> numeric_options() {
  std::vector<Numeric> out;
  auto add = [&](const auto& table, std::vector<Program> programs) {
    for (const auto& o : table)
      if (o.spec.kind == config::Kind::integer || o.spec.kind == config::Kind::fraction)
        out.push_back({&o.spec, programs});
  };
  add(config::common_options(), {Program::server, Program::client});
  add(config::server_options(), {Program::server});
  add(config::client_options(), {Program::client});
  add(config::listener_options(), {Program::client});
  return out;
}

// What the test expects an option to say, written here rather than taken from the code.
std::string expected_range(const config::OptionSpec& spec) {
  if (spec.kind == config::Kind::fraction) return "must be in [0, 1)";
  return "must be between " + std::to_string(spec.min) + " and " + std::to_string(spec.max);
}

// Values outside the option, as typed on the command line and as written in TOML.
struct Bad {
  std::string flag_text;
  std::string toml_text;
  bool wrong_type;  // in TOML, a string where a number belongs
};

std::vector<Bad> bad_values(const config::OptionSpec& spec) {
  std::vector<Bad> out = {{"10x", "\"10x\"", true}, {"-1", "-1", false}};
  if (spec.kind == config::Kind::fraction) {
    out.push_back({"1", "1", false});
    out.push_back({"1.5", "1.5", false});
    out.push_back({"nan", "nan", false});
  } else {
    out.push_back({std::to_string(spec.max + 1), std::to_string(spec.max + 1), false});
    if (spec.min > 0) out.push_back({std::to_string(spec.min - 1), std::to_string(spec.min - 1), false});
  }
  return out;
}

std::vector<std::string> split_list(const std::string& list) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= list.size()) {
    std::size_t comma = list.find(", ", start);
    out.push_back(list.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 2;
  }
  return out;
}

// The names between "(known: " and the closing parenthesis of a message.
std::vector<std::string> known_list(const std::string& message) {
  std::size_t open = message.find("(known: ");
  if (open == std::string::npos || message.back() != ')') return {};
  open += 8;
  return split_list(message.substr(open, message.size() - 1 - open));
}

}  // namespace

TEST(Config, TheKnownBadCommandLineNumbersAreRefused) {
  // Each started the client before the option table (std::stoull read "10x" as 10).
  EXPECT_EQ(parse_error(Program::client, {"--connect-timeout-ms", "10x"}),
            "--connect-timeout-ms: must be between 1 and 3600000, got \"10x\"");
  EXPECT_EQ(parse_error(Program::client, {"--connect-timeout-ms", "-1"}),
            "--connect-timeout-ms: must be between 1 and 3600000, got \"-1\"");
  EXPECT_EQ(parse_error(Program::client, {"--connect-timeout-ms=0"}),
            "--connect-timeout-ms: must be between 1 and 3600000, got \"0\"");
  EXPECT_EQ(parse_error(Program::client, {"-connect-timeout-ms", " 10"}),
            "--connect-timeout-ms: must be between 1 and 3600000, got \" 10\"");
  EXPECT_EQ(parse_error(Program::server, {"--backend-connect-timeout-ms", "0x10"}),
            "--backend-connect-timeout-ms: must be between 1 and 3600000, got \"0x10\"");
  EXPECT_EQ(parse_error(Program::server, {"--test-drop-rate", "nan"}), "--test-drop-rate: must be in [0, 1), got \"nan\"");
}

TEST(Config, EveryNumericOptionRefusesNonNumbersNegativesAndOutOfRangeOnTheCommandLineAndInTheFile) {
  test::TempDir d;
  std::size_t flags = 0, keys = 0;
  for (const Numeric& n : numeric_options()) {
    const config::OptionSpec& spec = *n.spec;
    for (Program p : n.programs) {
      for (const Bad& bad : bad_values(spec)) {
        if (spec.flag) {
          const std::string flag = spec.long_flag();
          EXPECT_EQ(parse_error(p, {flag, bad.flag_text}),
                    flag + ": " + expected_range(spec) + ", got \"" + bad.flag_text + "\"");
        }
        if (spec.key) {
          std::string cfg = write(d, std::string("[") + spec.section + "]\n" + spec.key + " = " + bad.toml_text + "\n");
          const std::string what = bad.wrong_type ? (spec.kind == config::Kind::fraction ? "must be a number" : "must be an integer")
                                                  : expected_range(spec);
          EXPECT_EQ(parse_error(p, {"-c", cfg}), cfg + ":2: '" + spec.key + "' " + what) << bad.toml_text;
        }
      }
      if (spec.kind == config::Kind::integer) {
        for (std::uint64_t ok : {spec.min, spec.max}) {  // the range is inclusive at both ends
          if (spec.flag) {
            EXPECT_EQ(parse_error(p, {spec.long_flag(), std::to_string(ok)}), "<no error>") << spec.name();
          }
          if (spec.key) {
            std::string cfg = write(d, std::string("[") + spec.section + "]\n" + spec.key + " = " + std::to_string(ok) + "\n");
            EXPECT_EQ(parse_error(p, {"-c", cfg}), "<no error>") << spec.name() << " = " << ok;
          }
        }
      }
    }
    flags += spec.flag != nullptr;
    keys += spec.key != nullptr;
  }
  EXPECT_GE(flags, 3u) << "--connect-timeout-ms, --backend-connect-timeout-ms and --test-drop-rate at least";
  EXPECT_GE(keys, 12u);
}

TEST(Config, NumbersReachTheSettingsInTheirUnits) {
  test::TempDir d;
  std::string cfg = write(d, "[quic]\nidle_timeout_ms = 20000\nmax_streams = 7\ntest_drop_rate = 0.25\nack_every = 9\ninitial_rtt_ms = 40\n"
                             "[client]\nconnect_timeout_ms = 5\nsetup_timeout_ms = 6\n");
  config::ClientSettings c;
  Argv a({"-c", cfg, "--connect-timeout-ms", "3600000"});
  config::parse_client(a.argc(), a.argv(), c);
  EXPECT_EQ(c.quic.idle_timeout_ns, 20'000'000'000ull);
  EXPECT_EQ(c.quic.max_streams, 7u);
  EXPECT_EQ(c.quic.ack_every, 9u);
  EXPECT_EQ(c.quic.initial_rtt_ns, 40'000'000ull);
  EXPECT_EQ(c.test_drop_rate, 0.25);
  EXPECT_EQ(c.connect_timeout_ms, 3600000u) << "the flag beats the file";
  EXPECT_EQ(c.setup_timeout_ms, 6u);
  config::ServerSettings s;
  Argv b({"--backend-connect-timeout-ms", "250", "--test-drop-rate", "0.5"});
  config::parse_server(b.argc(), b.argv(), s);
  EXPECT_EQ(s.backend_connect_timeout_ms, 250u);
  EXPECT_EQ(s.test_drop_rate, 0.5);
}

TEST(Config, UnknownKeyListsExactlyTheKeysTheTableDeclares) {
  test::TempDir d;
  // Each TOML table, the option tables that declare its keys, and a program that reads it.
  auto check = [&](const std::string& header, const std::string& section, std::vector<std::string> declared, Program p) {
    std::string cfg = write(d, header + "\nno_such_key = 1\n");
    std::string message = parse_error(p, {"-c", cfg});
    EXPECT_EQ(message.rfind(cfg + ":2: unknown key 'no_such_key' in [" + section + "] (known: ", 0), 0u) << message;
    EXPECT_EQ(known_list(message), declared) << message;
  };
  auto keys = [](const auto& table, const std::string& section) {
    std::vector<std::string> out;
    for (const auto& o : table)
      if (o.spec.section && o.spec.key && section == o.spec.section) out.emplace_back(o.spec.key);
    return out;
  };
  for (const char* section : {"quic", "log", "plugins"})
    for (Program p : {Program::server, Program::client})
      check(std::string("[") + section + "]", section, keys(config::common_options(), section), p);
  check("[server]", "server", keys(config::server_options(), "server"), Program::server);
  std::vector<std::string> client = keys(config::client_options(), "client");
  std::vector<std::string> listener = keys(config::listener_options(), "client.listener");
  check("[[client.listener]]", "client.listener", listener, Program::client);
  client.insert(client.end(), listener.begin(), listener.end());  // [client] holds one listener itself
  check("[client]", "client", client, Program::client);
  // The [quic] list names every tuning key, not a list kept apart from the code.
  EXPECT_EQ(keys(config::common_options(), "quic").size(), 15u);

  std::string cfg = write(d, "[nope]\n");
  std::string message = parse_error(Program::client, {"-c", cfg});
  EXPECT_EQ(known_list(message), config::known_sections()) << message;
  for (const char* section : {"server", "client", "quic", "log", "plugins", "token_source", "congestion"})
    EXPECT_NE(message.find(section), std::string::npos) << section;
}

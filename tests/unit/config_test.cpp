// quictun.toml and flags: what is read, what wins, and how mistakes are reported.
#include <gtest/gtest.h>

#include <fstream>

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
  EXPECT_EQ(server_error("[serverr]\n"), cfg + ":1: unknown section or key 'serverr' (known: server, client, quic, log, plugins, token_source, token_parser, transport, congestion)");
  EXPECT_EQ(server_error("[log]\nlevel = \"loud\"\n"), cfg + ":2: unknown log level \"loud\" (use trace, debug, info, warn, error or off)");
  EXPECT_EQ(server_error("[quic]\ncongestion_control = \"bbr 1\"\n"), cfg + ":2: \"bbr 1\" is not a congestion controller name");
  EXPECT_NE(server_error("[server\n").find(cfg + ":1:"), std::string::npos);
  EXPECT_EQ(server_error("[quic]\ntest_drop_rate = 1.5\n"), cfg + ":2: 'test_drop_rate' must be in [0, 1)");
  EXPECT_NE(server_error("[quic]\nfec = \"20:300\"\n").find(cfg + ":2: FEC must be K:M"), std::string::npos);
}

TEST(Config, FecParameters) {
  config::ClientSettings c;
  Argv a({"--fec", "10:3"});
  config::parse_client(a.argc(), a.argv(), c);
  EXPECT_EQ(c.quic.fec_k, 10u);
  EXPECT_EQ(c.quic.fec_m, 3u);
  config::ClientSettings off;
  Argv b({});
  config::parse_client(b.argc(), b.argv(), off);
  EXPECT_EQ(off.quic.fec_k, 0u) << "FEC is off by default: quic-tun peers do not speak it";
}

TEST(Config, ArqIsOptInExceptUnderNgtcp2BbrAndGivesWayToFec) {
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
  auto fec = client({"--congestion-control", "bbr", "--fec", "20:2"});
  EXPECT_FALSE(fec.arq) << "asking for FEC turns the default ARQ off";
  EXPECT_EQ(fec.fec_k, 20u);
  const std::string both_error = "ARQ and FEC cannot be combined; choose one (turn arq off or fec off)";
  EXPECT_EQ(usage_error([&] { client({"--arq", "on", "--fec", "20:2"}); }), "--fec: " + both_error);
  EXPECT_EQ(usage_error([&] { client({"--arq", "maybe"}); }), "--arq: expected on or off, got \"maybe\"");
  test::TempDir d;
  std::string both = write(d, "[quic]\narq = true\nfec = \"10:2\"\n");
  EXPECT_EQ(usage_error([&] { client({"-c", both}); }), both + ":3: " + both_error);
  std::string wrong = write(d, "[quic]\narq = \"yes\"\n");
  EXPECT_EQ(usage_error([&] { client({"-c", wrong}); }), wrong + ":2: 'arq' must be true or false");
  std::string file_fec = write(d, "[quic]\nfec = \"10:2\"\n");
  auto q = client({"-c", file_fec, "--arq", "on"});
  EXPECT_TRUE(q.arq) << "a flag beats the file";
  EXPECT_EQ(q.fec_k, 0u);
  EXPECT_FALSE(client({"--congestion-control", "cubic"}).arq) << "ARQ is never used with a loss-based controller";
  EXPECT_EQ(usage_error([&] { client({"--congestion-control", "reno", "--arq", "on"}); }),
            "--arq: ARQ cannot be used with congestion control reno (cubic and reno size their window by the loss "
            "ARQ hides, and would flood the path)");
}

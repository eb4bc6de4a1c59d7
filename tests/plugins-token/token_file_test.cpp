// Token source "file" and token parser "file", through quictun-token-file.so.
#include "plugin_harness.hpp"

namespace quictun::test {
namespace {

sdk::ConnectionInfo client(std::string ip, std::uint64_t id = 1) {
  sdk::ConnectionInfo c;
  c.id = id;
  c.listener = "tcp:127.0.0.1:6500";
  c.scheme = "tcp";
  c.peer_ip = ip;
  c.peer_address = ip.find(':') == std::string::npos ? ip + ":40000" : "[" + ip + "]:40000";
  return c;
}

sdk::ConnectionInfo unix_client() {
  sdk::ConnectionInfo c;
  c.id = 9;
  c.listener = "unix:/run/app.sock";
  c.scheme = "unix";
  return c;
}

class FileSource : public ::testing::Test {
 protected:
  std::unique_ptr<sdk::TokenSource> make(const std::string& text, std::int64_t reload_ms = 0) {
    file_ = dir_.write("tokens.txt", text);
    return plugin_.source("file", config(file_.string(), {{"reload_interval_ms", value(reload_ms)}}), host_);
  }
  std::string error_for(const std::string& text) {
    file_ = dir_.write("tokens.txt", text);
    return plugin_.source_error("file", config(file_.string()), host_);
  }
  // The token `source` gives a client, or "refused: <reason>".
  static std::string token(sdk::TokenSource& source, const sdk::ConnectionInfo& who) {
    Outcome out;
    source.resolve(who, {}, false, out.callback());
    EXPECT_EQ(out.calls, 1) << "a file source answers at once";
    if (!out.decision) return "no answer";
    if (out.decision->kind == sdk::TokenDecision::Kind::token) return out.decision->token;
    return "refused: " + out.decision->reason;
  }

  TempDir dir_;
  TestHost host_;
  LoadedPlugin plugin_{QUICTUN_TOKEN_FILE_PLUGIN};
  std::filesystem::path file_;
};

TEST_F(FileSource, ExportsTheAbiAndMarkersTheHostLooksFor) {
  EXPECT_EQ(plugin_.abi(), sdk::abi_version);
  EXPECT_EQ(plugin_.descriptor().name, "token-file");
  EXPECT_TRUE(plugin_.provides("token_source__file"));
  EXPECT_TRUE(plugin_.provides("token_parser__file"));
  EXPECT_FALSE(plugin_.provides("token_source__http"));
}

TEST_F(FileSource, LongestIPv4PrefixWins) {
  auto source = make(
      "10.0.0.0/8 wide\n"
      "10.1.0.0/16 middle\n"
      "10.1.2.3 exact\n"
      "10.1.2.0/24 narrow\n");
  EXPECT_EQ(token(*source, client("10.1.2.3")), "exact");
  EXPECT_EQ(token(*source, client("10.1.2.4")), "narrow");
  EXPECT_EQ(token(*source, client("10.1.9.9")), "middle");
  EXPECT_EQ(token(*source, client("10.200.0.1")), "wide");
  EXPECT_EQ(token(*source, client("::ffff:10.1.2.3")), "exact") << "IPv4-mapped clients match IPv4 lines";
}

TEST_F(FileSource, LongestIPv6PrefixWins) {
  auto source = make(
      "2001:db8::/32 wide6\n"
      "2001:db8:1::/48 middle6\n"
      "2001:db8:1::7 exact6\n"
      "::/0 any6\n");
  EXPECT_EQ(token(*source, client("2001:db8:1::7")), "exact6");
  EXPECT_EQ(token(*source, client("2001:db8:1::8")), "middle6");
  EXPECT_EQ(token(*source, client("2001:db8:2::1")), "wide6");
  EXPECT_EQ(token(*source, client("2001:db9::1")), "any6");
  EXPECT_EQ(token(*source, client("[2001:db8:1::7]")), "exact6") << "brackets are tolerated";
}

TEST_F(FileSource, NoMatchRefusesNamingTheClient) {
  auto source = make("10.0.0.0/8 wide\n");
  auto answer = token(*source, client("192.0.2.7"));
  EXPECT_EQ(answer.rfind("refused: ", 0), 0u) << answer;
  EXPECT_NE(answer.find("192.0.2.7"), std::string::npos) << answer;
  EXPECT_NE(answer.find(file_.string()), std::string::npos) << answer;
}

TEST_F(FileSource, StarIsTheDefaultAndTheOnlyMatchForUnixClients) {
  auto source = make("0.0.0.0/0 any4\n* fallback\n");
  EXPECT_EQ(token(*source, client("192.0.2.7")), "any4");
  EXPECT_EQ(token(*source, client("2001:db8::1")), "fallback");
  EXPECT_EQ(token(*source, unix_client()), "fallback");
}

TEST_F(FileSource, UnixClientWithoutStarIsRefused) {
  auto source = make("0.0.0.0/0 any4\n::/0 any6\n");
  auto answer = token(*source, unix_client());
  EXPECT_EQ(answer.rfind("refused: ", 0), 0u) << answer;
  EXPECT_NE(answer.find("UNIX"), std::string::npos) << answer;
}

TEST_F(FileSource, CommentsBlankLinesAndAnyWhitespace) {
  auto source = make(
      "# clients of the lab\n"
      "\n"
      "   \t \n"
      "\t10.0.0.1 \t  tok-a   # the build box\r\n"
      "10.0.0.2 tok#b\n"
      "  # indented comment\n");
  EXPECT_EQ(token(*source, client("10.0.0.1")), "tok-a");
  EXPECT_EQ(token(*source, client("10.0.0.2")), "tok#b") << "'#' inside a token is part of it";
}

TEST_F(FileSource, MalformedLinesAreReportedAsPathColonLine) {
  struct Case {
    std::string text;
    std::string line;
    std::string says;
  };
  const std::vector<Case> cases = {
      {"10.0.0.1 a\n10.0.0.300 b\n", ":2: ", "neither an IPv4 nor an IPv6"},
      {"# c\n\n10.0.0.0/33 b\n", ":3: ", "longer than 32"},
      {"10.0.0.1/8 b\n", ":1: ", "did you mean 10.0.0.0/8"},
      {"10.0.0.1\n", ":1: ", "got 1 field"},
      {"10.0.0.1 a b\n", ":1: ", "got 3 fields"},
      {"10.0.0.0/8 a\n10.0.0.0/8 b\n", ":2: ", "first at line 1"},
      {"* a\n* b\n", ":2: ", "second '*'"},
      {"10.0.0.0/x a\n", ":1: ", "bad prefix length"},
      {"fe80::1%eth0 a\n", ":1: ", "zone"},
      {"10.0.0.1 " + std::string(513, 't') + "\n", ":1: ", "513 bytes"},
  };
  for (const auto& c : cases) {
    std::string message = error_for(c.text);
    EXPECT_EQ(message.rfind(file_.string() + c.line, 0), 0u) << c.text << " -> " << message;
    EXPECT_NE(message.find(c.says), std::string::npos) << c.text << " -> " << message;
  }
}

TEST_F(FileSource, ConfigurationErrorsAreClear) {
  EXPECT_NE(plugin_.source_error("file", config(""), host_).find("--token-source"), std::string::npos);
  EXPECT_NE(plugin_.source_error("file", config((dir_.path() / "missing.txt").string()), host_).find("cannot read"),
            std::string::npos);
  dir_.write("tokens.txt", "* a\n");
  auto typo = plugin_.source_error("file", config("", {{"pth", value(std::string("tokens.txt"))}}), host_);
  EXPECT_NE(typo.find("test.toml:7: 'pth' is not a setting"), std::string::npos) << typo;
  auto interval = plugin_.source_error(
      "file", config((dir_.path() / "tokens.txt").string(), {{"reload_interval_ms", value(std::int64_t{-5})}}), host_);
  EXPECT_NE(interval.find("reload_interval_ms"), std::string::npos) << interval;
}

TEST_F(FileSource, TomlPathIsRelativeToTheConfigFolder) {
  dir_.write("tokens.txt", "* from-toml\n");
  auto c = config("", {{"path", value(std::string("tokens.txt"))}});
  c.base_dir = dir_.path();
  auto source = plugin_.source("file", c, host_);
  EXPECT_EQ(token(*source, client("192.0.2.1")), "from-toml");
}

TEST_F(FileSource, ReloadsWhenTheFileChanges) {
  auto source = make("* old\n", 20);
  EXPECT_EQ(token(*source, client("10.0.0.1")), "old");

  dir_.write("tokens.txt", "* new\n10.0.0.1 special\n");
  EXPECT_TRUE(host_.run_until([&] { return token(*source, client("10.0.0.1")) == "special"; }));
  EXPECT_EQ(token(*source, client("10.9.9.9")), "new");
  EXPECT_TRUE(host_.logged("reloaded " + file_.string()));

  // Rewritten in place (same inode), as `echo >>` does.
  {
    std::ofstream out(file_, std::ios::app);
    out << "10.0.0.2 appended\n";
  }
  EXPECT_TRUE(host_.run_until([&] { return token(*source, client("10.0.0.2")) == "appended"; }));
}

TEST_F(FileSource, BadReloadKeepsTheLastGoodTable) {
  auto source = make("* good\n", 20);
  dir_.write("tokens.txt", "* better\n10.0.0.0/8 x y\n");
  EXPECT_TRUE(host_.run_until([&] { return host_.logged(file_.string() + ":2: "); }));
  EXPECT_EQ(token(*source, client("10.0.0.1")), "good");

  std::size_t errors = host_.logs.size();
  host_.run_for(100ms);
  EXPECT_EQ(host_.logs.size(), errors) << "a bad version is reported once, not at every check";

  dir_.write("tokens.txt", "* fixed\n");
  EXPECT_TRUE(host_.run_until([&] { return token(*source, client("10.0.0.1")) == "fixed"; }));
}

TEST_F(FileSource, VanishedFileKeepsTheTable) {
  auto source = make("* kept\n", 20);
  std::filesystem::remove(file_);
  EXPECT_TRUE(host_.run_until([&] { return host_.logged("cannot check " + file_.string()); }));
  EXPECT_EQ(token(*source, client("10.0.0.1")), "kept");
  dir_.write("tokens.txt", "* back\n");
  EXPECT_TRUE(host_.run_until([&] { return token(*source, client("10.0.0.1")) == "back"; }));
}

class FileParser : public ::testing::Test {
 protected:
  std::unique_ptr<sdk::TokenParser> make(const std::string& text, std::int64_t reload_ms = 0) {
    file_ = dir_.write("backends.txt", text);
    auto c = config(file_.string(), {{"reload_interval_ms", value(reload_ms)}});
    c.argument_origin = "--token-parser-key";
    return plugin_.parser("file", c, host_);
  }
  std::string error_for(const std::string& text) {
    file_ = dir_.write("backends.txt", text);
    return plugin_.parser_error("file", config(file_.string()), host_);
  }
  // The backend for a token, or "refused: <reason>".
  static std::string backend(sdk::TokenParser& parser, std::string_view token) {
    std::optional<sdk::ParseDecision> decision;
    sdk::ClientInfo who{"192.0.2.7:443", ""};
    parser.parse(token, who, [&](sdk::ParseDecision d) { decision = std::move(d); });
    if (!decision) return "no answer";
    return decision->accepted ? decision->backend : "refused: " + decision->reason;
  }

  TempDir dir_;
  TestHost host_;
  LoadedPlugin plugin_{QUICTUN_TOKEN_FILE_PLUGIN};
  std::filesystem::path file_;
};

TEST_F(FileParser, MapsTokensToBackends) {
  auto parser = make(
      "# token     backend\n"
      "ssh-prod    tcp:10.0.0.5:22\n"
      "db          unix:/run/pg.sock\n"
      "web6\ttcp6:[2001:db8::1]:443\n"
      "named tcp4:backend.internal:8080\n");
  EXPECT_EQ(backend(*parser, "ssh-prod"), "tcp:10.0.0.5:22");
  EXPECT_EQ(backend(*parser, "db"), "unix:/run/pg.sock");
  EXPECT_EQ(backend(*parser, "web6"), "tcp6:[2001:db8::1]:443");
  EXPECT_EQ(backend(*parser, "named"), "tcp4:backend.internal:8080");
}

TEST_F(FileParser, UnknownTokenIsRefusedWithAReason) {
  auto parser = make("ssh-prod tcp:10.0.0.5:22\n");
  auto answer = backend(*parser, "ssh-dev");
  EXPECT_EQ(answer.rfind("refused: ", 0), 0u) << answer;
  EXPECT_NE(answer.find("ssh-dev"), std::string::npos) << answer;
  auto hostile = backend(*parser, "x\n2024 fake log line");
  EXPECT_EQ(hostile.find('\n'), std::string::npos) << "network bytes must not forge log lines";
}

TEST_F(FileParser, DuplicateTokenIsAnErrorAtItsLine) {
  auto message = error_for("a tcp:10.0.0.1:1\nb tcp:10.0.0.1:2\n\na tcp:10.0.0.1:3\n");
  EXPECT_EQ(message.rfind(file_.string() + ":4: ", 0), 0u) << message;
  EXPECT_NE(message.find("first at line 1"), std::string::npos) << message;
}

TEST_F(FileParser, BadBackendsAreErrorsAtTheirLine) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"udp:10.0.0.1:53", "unknown network \"udp\""},
      {"tcp:", "empty address"},
      {"unix:", "empty address"},
      {"10.0.0.1:22", "unknown network \"10.0.0.1\""},
      {"nocolon", "not network:address"},
      {"tcp:10.0.0.1", "lacks a port"},
      {"tcp:10.0.0.1:99999", "bad port"},
      {"tcp::22", "empty host"},
      {"tcp:2001:db8::1:22", "brackets"},
  };
  for (const auto& [bad, says] : cases) {
    auto message = error_for("good tcp:10.0.0.1:22\nbad " + bad + "\n");
    EXPECT_EQ(message.rfind(file_.string() + ":2: ", 0), 0u) << bad << " -> " << message;
    EXPECT_NE(message.find(says), std::string::npos) << bad << " -> " << message;
  }
  EXPECT_NE(error_for("only-a-token\n").find(":1: expected '<token> <backend>'"), std::string::npos);
}

TEST_F(FileParser, ReloadsAndKeepsTheLastGoodTableOnErrors) {
  auto parser = make("app tcp:10.0.0.1:80\n", 20);
  dir_.write("backends.txt", "app tcp:10.0.0.2:80\n");
  EXPECT_TRUE(host_.run_until([&] { return backend(*parser, "app") == "tcp:10.0.0.2:80"; }));

  dir_.write("backends.txt", "app tcp:10.0.0.3:80\napp tcp:10.0.0.4:80\n");
  EXPECT_TRUE(host_.run_until([&] { return host_.logged(file_.string() + ":2: duplicate token \"app\""); }));
  EXPECT_EQ(backend(*parser, "app"), "tcp:10.0.0.2:80");
}

TEST_F(FileParser, MissingPathNamesTheOption) {
  auto message = plugin_.parser_error("file", config(""), host_);
  EXPECT_NE(message.find("--token-parser-key"), std::string::npos) << message;
}

}  // namespace
}  // namespace quictun::test

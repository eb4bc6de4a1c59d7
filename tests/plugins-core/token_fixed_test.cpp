// token-fixed: token source "fixed" and token parser "cleartext", loaded from their .so.
#include "plugin_harness.hpp"

namespace quictun::testing {
namespace {

sdk::PluginConfig argument(const std::string& value, const std::string& origin) {
  sdk::PluginConfig config;
  config.argument = value;
  config.argument_origin = origin;
  return config;
}

sdk::PluginConfig table(const std::string& key, const std::string& value) {
  sdk::PluginConfig config;
  config.table[key] = sdk::ConfigValue(value, "quictun.toml:7");
  config.table_origin = "quictun.toml:6";
  return config;
}

class FixedTokenSourceTest : public ::testing::Test {
 protected:
  std::unique_ptr<sdk::TokenSource> create(const sdk::PluginConfig& config) {
    return plugin.token_source("fixed").create(config, host);
  }
  std::string refusal(const sdk::PluginConfig& config) {
    return error_of([&] { create(config); });
  }
  // The decision for a connection that has sent `seen` so far; it must come at once.
  sdk::TokenDecision decide(sdk::TokenSource& source, std::string_view seen) {
    std::optional<sdk::TokenDecision> decision;
    int calls = 0;
    sdk::ConnectionInfo connection;
    connection.id = 1;
    connection.listener = "tcp:127.0.0.1:6500";
    connection.scheme = "tcp";
    source.resolve(connection, seen, false, [&](sdk::TokenDecision d) {
      ++calls;
      decision = std::move(d);
    });
    EXPECT_EQ(calls, 1);
    return decision.value_or(sdk::TokenDecision{});
  }

  PluginLibrary plugin{"token-fixed"};
  TestHost host;
};

TEST_F(FixedTokenSourceTest, DescribesItselfAndExportsItsMarkers) {
  EXPECT_EQ(plugin.abi(), sdk::abi_version);
  EXPECT_EQ(plugin.descriptor().name, "token-fixed");
  EXPECT_TRUE(plugin.provides("token_source__fixed"));
  EXPECT_TRUE(plugin.provides("token_parser__cleartext"));
  ASSERT_EQ(plugin.descriptor().token_sources.size(), 1u);
  ASSERT_EQ(plugin.descriptor().token_parsers.size(), 1u);
  EXPECT_EQ(plugin.descriptor().token_sources[0].name, "fixed");
  EXPECT_EQ(plugin.descriptor().token_parsers[0].name, "cleartext");
}

TEST_F(FixedTokenSourceTest, AnswersItsArgumentAndForwardsTheBytesUnchanged) {
  auto source = create(argument("tcp:10.0.0.5:22", "--token-source"));
  sdk::TokenDecision decision = decide(*source, "SSH-2.0-OpenSSH_9.2\r\n");
  EXPECT_EQ(decision.kind, sdk::TokenDecision::Kind::token);
  EXPECT_EQ(decision.token, "tcp:10.0.0.5:22");
  EXPECT_EQ(decision.forward, std::nullopt);
  EXPECT_EQ(decide(*source, "").token, "tcp:10.0.0.5:22");
}

TEST_F(FixedTokenSourceTest, TakesTheTokenFromItsTable) {
  auto source = create(table("token", "unix:/run/app.sock"));
  EXPECT_EQ(decide(*source, "").token, "unix:/run/app.sock");
}

TEST_F(FixedTokenSourceTest, PrefersTheArgumentToTheTable) {
  sdk::PluginConfig config = table("token", "tcp:10.0.0.1:1");
  config.argument = "tcp:10.0.0.2:2";
  EXPECT_EQ(decide(*create(config), "").token, "tcp:10.0.0.2:2");
}

TEST_F(FixedTokenSourceTest, AcceptsATokenOfExactly512Bytes) {
  std::string token = "tcp:" + std::string(508, 'a');
  EXPECT_EQ(decide(*create(argument(token, "--token-source")), "").token, token);
}

TEST_F(FixedTokenSourceTest, RefusesAMissingOrEmptyToken) {
  EXPECT_EQ(refusal(sdk::PluginConfig{}),
            "token source \"fixed\" needs a token: pass it with --token-source or set 'token' in its table");
  EXPECT_EQ(refusal(table("token", "")), "quictun.toml:7: 'token' must not be empty");
}

TEST_F(FixedTokenSourceTest, RefusesATokenTooLongForTheHandshake) {
  EXPECT_EQ(refusal(argument(std::string(513, 'a'), "--token-source")),
            "--token-source: the token is 513 bytes long; at most 512 fit in the stream handshake");
  EXPECT_EQ(refusal(table("token", std::string(600, 'a'))),
            "quictun.toml:7: 'token' is 600 bytes long; at most 512 fit in the stream handshake");
}

TEST_F(FixedTokenSourceTest, RefusesATokenWithANulByte) {
  EXPECT_EQ(refusal(argument(std::string("tcp:1.2.3.4\0:5", 14), "--token-source")),
            "--token-source: the token contains a NUL byte, which the server would strip as handshake padding");
}

TEST_F(FixedTokenSourceTest, RefusesUnknownSettings) {
  EXPECT_EQ(refusal(table("tokne", "x")), "quictun.toml:7: 'tokne' is not a setting of token source \"fixed\" (it takes 'token')");
}

TEST_F(FixedTokenSourceTest, RefusesATokenOfTheWrongType) {
  sdk::PluginConfig config;
  config.table["token"] = sdk::ConfigValue(std::int64_t{42}, "quictun.toml:3");
  EXPECT_EQ(refusal(config), "quictun.toml:3: 'token' must be a string");
}

class CleartextParserTest : public ::testing::Test {
 protected:
  std::unique_ptr<sdk::TokenParser> create(const sdk::PluginConfig& config) {
    return plugin.token_parser("cleartext").create(config, host);
  }
  static sdk::ParseDecision parse(sdk::TokenParser& parser, std::string_view token) {
    std::optional<sdk::ParseDecision> decision;
    int calls = 0;
    parser.parse(token, sdk::ClientInfo{"192.0.2.7:443", ""}, [&](sdk::ParseDecision d) {
      ++calls;
      decision = std::move(d);
    });
    EXPECT_EQ(calls, 1);
    return decision.value_or(sdk::ParseDecision{});
  }

  PluginLibrary plugin{"token-fixed"};
  TestHost host;
};

TEST_F(CleartextParserTest, TakesThePlainTokenAsTheBackend) {
  auto parser = create(sdk::PluginConfig{});
  for (const char* token : {"tcp:10.0.0.5:22", "tcp4:db.internal:5432", "tcp6:[::1]:80", "unix:/run/app.sock"}) {
    sdk::ParseDecision decision = parse(*parser, token);
    EXPECT_TRUE(decision.accepted) << token << ": " << decision.reason;
    EXPECT_EQ(decision.backend, token);
  }
}

TEST_F(CleartextParserTest, DecodesBase64WhenItsKeySaysSo) {
  // "tcp:10.0.0.5:22" and "unix:/run/app.sock" in base64.
  for (const auto& config : {argument("base64", "--token-parser-key"), argument("BASE64", "--token-parser-key"),
                             table("key", "Base64")}) {
    auto parser = create(config);
    EXPECT_EQ(parse(*parser, "dGNwOjEwLjAuMC41OjIy").backend, "tcp:10.0.0.5:22");
    EXPECT_EQ(parse(*parser, "dW5peDovcnVuL2FwcC5zb2Nr").backend, "unix:/run/app.sock");
    EXPECT_EQ(parse(*parser, "dGNwOjEuMi4zLjQ6NQ==").backend, "tcp:1.2.3.4:5");
  }
}

TEST_F(CleartextParserTest, RefusesBadBase64WithTheReason) {
  auto parser = create(argument("base64", "--token-parser-key"));
  const std::pair<const char*, const char*> cases[] = {
      {"tcp:10.0.0.5:22", "token \"tcp:10.0.0.5:22\" is not valid base64: invalid character ':' at offset 3"},
      {"dGNwOjEuMi4zLjQ6NQ", "token \"dGNwOjEuMi4zLjQ6NQ\" is not valid base64: its length, 18, is not a multiple of 4"},
      {"dGNw=jEu", "token \"dGNw=jEu\" is not valid base64: padding '=' before the end at offset 4"},
      {"dGNwOjEuMi4zLjQ6NR==", "token \"dGNwOjEuMi4zLjQ6NR==\" is not valid base64: non-zero unused bits before the padding"},
      {"dGNw OjE=", "token \"dGNw OjE=\" is not valid base64: invalid character byte 0x20 at offset 4"},
      {"dGNw====", "token \"dGNw====\" is not valid base64: more than two padding '=' characters"},
  };
  for (const auto& [token, reason] : cases) {
    sdk::ParseDecision decision = parse(*parser, token);
    EXPECT_FALSE(decision.accepted) << token;
    EXPECT_EQ(decision.reason, reason);
  }
}

TEST_F(CleartextParserTest, RefusesBackendsOnUnknownNetworks) {
  auto plain = create(sdk::PluginConfig{});
  EXPECT_EQ(parse(*plain, "udp:10.0.0.5:53").reason,
            "token \"udp:10.0.0.5:53\": network \"udp\" is not one of tcp, tcp4, tcp6, unix");
  EXPECT_EQ(parse(*plain, "10.0.0.5").reason,
            "token \"10.0.0.5\": expected NETWORK:ADDRESS, with NETWORK one of tcp, tcp4, tcp6, unix");
  EXPECT_EQ(parse(*plain, "tcp:").reason, "token \"tcp:\": missing address after \"tcp:\"");
  EXPECT_EQ(parse(*plain, "").reason, "empty token");
  EXPECT_EQ(parse(*plain, "TCP:\x1b[2J").reason,
            "token \"TCP:\\x1b[2J\": network \"TCP\" is not one of tcp, tcp4, tcp6, unix");

  auto base64 = create(argument("base64", "--token-parser-key"));
  // "udp:10.0.0.5:53" and "tcp:1\0" in base64.
  EXPECT_EQ(parse(*base64, "dWRwOjEwLjAuMC41OjUz").reason,
            "token \"dWRwOjEwLjAuMC41OjUz\" decodes to \"udp:10.0.0.5:53\": network \"udp\" is not one of tcp, tcp4, tcp6, unix");
  EXPECT_EQ(parse(*base64, "dGNwOjEA").reason, "token \"dGNwOjEA\" decodes to \"tcp:1\\x00\": the address contains a NUL byte");
}

TEST_F(CleartextParserTest, RefusesAKeyItDoesNotKnow) {
  EXPECT_EQ(error_of([&] { create(argument("base46", "--token-parser-key")); }),
            "--token-parser-key: the key of token parser \"cleartext\" must be empty or \"base64\", not \"base46\"");
  EXPECT_EQ(error_of([&] { create(table("key", "rot13")); }),
            "quictun.toml:7: 'key' must be empty or \"base64\", not \"rot13\"");
}

}  // namespace
}  // namespace quictun::testing

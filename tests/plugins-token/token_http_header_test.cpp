// Token source "http-header", through quictun-token-http-header.so.
#include "plugin_harness.hpp"

namespace quictun::test {
namespace {

class HttpHeaderSource : public ::testing::Test {
 protected:
  std::unique_ptr<sdk::TokenSource> make(std::string argument = "", sdk::ConfigTable table = {}) {
    return plugin_.source("http-header", config(std::move(argument), std::move(table)), host_);
  }

  // One resolve() call for connection `id`, answered at once (the source never defers).
  sdk::TokenDecision resolve(sdk::TokenSource& source, std::string_view seen, bool eof = false, std::uint64_t id = 1) {
    sdk::ConnectionInfo connection;
    connection.id = id;
    connection.listener = "tcp:127.0.0.1:8080";
    connection.scheme = "tcp";
    connection.peer_ip = "192.0.2.7";
    connection.peer_address = "192.0.2.7:50000";
    Outcome out;
    source.resolve(connection, seen, eof, out.callback());
    EXPECT_EQ(out.calls, 1);
    return out.decision.value_or(sdk::TokenDecision::refused("no answer"));
  }

  static sdk::ConfigValue hosts(std::initializer_list<std::pair<const char*, const char*>> entries) {
    sdk::ConfigTable table;
    for (const auto& [host, token] : entries) table[host] = value(std::string(token));
    return value(table);
  }

  TestHost host_;
  LoadedPlugin plugin_{QUICTUN_TOKEN_HTTP_HEADER_PLUGIN};
};

using Kind = sdk::TokenDecision::Kind;

TEST_F(HttpHeaderSource, ExportsItsMarker) {
  EXPECT_EQ(plugin_.abi(), sdk::abi_version);
  EXPECT_TRUE(plugin_.provides("token_source__http_header"));
}

TEST_F(HttpHeaderSource, TokenFromTheDefaultHeaderAnyCase) {
  auto source = make();
  auto d = resolve(*source, "GET /x HTTP/1.1\r\nHost: app\r\nx-quictun-TOKEN:  tcp:10.0.0.5:80 \r\n\r\n");
  ASSERT_EQ(d.kind, Kind::token) << d.reason;
  EXPECT_EQ(d.token, "tcp:10.0.0.5:80");
  EXPECT_FALSE(d.forward.has_value()) << "bytes go unchanged unless strip_header is set";
}

TEST_F(HttpHeaderSource, HeaderNamedByTheArgument) {
  auto source = make("X-Backend");
  auto d = resolve(*source, "GET / HTTP/1.0\r\nX-Quictun-Token: wrong\r\nx-backend: right\r\n\r\n");
  ASSERT_EQ(d.kind, Kind::token) << d.reason;
  EXPECT_EQ(d.token, "right");
}

TEST_F(HttpHeaderSource, HostMappingWithAndWithoutPort) {
  auto source = make("", {{"hosts", hosts({{"a.example", "tok-a"}, {"B.example:8080", "tok-b8080"}, {"b.example", "tok-b"}})}});
  auto token_for = [&](const std::string& host) {
    auto d = resolve(*source, "GET / HTTP/1.1\r\nHost: " + host + "\r\nX-Quictun-Token: ignored\r\n\r\n");
    return d.kind == Kind::token ? d.token : "refused: " + d.reason;
  };
  EXPECT_EQ(token_for("a.example"), "tok-a");
  EXPECT_EQ(token_for("A.EXAMPLE:80"), "tok-a") << "port-less match";
  EXPECT_EQ(token_for("a.example."), "tok-a") << "trailing dot of an FQDN";
  EXPECT_EQ(token_for("b.example:8080"), "tok-b8080") << "exact host:port first";
  EXPECT_EQ(token_for("b.example:9090"), "tok-b");

  auto unknown = resolve(*source, "GET / HTTP/1.1\r\nHost: c.example\r\n\r\n");
  ASSERT_EQ(unknown.kind, Kind::refuse);
  EXPECT_NE(unknown.reason.find("c.example"), std::string::npos);
  auto reply = parse_reply(unknown.reply);
  EXPECT_EQ(reply.status, 421);
  EXPECT_TRUE(reply.well_formed) << unknown.reply;
}

TEST_F(HttpHeaderSource, HostMapDefaultAndExplicitHeaderFirst) {
  auto source = make("X-Quictun-Token", {{"hosts", hosts({{"a.example", "tok-a"}, {"*", "tok-default"}})}});
  EXPECT_EQ(resolve(*source, "GET / HTTP/1.1\r\nHost: a.example\r\nX-Quictun-Token: hdr\r\n\r\n").token, "hdr");
  EXPECT_EQ(resolve(*source, "GET / HTTP/1.1\r\nHost: a.example\r\n\r\n").token, "tok-a");
  EXPECT_EQ(resolve(*source, "GET / HTTP/1.1\r\nHost: z.example\r\n\r\n").token, "tok-default");
  EXPECT_EQ(resolve(*source, "GET / HTTP/1.0\r\n\r\n").token, "tok-default");
}

TEST_F(HttpHeaderSource, StripHeaderForwardsExactlyTheOtherBytes) {
  auto source = make("", {{"strip_header", value(true)}});
  const std::string head =
      "POST /upload HTTP/1.1\r\n"
      "Host: app\r\n"
      "X-Quictun-Token: secret\r\n"
      "  folded-continuation\r\n"
      "Content-Length: 5\r\n"
      "x-quictun-token-extra: kept\r\n"
      "\r\n";
  const std::string after = "hello" "GET /next HTTP/1.1\r\nX-Quictun-Token: other\r\n\r\n";
  auto d = resolve(*source, head + after);
  ASSERT_EQ(d.kind, Kind::token) << d.reason;
  EXPECT_EQ(d.token, "secret folded-continuation");
  ASSERT_TRUE(d.forward.has_value());
  EXPECT_EQ(*d.forward,
            "POST /upload HTTP/1.1\r\n"
            "Host: app\r\n"
            "Content-Length: 5\r\n"
            "x-quictun-token-extra: kept\r\n"
            "\r\n" + after)
      << "the body and the pipelined request are not touched";
}

TEST_F(HttpHeaderSource, WithoutStripEverythingIsForwardedUnchanged) {
  auto source = make();
  auto d = resolve(*source, "GET / HTTP/1.1\r\nX-Quictun-Token: t\r\n\r\nGET /2 HTTP/1.1\r\n");
  ASSERT_EQ(d.kind, Kind::token);
  EXPECT_FALSE(d.forward.has_value());
}

TEST_F(HttpHeaderSource, NeedsMoreUntilTheHeadIsComplete) {
  auto source = make("", {{"strip_header", value(true)}});
  const std::string request = "GET / HTTP/1.1\r\nHost: app\r\nX-Quictun-Token: split-token\r\nAccept: */*\r\n\r\nBODY";
  EXPECT_EQ(resolve(*source, "").kind, Kind::need_more) << "right after accept";
  std::size_t end_of_head = request.find("\r\n\r\n") + 4;
  for (std::size_t n = 1; n < end_of_head; ++n) {
    auto d = resolve(*source, std::string_view(request).substr(0, n));
    ASSERT_EQ(d.kind, Kind::need_more) << "after " << n << " bytes: " << d.reason;
  }
  auto d = resolve(*source, request);
  ASSERT_EQ(d.kind, Kind::token) << d.reason;
  EXPECT_EQ(d.token, "split-token");
  EXPECT_EQ(*d.forward, "GET / HTTP/1.1\r\nHost: app\r\nAccept: */*\r\n\r\nBODY");
}

TEST_F(HttpHeaderSource, FoldedValueReadsTheSameInAnyChunking) {
  auto source = make();
  const std::string request = "GET / HTTP/1.1\r\nX-Quictun-Token: secret\r\n \t folded\r\nHost: a\r\n\r\n";
  EXPECT_EQ(resolve(*source, request, false, 1).token, "secret folded");
  for (std::size_t n = 1; n < request.size(); ++n) resolve(*source, std::string_view(request).substr(0, n), false, 2);
  EXPECT_EQ(resolve(*source, request, false, 2).token, "secret folded") << "byte by byte";
}

TEST_F(HttpHeaderSource, ConnectionsAreIndependent) {
  auto source = make();
  EXPECT_EQ(resolve(*source, "GET / HTTP/1.1\r\nX-Quic", false, 1).kind, Kind::need_more);
  EXPECT_EQ(resolve(*source, "GET / HTTP/1.1\r\nX-Quictun-Token: two\r\n\r\n", false, 2).token, "two");
  EXPECT_EQ(resolve(*source, "GET / HTTP/1.1\r\nX-Quictun-Token: one\r\n\r\n", false, 1).token, "one");
}

TEST_F(HttpHeaderSource, HeadOverTheLimitGets400) {
  auto source = make();
  std::string big = "GET / HTTP/1.1\r\nX-Filler: " + std::string(17000, 'a');
  auto first = resolve(*source, std::string_view(big).substr(0, 8000));
  EXPECT_EQ(first.kind, Kind::need_more);
  auto d = resolve(*source, big);
  ASSERT_EQ(d.kind, Kind::refuse);
  EXPECT_NE(d.reason.find("16384"), std::string::npos) << d.reason;
  auto reply = parse_reply(d.reply);
  EXPECT_EQ(reply.status, 400);
  EXPECT_TRUE(reply.well_formed) << d.reply;
}

TEST_F(HttpHeaderSource, HeadJustUnderTheLimitIsFine) {
  auto source = make("", {{"max_head_bytes", value(std::int64_t{1024})}});
  std::string head = "GET / HTTP/1.1\r\nX-Quictun-Token: t\r\nX-Filler: ";
  head += std::string(1024 - head.size() - 4, 'a') + "\r\n\r\n";
  ASSERT_EQ(head.size(), 1024u);
  EXPECT_EQ(resolve(*source, head + std::string(5000, 'b')).kind, Kind::token) << "the body does not count";
  EXPECT_EQ(resolve(*source, "GET / HTTP/1.1\r\nX-Filler: " + std::string(1100, 'a'), false, 2).kind, Kind::refuse);
}

TEST_F(HttpHeaderSource, MalformedRequestGets400) {
  auto source = make();
  for (std::string bad : {"GARBAGE\r\n\r\n", "GET / HTTP/1.1\r\nBad Header Name: x\r\n\r\n", "HTTP/1.1 200 OK\r\n\r\n",
                          "GET / HTTP/1.1\r\nX\x01Y: z\r\n\r\n", "GET /\r\n\r\n"}) {
    auto d = resolve(*source, bad);
    ASSERT_EQ(d.kind, Kind::refuse) << bad;
    auto reply = parse_reply(d.reply);
    EXPECT_EQ(reply.status, 400) << bad;
    EXPECT_TRUE(reply.well_formed) << d.reply;
    EXPECT_NE(d.reason.find("malformed"), std::string::npos) << d.reason;
  }
}

TEST_F(HttpHeaderSource, MissingHeaderGets400) {
  auto source = make();
  auto d = resolve(*source, "GET / HTTP/1.1\r\nHost: app\r\n\r\n");
  ASSERT_EQ(d.kind, Kind::refuse);
  EXPECT_NE(d.reason.find("missing X-Quictun-Token"), std::string::npos) << d.reason;
  auto reply = parse_reply(d.reply);
  EXPECT_EQ(reply.status, 400);
  EXPECT_TRUE(reply.well_formed);

  auto twice = resolve(*source, "GET / HTTP/1.1\r\nX-Quictun-Token: a\r\nX-Quictun-Token: b\r\n\r\n");
  EXPECT_EQ(parse_reply(twice.reply).status, 400) << "an ambiguous token is refused";
}

TEST_F(HttpHeaderSource, EndOfInputBeforeTheHeadEnds) {
  auto source = make();
  auto silent = resolve(*source, "", true, 1);
  EXPECT_EQ(silent.kind, Kind::refuse);
  EXPECT_TRUE(silent.reply.empty()) << "nobody is listening for a reply";
  auto cut = resolve(*source, "GET / HTTP/1.1\r\nHo", true, 2);
  EXPECT_EQ(parse_reply(cut.reply).status, 400);
}

TEST_F(HttpHeaderSource, SlowHeadTimesOutWith408) {
  auto source = make("", {{"read_timeout_ms", value(std::int64_t{100})}});
  EXPECT_EQ(resolve(*source, "GET / HTTP/1.1\r\n").kind, Kind::need_more);
  EXPECT_TRUE(host_.run_until([&] { return host_.logged("no complete request head after 100 ms"); }, 2000ms));
  auto d = resolve(*source, "GET / HTTP/1.1\r\nX-Quictun-Token: late\r\n\r\n");
  ASSERT_EQ(d.kind, Kind::refuse);
  auto reply = parse_reply(d.reply);
  EXPECT_EQ(reply.status, 408);
  EXPECT_TRUE(reply.well_formed);

  // A connection that finished in time is unaffected by its old timer.
  EXPECT_EQ(resolve(*source, "GET / HTTP/1.1\r\n", false, 2).kind, Kind::need_more);
  EXPECT_EQ(resolve(*source, "GET / HTTP/1.1\r\nX-Quictun-Token: quick\r\n\r\n", false, 2).token, "quick");
  host_.run_for(300ms);
  EXPECT_EQ(resolve(*source, "GET / HTTP/1.1\r\nX-Quictun-Token: again\r\n\r\n", false, 2).token, "again");
}

TEST_F(HttpHeaderSource, AbandonedConnectionsAreForgotten) {
  auto source = make("", {{"read_timeout_ms", value(std::int64_t{100})}});
  EXPECT_EQ(resolve(*source, "GET / HTTP/1.1\r\n", false, 7).kind, Kind::need_more);
  host_.run_for(350ms);  // two periods: the state is gone, a reused id starts afresh
  EXPECT_EQ(resolve(*source, "GET / HTTP/1.1\r\nX-Quictun-Token: fresh\r\n\r\n", false, 7).token, "fresh");
}

TEST_F(HttpHeaderSource, FailureRepliesSpeakHttp) {
  auto source = make();
  sdk::ConnectionInfo c;
  auto refused = parse_reply(source->failure_reply(c, sdk::TunnelFailure::token_refused));
  EXPECT_EQ(refused.status, 502);
  EXPECT_TRUE(refused.well_formed);
  auto unreachable = parse_reply(source->failure_reply(c, sdk::TunnelFailure::backend_unreachable));
  EXPECT_EQ(unreachable.status, 504);
  EXPECT_TRUE(unreachable.well_formed);
  EXPECT_EQ(parse_reply(source->failure_reply(c, sdk::TunnelFailure::server_unreachable)).status, 503);
  EXPECT_EQ(parse_reply(source->failure_reply(c, sdk::TunnelFailure::tunnel_broken)).status, 502);
}

TEST_F(HttpHeaderSource, ConfigurationErrors) {
  EXPECT_NE(plugin_.source_error("http-header", config("Bad Header"), host_).find("not a valid HTTP header name"),
            std::string::npos);
  auto strip = plugin_.source_error(
      "http-header", config("", {{"hosts", hosts({{"a", "t"}})}, {"strip_header", value(true)}}), host_);
  EXPECT_NE(strip.find("strip_header"), std::string::npos) << strip;
  sdk::ConfigTable bad_hosts;
  bad_hosts["a.example"] = value(std::int64_t{5});
  auto typed = plugin_.source_error("http-header", config("", {{"hosts", value(bad_hosts)}}), host_);
  EXPECT_NE(typed.find("hosts.\"a.example\" must be a string"), std::string::npos) << typed;
  auto limit = plugin_.source_error("http-header", config("", {{"max_head_bytes", value(std::int64_t{10})}}), host_);
  EXPECT_NE(limit.find("max_head_bytes"), std::string::npos) << limit;
  auto unknown = plugin_.source_error("http-header", config("", {{"timeout", value(std::int64_t{10})}}), host_);
  EXPECT_NE(unknown.find("'timeout' is not a setting"), std::string::npos) << unknown;
}

}  // namespace
}  // namespace quictun::test

// Token source "http", through quictun-token-http.so, against a real evhttp server on the same
// loop.
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <map>

#include "plugin_harness.hpp"

namespace quictun::test {
namespace {

// A token server with one behaviour per path; it counts what it is asked.
class TokenServer {
 public:
  explicit TokenServer(event_base* base) : http_(evhttp_new(base)) {
    evhttp_set_gencb(http_.get(), &TokenServer::handle, this);
    evhttp_bound_socket* bound = evhttp_bind_socket_with_handle(http_.get(), "127.0.0.1", 0);
    if (!bound) throw std::runtime_error("cannot bind the test token server");
    sockaddr_in address{};
    socklen_t length = sizeof address;
    getsockname(evhttp_bound_socket_get_fd(bound), reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
  }

  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port_) + path; }

  int hits = 0;
  std::vector<std::string> addrs;  // the `addr` query value of each request, decoded
  std::string last_query;          // the raw query of the last request
  std::map<std::string, std::string> tokens_by_addr_prefix;

 private:
  static void handle(evhttp_request* request, void* arg) {
    auto* self = static_cast<TokenServer*>(arg);
    ++self->hits;
    const evhttp_uri* uri = evhttp_request_get_evhttp_uri(request);
    std::string path = evhttp_uri_get_path(uri) ? evhttp_uri_get_path(uri) : "";
    const char* query = evhttp_uri_get_query(uri);
    self->last_query = query ? query : "";
    evkeyvalq params{};
    std::string addr = "<none>";
    if (query && evhttp_parse_query_str(query, &params) == 0) {
      if (const char* a = evhttp_find_header(&params, "addr")) addr = a;
    }
    evhttp_clear_headers(&params);
    self->addrs.push_back(addr);

    if (path == "/slow") return;  // never answered; freed with the server
    int status = 200;
    std::string body;
    if (path == "/token") body = R"({"token": "tok-)" + addr + R"("})";
    else if (path == "/counter") body = R"({"token": "n)" + std::to_string(self->hits) + R"("})";
    else if (path == "/upper") body = R"({"Token": "upper"})";
    else if (path == "/unavailable") status = 503, body = "{}";
    else if (path == "/notjson") body = "<html>hello</html>";
    else if (path == "/notoken") body = R"({"other": "x"})";
    else if (path == "/number") body = R"({"token": 42})";
    else if (path == "/empty") body = R"({"token": ""})";
    else if (path == "/long") body = R"({"token": ")" + std::string(513, 'x') + R"("})";
    else status = 404, body = "{}";
    evbuffer* out = evbuffer_new();
    evbuffer_add(out, body.data(), body.size());
    evhttp_add_header(evhttp_request_get_output_headers(request), "Content-Type", "application/json");
    evhttp_send_reply(request, status, status == 200 ? "OK" : "Nope", out);
    evbuffer_free(out);
  }

  sdk::EvhttpPtr http_;
  int port_ = 0;
};

sdk::ConnectionInfo client(std::string ip, int port, std::uint64_t id = 1) {
  sdk::ConnectionInfo c;
  c.id = id;
  c.listener = "tcp:127.0.0.1:6500";
  c.scheme = "tcp";
  c.peer_ip = ip;
  c.peer_address = (ip.find(':') == std::string::npos ? ip : "[" + ip + "]") + ":" + std::to_string(port);
  return c;
}

class HttpSource : public ::testing::Test {
 protected:
  std::unique_ptr<sdk::TokenSource> make(const std::string& path, sdk::ConfigTable table = {}) {
    return plugin_.source("http", config(server_.url(path), std::move(table)), host_);
  }

  // Resolves one connection and runs the loop until the answer comes.
  sdk::TokenDecision ask(sdk::TokenSource& source, const sdk::ConnectionInfo& who) {
    Outcome out;
    source.resolve(who, {}, false, out.callback());
    EXPECT_TRUE(host_.run_until([&] { return out.calls > 0; }, 5000ms)) << "no answer";
    EXPECT_EQ(out.calls, 1);
    return out.decision.value_or(sdk::TokenDecision::refused("no answer"));
  }

  TestHost host_;
  TokenServer server_{host_.loop()};
  LoadedPlugin plugin_{QUICTUN_TOKEN_HTTP_PLUGIN};
};

using Kind = sdk::TokenDecision::Kind;

TEST_F(HttpSource, ExportsItsMarker) {
  EXPECT_EQ(plugin_.abi(), sdk::abi_version);
  EXPECT_TRUE(plugin_.provides("token_source__http"));
}

TEST_F(HttpSource, GoodTokenForTheClientAddress) {
  auto source = make("/token");
  auto d = ask(*source, client("192.0.2.7", 51234));
  ASSERT_EQ(d.kind, Kind::token) << d.reason;
  EXPECT_EQ(d.token, "tok-192.0.2.7:51234");
  auto v6 = ask(*source, client("2001:db8::7", 443, 2));
  ASSERT_EQ(v6.kind, Kind::token) << v6.reason;
  EXPECT_EQ(v6.token, "tok-[2001:db8::7]:443");
  EXPECT_EQ(server_.last_query, "addr=%5B2001%3Adb8%3A%3A7%5D%3A443") << "the address is URL-encoded";
}

TEST_F(HttpSource, ExistingQueryIsKept) {
  auto source = make("/token?site=lab");
  auto d = ask(*source, client("192.0.2.7", 1));
  ASSERT_EQ(d.kind, Kind::token) << d.reason;
  EXPECT_EQ(server_.last_query, "site=lab&addr=192.0.2.7%3A1");
}

TEST_F(HttpSource, AnswerIsAsynchronous) {
  auto source = make("/token");
  Outcome out;
  source->resolve(client("192.0.2.7", 1), {}, false, out.callback());
  EXPECT_EQ(out.calls, 0) << "resolve() must not wait for the server";
  EXPECT_TRUE(host_.run_until([&] { return out.calls == 1; }));
}

TEST_F(HttpSource, CaseInsensitiveFieldLikeQuicTun) {
  auto d = ask(*make("/upper"), client("192.0.2.7", 1));
  ASSERT_EQ(d.kind, Kind::token) << d.reason;
  EXPECT_EQ(d.token, "upper");
}

TEST_F(HttpSource, StatusOtherThan200IsRefused) {
  auto d = ask(*make("/unavailable"), client("192.0.2.7", 1));
  ASSERT_EQ(d.kind, Kind::refuse);
  EXPECT_NE(d.reason.find("503"), std::string::npos) << d.reason;
  EXPECT_NE(d.reason.find(server_.url("/unavailable")), std::string::npos) << d.reason;
}

TEST_F(HttpSource, BadBodiesAreRefused) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"/notjson", "not JSON"}, {"/notoken", "no \"token\""}, {"/number", "not a string"},
      {"/empty", "empty"},      {"/long", "513 bytes"},
  };
  for (const auto& [path, says] : cases) {
    auto d = ask(*make(path), client("192.0.2.7", 1));
    ASSERT_EQ(d.kind, Kind::refuse) << path;
    EXPECT_NE(d.reason.find(says), std::string::npos) << path << " -> " << d.reason;
  }
}

TEST_F(HttpSource, SilentServerTimesOut) {
  auto source = make("/slow", {{"timeout_ms", value(std::int64_t{200})}});
  auto started = std::chrono::steady_clock::now();
  auto d = ask(*source, client("192.0.2.7", 1));
  auto took = std::chrono::steady_clock::now() - started;
  ASSERT_EQ(d.kind, Kind::refuse);
  EXPECT_NE(d.reason.find("no answer within 200 ms"), std::string::npos) << d.reason;
  EXPECT_GE(took, 180ms);
  EXPECT_LT(took, 2000ms);
  host_.run_for(300ms);  // a late event of the dead request must not answer twice
}

TEST_F(HttpSource, NobodyListeningIsRefused) {
  // A port that was just free: bind, read it, close.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  auto source = plugin_.source("http", config("http://127.0.0.1:" + std::to_string(ntohs(a.sin_port)) + "/token"), host_);
  auto d = ask(*source, client("192.0.2.7", 1));
  ASSERT_EQ(d.kind, Kind::refuse);
  EXPECT_NE(d.reason.find("token server"), std::string::npos) << d.reason;
}

TEST_F(HttpSource, WithoutCacheEveryConnectionAsks) {
  auto source = make("/counter");
  EXPECT_EQ(ask(*source, client("192.0.2.7", 1)).token, "n1");
  EXPECT_EQ(ask(*source, client("192.0.2.7", 2)).token, "n2");
}

TEST_F(HttpSource, CacheTtlPerClientAddress) {
  auto source = make("/counter", {{"cache_ttl_ms", value(std::int64_t{300})}});
  EXPECT_EQ(ask(*source, client("192.0.2.7", 1)).token, "n1");
  EXPECT_EQ(ask(*source, client("192.0.2.7", 2)).token, "n1") << "same address, other port: cached";
  EXPECT_EQ(ask(*source, client("192.0.2.8", 1)).token, "n2") << "other address: asked";
  EXPECT_EQ(server_.hits, 2);
  host_.run_for(400ms);
  EXPECT_EQ(ask(*source, client("192.0.2.7", 3)).token, "n3") << "expired";
}

TEST_F(HttpSource, ConcurrentConnectionsOfOneClientShareOneQuestion) {
  auto source = make("/counter", {{"cache_ttl_ms", value(std::int64_t{60000})}});
  Outcome first, second;
  source->resolve(client("192.0.2.7", 1), {}, false, first.callback());
  source->resolve(client("192.0.2.7", 2, 2), {}, false, second.callback());
  EXPECT_TRUE(host_.run_until([&] { return first.calls && second.calls; }));
  EXPECT_EQ(first.decision->token, "n1");
  EXPECT_EQ(second.decision->token, "n1");
  EXPECT_EQ(server_.hits, 1);
}

TEST_F(HttpSource, FailuresAreNotCached) {
  auto source = make("/unavailable", {{"cache_ttl_ms", value(std::int64_t{60000})}});
  EXPECT_EQ(ask(*source, client("192.0.2.7", 1)).kind, Kind::refuse);
  EXPECT_EQ(ask(*source, client("192.0.2.7", 2)).kind, Kind::refuse);
  EXPECT_EQ(server_.hits, 2);
}

TEST_F(HttpSource, DestroyedWhileWaitingIsQuiet) {
  auto source = make("/slow");
  Outcome out;
  source->resolve(client("192.0.2.7", 1), {}, false, out.callback());
  EXPECT_TRUE(host_.run_until([&] { return server_.hits == 1; }));
  source.reset();
  host_.run_for(50ms);
  EXPECT_EQ(out.calls, 0);
}

TEST_F(HttpSource, ConfigurationErrors) {
  auto https = plugin_.source_error("http", config("https://tokens.example/"), host_);
  EXPECT_NE(https.find("only http://"), std::string::npos) << https;
  auto none = plugin_.source_error("http", config(""), host_);
  EXPECT_NE(none.find("--token-source URL"), std::string::npos) << none;
  auto garbage = plugin_.source_error("http", config("not a url"), host_);
  EXPECT_NE(garbage.find("not a valid URL"), std::string::npos) << garbage;
  auto timeout = plugin_.source_error("http", config(server_.url("/token"), {{"timeout_ms", value(std::int64_t{0})}}), host_);
  EXPECT_NE(timeout.find("timeout_ms"), std::string::npos) << timeout;
}

TEST_F(HttpSource, HostNamesAreResolvedWithoutBlocking) {
  // localhost comes from /etc/hosts through evdns, not from a blocking getaddrinfo().
  auto source = plugin_.source("http", config(server_.url("/token").replace(7, 9, "localhost")), host_);
  auto d = ask(*source, client("192.0.2.7", 1));
  ASSERT_EQ(d.kind, Kind::token) << d.reason;
}

}  // namespace
}  // namespace quictun::test

// classifier-http on the request curl really sends (data/) and on request heads built from
// RFC 9112.
#include "classifier_harness.hpp"
#include "damage.hpp"

namespace quictun::testing {
namespace {

TEST(HttpClassifier, CurlRequestGivesMethodHostPathAndVersion) {
  LoadedClassifier http("http");
  auto v = http.classify(fixture("http_request.bin"));
  ASSERT_EQ(v.kind, Kind::mine);
  EXPECT_EQ(v.protocol, "http");
  EXPECT_EQ(property(v, "method"), "GET");
  EXPECT_EQ(property(v, "host"), "www.example.test");
  EXPECT_EQ(property(v, "path"), "/some/path");
  EXPECT_EQ(property(v, "version"), "1.1");
}

TEST(HttpClassifier, EveryPrefixWaitsOrIsHttpSoFar) {
  LoadedClassifier http("http");
  const std::string request = fixture("http_request.bin");
  const std::size_t line_end = request.find("\r\n") + 2;
  for (std::size_t n = 0; n < request.size(); ++n) {
    auto v = http.classify(request.substr(0, n));
    // The request line is known once the first header name starts.
    EXPECT_EQ(v.kind, n <= line_end ? Kind::need_more : Kind::mine_so_far) << n;
  }
}

TEST(HttpClassifier, BodyAndPipelinedRequestsAreNotRead) {
  LoadedClassifier http("http");
  auto v = http.classify("POST /upload HTTP/1.0\r\nContent-Length: 5\r\nhost:  up.example \r\n\r\n\x01\x02\x03\x04\x05GARBAGE");
  ASSERT_EQ(v.kind, Kind::mine);
  EXPECT_EQ(property(v, "method"), "POST");
  EXPECT_EQ(property(v, "host"), "up.example");
  EXPECT_EQ(property(v, "version"), "1.0");
}

TEST(HttpClassifier, ProxyRequestsNameTheirHostInTheTarget) {
  LoadedClassifier http("http");
  auto v = http.classify("GET http://origin.example:8080/a/b?c=d HTTP/1.1\r\n\r\n");
  ASSERT_EQ(v.kind, Kind::mine);
  EXPECT_EQ(property(v, "host"), "origin.example");
  EXPECT_EQ(property(v, "path"), "/a/b");
  auto c = http.classify("CONNECT db.example:5432 HTTP/1.1\r\nHost: db.example:5432\r\n\r\n");
  ASSERT_EQ(c.kind, Kind::mine);
  EXPECT_EQ(property(c, "method"), "CONNECT");
  EXPECT_EQ(property(c, "host"), "db.example:5432");
}

TEST(HttpClassifier, OtherProtocolsAreNotMine) {
  LoadedClassifier http("http");
  EXPECT_EQ(http.classify(fixture("tls_client_hello.bin")).kind, Kind::not_mine);
  EXPECT_EQ(http.classify(fixture("ssh_client_hello.bin")).kind, Kind::not_mine);
  EXPECT_EQ(http.classify("HTTP/1.1 200 OK\r\n\r\n").kind, Kind::not_mine);  // a response from the client
  EXPECT_EQ(http.classify("GET / HTTP/1.1\r\nBad Header\r\n\r\n").kind, Kind::not_mine);
  EXPECT_EQ(http.classify({}, "220 smtp.example ESMTP\r\n").kind, Kind::need_more);  // the server's bytes decide nothing
  EXPECT_EQ(http.classify({}, "220 smtp.example ESMTP\r\n", true).kind, Kind::not_mine);  // a silent client does
  EXPECT_EQ(http.classify("GET / HT", {}, true).kind, Kind::not_mine);              // cut off for good
}

TEST(HttpClassifier, AHeadLongerThanTheBudgetIsHttpWithoutHost) {
  LoadedClassifier http("http");
  std::string head = "GET /big HTTP/1.1\r\nX-Filler: " + std::string(5000, 'f') + "\r\nHost: late.example\r\n\r\n";
  auto v = http.classify(std::string_view(head).substr(0, 4096), {}, true);
  ASSERT_EQ(v.kind, Kind::mine_so_far);
  EXPECT_EQ(property(v, "path"), "/big");
  EXPECT_FALSE(property(v, "host"));
}

TEST(HttpClassifier, DamagedRequestsAreReadSafely) {
  LoadedClassifier http("http");
  classify_every_damaged_copy(http, fixture("http_request.bin"), "HTTP/1.1 200 OK\r\n\r\n", "http");
}

}  // namespace
}  // namespace quictun::testing

// classifier-tls on the ClientHello gnutls-cli really sends (data/) and on hellos built from
// RFC 8446, whole, cut short, split over records and damaged.
#include <cstdint>

#include "classifier_harness.hpp"
#include "damage.hpp"

namespace quictun::testing {
namespace {

void be16(std::string& out, std::size_t v) {
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v));
}

std::string vector16(const std::string& body) {
  std::string out;
  be16(out, body.size());
  return out + body;
}

std::string extension(std::uint16_t type, const std::string& body) {
  std::string out;
  be16(out, type);
  return out + vector16(body);
}

// A ClientHello handshake message (no record header) with SNI, ALPN and supported_versions,
// then `padding` bytes of the padding extension.
std::string hello_message(const std::string& sni, std::size_t padding = 0) {
  std::string body = "\x03\x03";
  body.append(32, '\x11');                     // random
  body += std::string("\x00", 1);              // no session id
  body += vector16(std::string("\x13\x01", 2));  // one cipher suite
  body += std::string("\x01\x00", 2);          // compression: null
  std::string name = std::string("\x00", 1) + vector16(sni);
  std::string alpn;
  for (std::string p : {"h2", "http/1.1"}) alpn += static_cast<char>(p.size()) + p;
  std::string exts = extension(0, vector16(name)) + extension(16, vector16(alpn)) +
                     extension(43, std::string("\x04\x0a\x0a\x03\x04", 5));  // GREASE, then TLS 1.3
  if (padding) exts += extension(21, std::string(padding, '\0'));
  body += vector16(exts);
  std::string out = "\x01";
  out.push_back(static_cast<char>(body.size() >> 16));
  be16(out, body.size() & 0xffff);
  return out + body;
}

// `message` in TLS records of at most `fragment` bytes each.
std::string records(const std::string& message, std::size_t fragment = 16384) {
  std::string out;
  for (std::size_t at = 0; at < message.size(); at += fragment) {
    std::string part = message.substr(at, fragment);
    out += "\x16\x03\x01";
    be16(out, part.size());
    out += part;
  }
  return out;
}

TEST(TlsClassifier, GnutlsClientHelloGivesSniAlpnAndVersion) {
  LoadedClassifier tls("tls");
  auto v = tls.classify(fixture("tls_client_hello.bin"));
  ASSERT_EQ(v.kind, Kind::mine);
  EXPECT_EQ(v.protocol, "tls");
  EXPECT_EQ(property(v, "sni"), "backend.example.test");
  EXPECT_EQ(property(v, "alpn"), "h2,http/1.1");
  EXPECT_EQ(property(v, "version"), "1.3");
}

TEST(TlsClassifier, HelloSplitOverRecordsReadsTheSame) {
  LoadedClassifier tls("tls");
  const std::string hello = fixture("tls_client_hello.bin");
  const std::string message = hello.substr(5);
  for (std::size_t fragment : {1, 7, 100, 300}) {
    auto v = tls.classify(records(message, fragment));
    ASSERT_EQ(v.kind, Kind::mine) << fragment;
    EXPECT_EQ(property(v, "sni"), "backend.example.test") << fragment;
    EXPECT_EQ(property(v, "alpn"), "h2,http/1.1") << fragment;
  }
}

TEST(TlsClassifier, EveryCutOfARealHelloIsTlsSoFarOrWaits) {
  LoadedClassifier tls("tls");
  const std::string hello = fixture("tls_client_hello.bin");
  for (std::size_t n = 0; n < hello.size(); ++n) {
    auto v = tls.classify(hello.substr(0, n));
    if (n < 6) {
      EXPECT_EQ(v.kind, Kind::need_more) << n;
    } else {
      EXPECT_EQ(v.kind, Kind::mine_so_far) << n;
      // A name is shown only once all of it arrived.
      auto sni = property(v, "sni");
      if (sni) {
        EXPECT_EQ(*sni, "backend.example.test") << n;
      }
    }
  }
}

TEST(TlsClassifier, HelloLongerThanTheBudgetStillNamesItsServer) {
  LoadedClassifier tls("tls");
  ASSERT_EQ(tls.classifier().budget(), 4096u);
  const std::string big = records(hello_message("big.example.test", 6000));
  auto v = tls.classify(std::string_view(big).substr(0, 4096), {}, true);
  ASSERT_EQ(v.kind, Kind::mine_so_far);
  EXPECT_EQ(property(v, "sni"), "big.example.test");
  EXPECT_EQ(tls.classify(big).kind, Kind::mine);
}

TEST(TlsClassifier, LengthsThatOverrunTheirStructureAreNotMine) {
  LoadedClassifier tls("tls");
  const std::string good = records(hello_message("a.example"));
  ASSERT_EQ(tls.classify(good).kind, Kind::mine);
  const std::size_t sni_list = good.find("a.example") - 5;  // server_name_list length
  std::string bad = good;
  bad[sni_list] = '\x7f';  // the list claims far more than its extension holds
  EXPECT_EQ(tls.classify(bad).kind, Kind::not_mine);
  bad = good;
  bad[sni_list + 4] = '\x40';  // the host name claims more than the list holds
  EXPECT_EQ(tls.classify(bad).kind, Kind::not_mine);
  bad = good;
  bad[5 + 1] = '\x00';  // the handshake length shrinks below its contents
  bad[5 + 2] = '\x00';
  bad[5 + 3] = '\x10';
  EXPECT_EQ(tls.classify(bad).kind, Kind::not_mine);
  bad = good;
  bad[5] = '\x02';  // a ServerHello from the client
  EXPECT_EQ(tls.classify(bad).kind, Kind::not_mine);
  bad = good;
  bad[3] = bad[4] = '\0';  // an empty record
  EXPECT_EQ(tls.classify(bad).kind, Kind::not_mine);
}

TEST(TlsClassifier, NoByteChangeMakesItReadOutOfBounds) {
  // Run under ASan (-DQUICTUN_SANITIZE=ON) this is the check; otherwise it checks the answers stay sane.
  LoadedClassifier tls("tls");
  const std::string hello = fixture("tls_client_hello.bin");
  for (std::size_t i = 0; i < hello.size(); ++i)
    for (unsigned char value : {0x00, 0x01, 0x7f, 0x80, 0xff}) {
      std::string damaged = hello;
      damaged[i] = static_cast<char>(value);
      for (std::size_t cut : {damaged.size(), i + 1}) {
        auto v = tls.classify(std::string_view(damaged).substr(0, cut));
        if (v.kind == Kind::mine || v.kind == Kind::mine_so_far) {
          EXPECT_EQ(v.protocol, "tls");
        }
        for (const auto& p : v.properties) EXPECT_LE(p.value.size(), hello.size());
      }
    }
}

TEST(TlsClassifier, OtherProtocolsAreNotMine) {
  LoadedClassifier tls("tls");
  EXPECT_EQ(tls.classify(fixture("http_request.bin")).kind, Kind::not_mine);
  EXPECT_EQ(tls.classify(fixture("ssh_client_hello.bin")).kind, Kind::not_mine);
  EXPECT_EQ(tls.classify("\x16\x02").kind, Kind::not_mine);
  EXPECT_EQ(tls.classify("\x16\x03\x09").kind, Kind::not_mine);
  EXPECT_EQ(tls.classify({}, "SSH-2.0-x\r\n").kind, Kind::need_more);  // the server's bytes decide nothing
  EXPECT_EQ(tls.classify({}, "SSH-2.0-x\r\n", true).kind, Kind::not_mine);  // a silent client does
  EXPECT_EQ(tls.classify("\x16\x03", {}, true).kind, Kind::not_mine);  // and then nothing
}

TEST(TlsClassifier, DamagedHellosAreReadSafelyWithTheServersBytesToo) {
  LoadedClassifier tls("tls");
  classify_every_damaged_copy(tls, fixture("tls_client_hello.bin"), "\x16\x03\x03\x00\x02\x02\x00", "tls");
}

}  // namespace
}  // namespace quictun::testing

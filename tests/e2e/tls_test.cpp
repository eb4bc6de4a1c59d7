// TLS: the client verifies the server by default; mTLS with --verify-remote-endpoint.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>

#include "harness.hpp"

using namespace quictun::test;

namespace {

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
}

// A CA, a server certificate for localhost/127.0.0.1 and a client certificate, via certtool.
struct Pki {
  explicit Pki(const TempDir& d) : dir(d) {
    write_file(d.file("ca.tmpl"), "cn = \"quictun test CA\"\nca\ncert_signing_key\nexpiration_days = 30\n");
    write_file(d.file("server.tmpl"),
               "cn = \"localhost\"\ndns_name = \"localhost\"\nip_address = \"127.0.0.1\"\ntls_www_server\n"
               "signing_key\nexpiration_days = 30\n");
    write_file(d.file("client.tmpl"), "cn = \"client-one\"\ntls_www_client\nsigning_key\nexpiration_days = 30\n");
    gen({"certtool", "--generate-privkey", "--key-type=ecdsa", "--outfile", d.file("ca.key")});
    gen({"certtool", "--generate-self-signed", "--load-privkey", d.file("ca.key"), "--template", d.file("ca.tmpl"),
         "--outfile", d.file("ca.pem")});
    for (const char* who : {"server", "client"}) {
      std::string w = who;
      gen({"certtool", "--generate-privkey", "--key-type=ecdsa", "--outfile", d.file(w + ".key")});
      gen({"certtool", "--generate-certificate", "--load-privkey", d.file(w + ".key"), "--load-ca-certificate",
           d.file("ca.pem"), "--load-ca-privkey", d.file("ca.key"), "--template", d.file(w + ".tmpl"), "--outfile",
           d.file(w + ".pem")});
    }
    // A second, unrelated CA.
    write_file(d.file("other.tmpl"), "cn = \"other CA\"\nca\ncert_signing_key\nexpiration_days = 30\n");
    gen({"certtool", "--generate-privkey", "--key-type=ecdsa", "--outfile", d.file("other.key")});
    gen({"certtool", "--generate-self-signed", "--load-privkey", d.file("other.key"), "--template",
         d.file("other.tmpl"), "--outfile", d.file("other.pem")});
  }
  void gen(std::vector<std::string> argv) {
    argv[0] = "/usr/bin/certtool";
    auto [code, out] = run(argv);
    if (code != 0) throw std::runtime_error("certtool failed: " + out);
  }
  const TempDir& dir;
};

std::string roundtrip(const Tunnel& t, const std::string& data) {
  return send_and_read(t.connect(), data, 20s);
}

}  // namespace

TEST(Tls, ClientVerifiesServerByDefault) {
  TempDir dir;
  int backend_port = free_tcp_port();
  Backend backend(listen_tcp(backend_port), echo_handler);
  // Generated self-signed server certificate, client with no trust for it.
  Tunnel tunnel(dir, {{},
                      {"--token-source", "tcp:127.0.0.1:" + std::to_string(backend_port), "--insecure-skip-verify=false",
                       "--connect-timeout-ms", "3000"},
                      {}});
  EXPECT_EQ(roundtrip(tunnel, "secret"), "");
  EXPECT_TRUE(tunnel.client().wait_for_log("certificate verification failed", 5s)) << tunnel.client().log();
  EXPECT_EQ(backend.accepted(), 0);
}

TEST(Tls, CaFileVerifiesTheServer) {
  TempDir dir;
  Pki pki(dir);
  int backend_port = free_tcp_port();
  Backend backend(listen_tcp(backend_port), echo_handler);
  Tunnel tunnel(dir, {{"--cert-file", dir.file("server.pem"), "--key-file", dir.file("server.key")},
                      {"--token-source", "tcp:127.0.0.1:" + std::to_string(backend_port), "--ca-file", dir.file("ca.pem")},
                      {}});
  EXPECT_EQ(roundtrip(tunnel, "verified"), "verified") << tunnel.client().log();
}

TEST(Tls, WrongCaIsRefused) {
  TempDir dir;
  Pki pki(dir);
  int backend_port = free_tcp_port();
  Backend backend(listen_tcp(backend_port), echo_handler);
  Tunnel tunnel(dir, {{"--cert-file", dir.file("server.pem"), "--key-file", dir.file("server.key")},
                      {"--token-source", "tcp:127.0.0.1:" + std::to_string(backend_port), "--ca-file",
                       dir.file("other.pem"), "--connect-timeout-ms", "3000"},
                      {}});
  EXPECT_EQ(roundtrip(tunnel, "x"), "");
  EXPECT_TRUE(tunnel.client().wait_for_log("certificate verification failed", 5s)) << tunnel.client().log();
}

TEST(Tls, MutualTlsRequiresAClientCertificate) {
  TempDir dir;
  Pki pki(dir);
  int backend_port = free_tcp_port();
  Backend backend(listen_tcp(backend_port), echo_handler);
  std::vector<std::string> server = {"--cert-file", dir.file("server.pem"), "--key-file", dir.file("server.key"),
                                     "--ca-file", dir.file("ca.pem"), "--verify-remote-endpoint"};
  {
    Tunnel without(dir, {server,
                         {"--token-source", "tcp:127.0.0.1:" + std::to_string(backend_port), "--ca-file",
                          dir.file("ca.pem"), "--connect-timeout-ms", "3000"},
                         {}});
    EXPECT_EQ(roundtrip(without, "x"), "");
    EXPECT_EQ(backend.accepted(), 0);
  }
  Tunnel with(dir, {server,
                    {"--token-source", "tcp:127.0.0.1:" + std::to_string(backend_port), "--ca-file", dir.file("ca.pem"),
                     "--cert-file", dir.file("client.pem"), "--key-file", dir.file("client.key")},
                    {}});
  int fd = with.connect();
  ASSERT_GE(fd, 0) << with.client().log();
  write_all(fd, "mutual", 6);
  shutdown(fd, SHUT_WR);
  EXPECT_EQ(read_all(fd, 20s), "mutual") << with.client().log() << with.server().log();
  close(fd);
  EXPECT_TRUE(with.server().wait_for_log("client-one", 2s)) << with.server().log();
}

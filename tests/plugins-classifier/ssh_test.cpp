// classifier-ssh on the identification line OpenSSH's client really sends (data/) and server
// lines built from RFC 4253.
#include "classifier_harness.hpp"
#include "damage.hpp"

namespace quictun::testing {
namespace {

const std::string kServer = "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n";

TEST(SshClassifier, BothBannersGiveVersionSoftwareAndComments) {
  LoadedClassifier ssh("ssh");
  const std::string client = fixture("ssh_client_hello.bin");
  auto v = ssh.classify(client, kServer);
  ASSERT_EQ(v.kind, Kind::mine);
  EXPECT_EQ(v.protocol, "ssh");
  EXPECT_EQ(property(v, "protoVersion"), "2.0");
  EXPECT_EQ(property(v, "clientSoftware"), "OpenSSH_9.2p1");
  EXPECT_EQ(property(v, "clientComments"), client.substr(22, client.size() - 24));  // "Debian-..." without CR LF
  EXPECT_EQ(property(v, "serverSoftware"), "OpenSSH_9.2p1");
  EXPECT_EQ(property(v, "serverComments"), "Debian-2+deb12u3");
}

TEST(SshClassifier, OneBannerIsEnoughToNameItButMoreIsAskedFor) {
  LoadedClassifier ssh("ssh");
  auto server_only = ssh.classify({}, kServer);  // the server speaks first
  ASSERT_EQ(server_only.kind, Kind::mine_so_far);
  EXPECT_EQ(property(server_only, "serverSoftware"), "OpenSSH_9.2p1");
  auto client_only = ssh.classify(fixture("ssh_client_hello.bin"));
  ASSERT_EQ(client_only.kind, Kind::mine_so_far);
  // The server will say nothing more: what the client said is the answer.
  EXPECT_EQ(ssh.classify(fixture("ssh_client_hello.bin"), {}, false, true).kind, Kind::mine);
}

TEST(SshClassifier, ServerMaySendOtherLinesFirst) {
  LoadedClassifier ssh("ssh");
  auto v = ssh.classify("SSH-2.0-PuTTY_Release_0.78\r\n", "Welcome to the jump host\r\nno comments here\r\n" + kServer);
  ASSERT_EQ(v.kind, Kind::mine);
  EXPECT_EQ(property(v, "serverSoftware"), "OpenSSH_9.2p1");
  EXPECT_EQ(property(v, "clientSoftware"), "PuTTY_Release_0.78");
  EXPECT_FALSE(property(v, "clientComments"));
}

TEST(SshClassifier, EveryPrefixOfARealBannerWaits) {
  LoadedClassifier ssh("ssh");
  const std::string client = fixture("ssh_client_hello.bin");
  for (std::size_t n = 0; n + 1 < client.size(); ++n)
    EXPECT_EQ(ssh.classify(client.substr(0, n)).kind, Kind::need_more) << n;
}

TEST(SshClassifier, OtherProtocolsAreNotMine) {
  LoadedClassifier ssh("ssh");
  EXPECT_EQ(ssh.classify(fixture("http_request.bin")).kind, Kind::not_mine);
  EXPECT_EQ(ssh.classify(fixture("tls_client_hello.bin")).kind, Kind::not_mine);
  EXPECT_EQ(ssh.classify("S").kind, Kind::need_more);
  EXPECT_EQ(ssh.classify("SX").kind, Kind::not_mine);
  EXPECT_EQ(ssh.classify("SSH-\r\n").kind, Kind::not_mine);           // no version
  EXPECT_EQ(ssh.classify("SSH-2.0-\r\n").kind, Kind::not_mine);       // no software
  EXPECT_EQ(ssh.classify("SSH-2.0-a\x01\r\n").kind, Kind::not_mine);  // a control byte
  // A client that is not SSH, even when the server is.
  EXPECT_EQ(ssh.classify("hello\r\n", kServer).kind, Kind::not_mine);
}

TEST(SshClassifier, LinesPastTheirLimitOrCutOffAreNotMine) {
  LoadedClassifier ssh("ssh");
  EXPECT_EQ(ssh.classify("SSH-2.0-" + std::string(300, 'a')).kind, Kind::not_mine);
  EXPECT_EQ(ssh.classify("SSH-2.0-" + std::string(300, 'a') + "\r\n").kind, Kind::not_mine);
  // The budget or the connection ended in the middle of the line.
  EXPECT_EQ(ssh.classify("SSH-2.0-Open", {}, true, true).kind, Kind::not_mine);
  EXPECT_EQ(ssh.classify({}, std::string(4096, 'x'), false, true).kind, Kind::not_mine);
}

TEST(SshClassifier, RefusesSettings) {
  EXPECT_NE(LoadedClassifier::create_error("ssh", config_with_key("x")), "");
}

TEST(SshClassifier, DamagedBannersAreReadSafely) {
  LoadedClassifier ssh("ssh");
  classify_every_damaged_copy(ssh, fixture("ssh_client_hello.bin"), kServer, "ssh");
}

}  // namespace
}  // namespace quictun::testing

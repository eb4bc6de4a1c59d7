// classifier-spice on link messages built from the SPICE protocol's structures.
#include "classifier_harness.hpp"
#include "damage.hpp"
#include "spice_bytes.hpp"

namespace quictun::testing {
namespace {

TEST(SpiceClassifier, DisplayChannelGivesVersionSessionAndChannel) {
  LoadedClassifier spice("spice");
  auto v = spice.classify(client_link(2, 0xdeadbeef, 1));
  ASSERT_EQ(v.kind, Kind::mine);
  EXPECT_EQ(v.protocol, "spice");
  EXPECT_EQ(property(v, "version"), "2.2");
  EXPECT_EQ(property(v, "sessionId"), "efbeadde");  // the bytes as sent, as quic-tun shows them
  EXPECT_EQ(property(v, "channelType"), "display");
  EXPECT_EQ(property(v, "channelId"), "1");
}

TEST(SpiceClassifier, EveryChannelTypeHasItsName) {
  LoadedClassifier spice("spice");
  const char* names[] = {"main", "display", "inputs", "cursor", "playback", "record",
                         "tunnel", "smartcard", "usbredir", "port", "webdav"};
  for (int t = 2; t <= 11; ++t) EXPECT_EQ(property(spice.classify(client_link(t, 1)), "channelType"), names[t - 1]);
  EXPECT_EQ(property(spice.classify(client_link(200, 1)), "channelType"), "unknown");
}

TEST(SpiceClassifier, ShortLinkNeedsMoreUntilTheClientIsDone) {
  LoadedClassifier spice("spice");
  std::string link = client_link(3, 7);
  for (std::size_t n = 0; n < 22; ++n) {
    EXPECT_EQ(spice.classify(link.substr(0, n)).kind, Kind::need_more) << n;
    EXPECT_EQ(spice.classify(link.substr(0, n), {}, true).kind, Kind::not_mine) << n;
  }
  EXPECT_EQ(spice.classify(link.substr(0, 22)).kind, Kind::mine);
}

TEST(SpiceClassifier, AnythingWithoutTheMagicIsNotMine) {
  LoadedClassifier spice("spice");
  EXPECT_EQ(spice.classify("X").kind, Kind::not_mine);
  EXPECT_EQ(spice.classify("REDX").kind, Kind::not_mine);
  EXPECT_EQ(spice.classify(fixture("ssh_client_hello.bin")).kind, Kind::not_mine);
  EXPECT_EQ(spice.classify(fixture("tls_client_hello.bin")).kind, Kind::not_mine);
  // A server speaking first does not decide it (the two directions' order is not kept)...
  EXPECT_EQ(spice.classify({}, "SSH-2.0-x\r\n").kind, Kind::need_more);
  // ...a client that never speaks does.
  EXPECT_EQ(spice.classify({}, "SSH-2.0-x\r\n", true).kind, Kind::not_mine);
}

TEST(SpiceClassifier, MainChannelReadsTheServersSessionNameAndUuid) {
  LoadedClassifier spice("spice");
  std::string client = client_link(1, 0);
  auto early = spice.classify(client);
  ASSERT_EQ(early.kind, Kind::mine_so_far);
  EXPECT_EQ(property(early, "channelType"), "main");
  auto v = spice.classify(client, server_main());
  ASSERT_EQ(v.kind, Kind::mine);
  EXPECT_EQ(property(v, "sessionId"), "12345678");
  EXPECT_EQ(property(v, "serverName"), "vm-0042");
  EXPECT_EQ(property(v, "serverUUID"), "01234567-89ab-cdef-0123-456789abcdef");
}

TEST(SpiceClassifier, EveryCutOfTheServersBytesIsSafe) {
  LoadedClassifier spice("spice");
  std::string client = client_link(1, 0), server = server_main();
  for (std::size_t n = 0; n < server.size(); ++n) {
    auto v = spice.classify(client, server.substr(0, n));
    EXPECT_EQ(v.kind, Kind::mine_so_far) << n;
    EXPECT_EQ(v.protocol, "spice");
  }
}

TEST(SpiceClassifier, HugeLengthsFromTheServerAreNotTrusted) {
  LoadedClassifier spice("spice");
  std::string client = client_link(1, 0), server = server_main();
  std::string lying = server;
  lying[12] = lying[13] = lying[14] = lying[15] = '\xff';  // SpiceLinkHeader.size: 4 GiB
  EXPECT_EQ(spice.classify(client, lying).kind, Kind::mine_so_far);
  std::string name_len = server;
  // NAME's own length field, far beyond its message: only the message's bytes are read.
  std::size_t name_at = server.find("vm-0042") - 4;
  name_len[name_at + 3] = '\x7f';
  auto v = spice.classify(client, name_len);
  ASSERT_EQ(v.kind, Kind::mine);
  EXPECT_EQ(property(v, "serverName"), std::string("vm-0042"));
}

TEST(SpiceClassifier, RefusedLinkIsReported) {
  LoadedClassifier spice("spice");
  auto v = spice.classify(client_link(1, 0), server_main(7));
  ASSERT_EQ(v.kind, Kind::mine);
  EXPECT_EQ(property(v, "linkError"), "7");
}

TEST(SpiceClassifier, RefusesSettings) {
  EXPECT_EQ(LoadedClassifier::create_error("spice", config_with_key("budget")),
            "quictun.toml:9: 'budget' unknown key (spice has no settings)");
}

TEST(SpiceClassifier, DamagedLinksAreReadSafely) {
  LoadedClassifier spice("spice");
  classify_every_damaged_copy(spice, client_link(1, 0), server_main(), "spice");
}

}  // namespace
}  // namespace quictun::testing

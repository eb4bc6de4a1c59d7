#include <gtest/gtest.h>

#include "util/address.hpp"
#include "util/error.hpp"

using namespace quictun;

TEST(Address, SplitsHostAndPort) {
  auto hp = split_host_port("127.0.0.1:7500", "--listen-on");
  EXPECT_EQ(hp.host, "127.0.0.1");
  EXPECT_EQ(hp.port, "7500");
  auto v6 = split_host_port("[::1]:443", "--listen-on");
  EXPECT_EQ(v6.host, "::1");
  EXPECT_EQ(split_host_port(":7500", "x").host, "0.0.0.0");
}

TEST(Address, MalformedAddressesNameTheFlag) {
  for (const char* bad : {"127.0.0.1", "127.0.0.1:", "host:port", "[::1:80", "h:70000"}) {
    try {
      split_host_port(bad, "--server-endpoint");
      ADD_FAILURE() << bad;
    } catch (const UsageError& e) {
      EXPECT_EQ(std::string(e.what()).rfind("--server-endpoint: \"", 0), 0u) << e.what();
    }
  }
}

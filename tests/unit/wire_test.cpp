// The per-stream handshake of quic-tun v0.0.5, byte for byte.
#include <gtest/gtest.h>

#include "tunnel/wire.hpp"

using namespace quictun::tunnel::wire;

TEST(Wire, TokenIsPaddedToExactly512BytesWithNul) {
  auto bytes = encode_token("tcp:10.0.0.5:22");
  ASSERT_EQ(bytes.size(), 512u);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(bytes.data()), 15), "tcp:10.0.0.5:22");
  for (std::size_t i = 15; i < 512; ++i) ASSERT_EQ(bytes[i], 0) << i;
}

TEST(Wire, DecodingRemovesEveryNulByteAsTheReferenceDoes) {
  std::uint8_t raw[512] = {};
  const char* parts[] = {"unix:", "/run/", "app.sock"};
  std::size_t pos = 0;
  for (const char* p : parts) {
    for (const char* c = p; *c; ++c) raw[pos++] = static_cast<std::uint8_t>(*c);
    pos += 3;  // NULs in between vanish too
  }
  EXPECT_EQ(decode_token(raw), "unix:/run/app.sock");
}

TEST(Wire, A512ByteTokenFitsAndALongerOneIsRefused) {
  EXPECT_FALSE(token_problem(std::string(512, 'a')).has_value());
  auto problem = token_problem(std::string(513, 'a'));
  ASSERT_TRUE(problem.has_value());
  EXPECT_NE(problem->find("513 bytes"), std::string::npos);
  EXPECT_TRUE(token_problem("").has_value());
  EXPECT_TRUE(token_problem(std::string("a\0b", 3)).has_value());
}

TEST(Wire, StatusBytesAreTheReferenceValues) {
  EXPECT_EQ(static_cast<int>(Status::ok), 0x01);
  EXPECT_EQ(static_cast<int>(Status::bad_token), 0x02);
  EXPECT_EQ(static_cast<int>(Status::backend_unreachable), 0x03);
  EXPECT_EQ(status_text(0x02), "token refused (0x02)");
  EXPECT_EQ(status_text(0x7f), "unknown status 0x7f");
}

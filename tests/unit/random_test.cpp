// util/random: every byte the host draws from GnuTLS is checked.
#include "util/random.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>

namespace quictun {
namespace {

TEST(Random, FillsTheWholeBuffer) {
  // 64 zero bytes from a working generator: odds of 2^-512. An unfilled tail would stay zero.
  std::array<std::uint8_t, 64> a{}, b{};
  random_bytes(a, GNUTLS_RND_KEY);
  random_bytes(b, GNUTLS_RND_NONCE);
  EXPECT_FALSE(std::all_of(a.begin(), a.end(), [](std::uint8_t x) { return x == 0; }));
  EXPECT_FALSE(std::all_of(a.begin() + 48, a.end(), [](std::uint8_t x) { return x == 0; }));
  EXPECT_NE(a, b);
}

TEST(Random, EmptyBufferIsFine) { EXPECT_NO_THROW(random_bytes(std::span<std::uint8_t>{})); }

TEST(Random, FailureIsAnErrorNamingGnutlsReason) {
  // GnuTLS refuses a level it does not know: the one failure a test can cause at will.
  std::array<std::uint8_t, 8> out{};
  try {
    random_bytes(out, static_cast<gnutls_rnd_level_t>(99));
    FAIL() << "random_bytes returned without randomness";
  } catch (const RuntimeError& e) {
    EXPECT_EQ(std::string(e.what()), std::string("no randomness available: ") + gnutls_strerror(GNUTLS_E_RANDOM_FAILED));
  }
}

}  // namespace
}  // namespace quictun

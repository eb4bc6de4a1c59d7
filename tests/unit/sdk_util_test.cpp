// The SDK's helpers header (what plugins rely on instead of writing their own), and the
// toolchain tag the host checks with the ABI number.
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <quictun/sdk/util.hpp>
#include <quictun/sdk/version.hpp>

#include "tunnel/wire.hpp"

namespace {

using quictun::sdk::Fd;
using quictun::sdk::quote;

bool is_open(int fd) { return ::fcntl(fd, F_GETFD) != -1; }

// A pair of fresh descriptors; the test checks which of them a Fd closes.
std::pair<int, int> two_fds() {
  int fds[2];
  EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
  return {fds[0], fds[1]};
}

TEST(SdkMaxTokenBytes, IsTheSizeOfTheStreamHandshakesTokenBlock) {
  static_assert(quictun::sdk::max_token_bytes == quictun::tunnel::wire::kTokenSize);
  EXPECT_EQ(quictun::sdk::max_token_bytes, 512u);
}

TEST(SdkFd, ClosesItsDescriptorWhenDestroyed) {
  auto [a, b] = two_fds();
  { Fd owner(a); EXPECT_EQ(owner.get(), a); }
  EXPECT_FALSE(is_open(a));
  ::close(b);
}

TEST(SdkFd, ReleaseGivesTheDescriptorAwayWithoutClosingIt) {
  auto [a, b] = two_fds();
  {
    Fd owner(a);
    EXPECT_EQ(owner.release(), a);
    EXPECT_FALSE(owner);
    EXPECT_EQ(owner.get(), -1);
  }
  EXPECT_TRUE(is_open(a));
  ::close(a);
  ::close(b);
}

TEST(SdkFd, MoveHandsOverOwnershipAndAssignmentClosesTheOldDescriptor) {
  auto [a, b] = two_fds();
  Fd first(a);
  Fd second(std::move(first));
  EXPECT_FALSE(first);
  EXPECT_EQ(second.get(), a);
  Fd third(b);
  third = std::move(second);  // b is closed, a lives on in third
  EXPECT_FALSE(is_open(b));
  EXPECT_TRUE(is_open(a));
  EXPECT_EQ(third.get(), a);
  third.reset();
  EXPECT_FALSE(is_open(a));
  EXPECT_FALSE(third);
}

TEST(SdkFd, EmptyIsFalseAndClosesNothing) {
  Fd none;
  EXPECT_FALSE(none);
  none.reset();  // must not close(-1) or anything else
  EXPECT_EQ(none.get(), -1);
}

TEST(SdkQuote, PutsPrintableTextInDoubleQuotes) {
  EXPECT_EQ(quote("tcp:10.0.0.5:22"), "\"tcp:10.0.0.5:22\"");
  EXPECT_EQ(quote(""), "\"\"");
}

TEST(SdkQuote, EscapesQuotesAndBackslashesSoTheQuotedTextEndsWhereItSeems) {
  EXPECT_EQ(quote(R"(a"b\c)"), R"("a\"b\\c")");
}

TEST(SdkQuote, WritesControlAndNonAsciiBytesAsHex) {
  using namespace std::string_literals;
  EXPECT_EQ(quote("a\nb"), "\"a\\x0ab\"");
  EXPECT_EQ(quote("nul\0here"s), "\"nul\\x00here\"");
  EXPECT_EQ(quote("\x1b[31mred"), "\"\\x1b[31mred\"");
  EXPECT_EQ(quote("\x7f\xff"), "\"\\x7f\\xff\"");
}

TEST(SdkQuote, CutsLongTextAndSaysHowLongItWas) {
  EXPECT_EQ(quote(std::string(600, 'a')), "\"" + std::string(200, 'a') + "\"... (600 bytes)");
  EXPECT_EQ(quote("abcdef", 3), "\"abc\"... (6 bytes)");
  EXPECT_EQ(quote("abc", 3), "\"abc\"") << "text of exactly the limit is not cut";
}

}  // namespace

namespace {

TEST(SdkEqualsIgnoringCase, IgnoresTheCaseOfAsciiLettersOnly) {
  using quictun::sdk::equals_ignoring_case;
  EXPECT_TRUE(equals_ignoring_case("LocalHost", "localhost"));
  EXPECT_TRUE(equals_ignoring_case("", ""));
  EXPECT_FALSE(equals_ignoring_case("localhost", "localhos"));
  EXPECT_FALSE(equals_ignoring_case("base64", "base65"));
  EXPECT_FALSE(equals_ignoring_case("[", "{")) << "only letters fold: '[' is 'Z' + 1, '{' is 'z' + 1";
  EXPECT_FALSE(equals_ignoring_case("\xc3\x89", "\xc3\xa9")) << "non-ASCII bytes compare as they are";
}

}  // namespace

namespace {

using quictun::sdk::Toolchain;

TEST(SdkToolchain, IsWhatThisCompilerSays) {
  const Toolchain& here = quictun::sdk::toolchain;
#if defined(__clang__)
  EXPECT_EQ(here.compiler, Toolchain::clang) << "clang also defines __GNUC__; it must not pass for g++";
  EXPECT_EQ(here.compiler_major, static_cast<std::uint32_t>(__clang_major__));
#elif defined(__GNUC__)
  EXPECT_EQ(here.compiler, Toolchain::gcc);
  EXPECT_EQ(here.compiler_major, static_cast<std::uint32_t>(__GNUC__));
#endif
#if defined(__GLIBCXX__)
  EXPECT_EQ(here.standard_library,
            _GLIBCXX_USE_CXX11_ABI ? Toolchain::libstdcxx_new_abi : Toolchain::libstdcxx_old_abi);
#endif
}

TEST(SdkToolchain, DescribesItselfForRefusalMessages) {
  using quictun::sdk::describe;
  EXPECT_EQ(describe({Toolchain::libstdcxx_new_abi, Toolchain::gcc, 12}), "libstdc++ new ABI, g++ 12");
  EXPECT_EQ(describe({Toolchain::libstdcxx_old_abi, Toolchain::clang, 14}), "libstdc++ old ABI, clang++ 14");
  EXPECT_EQ(describe({Toolchain::libcxx, Toolchain::clang, 17}), "libc++, clang++ 17");
  EXPECT_EQ(describe({Toolchain::unknown, Toolchain::unknown, 0}), "unknown C++ library, unknown compiler");
}

TEST(SdkToolchain, DiffersWhenAnyPartDiffers) {
  const Toolchain base{Toolchain::libstdcxx_new_abi, Toolchain::gcc, 12};
  EXPECT_EQ(base, (Toolchain{Toolchain::libstdcxx_new_abi, Toolchain::gcc, 12}));
  EXPECT_NE(base, (Toolchain{Toolchain::libstdcxx_old_abi, Toolchain::gcc, 12}));
  EXPECT_NE(base, (Toolchain{Toolchain::libstdcxx_new_abi, Toolchain::clang, 12}));
  EXPECT_NE(base, (Toolchain{Toolchain::libstdcxx_new_abi, Toolchain::gcc, 13}));
}

}  // namespace

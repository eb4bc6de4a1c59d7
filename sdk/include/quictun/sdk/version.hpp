// quictun plugin SDK: version numbers, and the toolchain tag the host checks with them.
#pragma once

#include <cstdint>
#include <string>

// The ABI number changes whenever a type a plugin sees changes layout or meaning. The host
// refuses a plugin built against another number. A build may override it only to test that
// refusal.
#ifndef QUICTUN_SDK_ABI
#define QUICTUN_SDK_ABI 3  // 2: congestion controllers, Host::side(), the toolchain tag; 3: classifiers
#endif

namespace quictun::sdk {

inline constexpr std::uint32_t abi_version = QUICTUN_SDK_ABI;
inline constexpr const char* sdk_version = "0.3.0";

// The SDK hands std::string, std::vector, std::function and std::unique_ptr across the plugin
// boundary, so the same SDK ABI number is not enough: both sides must also agree on the
// standard library's ABI (libstdc++'s old and new std::string differ in layout) and come from
// the same compiler family and major version (their inline and exception-handling details
// differ). Each side computes this tag from its own compiler's macros; the host refuses a
// plugin whose tag differs from its own.
//
// The layout of Toolchain is fixed for good (it is read before anything else is trusted):
// add new facts only as new exports, never as fields here.
struct Toolchain {
  enum : std::uint32_t { unknown = 0 };
  enum StandardLibrary : std::uint32_t { libstdcxx_new_abi = 1, libstdcxx_old_abi = 2, libcxx = 3 };
  enum Compiler : std::uint32_t { gcc = 1, clang = 2 };

  std::uint32_t standard_library;  // a StandardLibrary, or unknown
  std::uint32_t compiler;          // a Compiler, or unknown
  std::uint32_t compiler_major;    // __GNUC__ or __clang_major__; 0 when unknown

  friend bool operator==(const Toolchain&, const Toolchain&) = default;
};

namespace detail {

constexpr std::uint32_t standard_library_here() {
#if defined(_LIBCPP_VERSION)
  return Toolchain::libcxx;
#elif defined(__GLIBCXX__) && defined(_GLIBCXX_USE_CXX11_ABI) && _GLIBCXX_USE_CXX11_ABI
  return Toolchain::libstdcxx_new_abi;
#elif defined(__GLIBCXX__)
  return Toolchain::libstdcxx_old_abi;
#else
  return Toolchain::unknown;
#endif
}

// clang defines __GNUC__ too (as 4), so it has to be asked first.
constexpr Toolchain toolchain_here() {
#if defined(__clang__)
  return {standard_library_here(), Toolchain::clang, static_cast<std::uint32_t>(__clang_major__)};
#elif defined(__GNUC__)
  return {standard_library_here(), Toolchain::gcc, static_cast<std::uint32_t>(__GNUC__)};
#else
  return {standard_library_here(), Toolchain::unknown, 0};
#endif
}

}  // namespace detail

// The toolchain this translation unit is compiled with: the plugin's in a plugin, the host's in
// the host.
inline constexpr Toolchain toolchain = detail::toolchain_here();

// "libstdc++ new ABI, g++ 12", for refusal messages.
inline std::string describe(const Toolchain& t) {
  std::string library = t.standard_library == Toolchain::libstdcxx_new_abi   ? "libstdc++ new ABI"
                        : t.standard_library == Toolchain::libstdcxx_old_abi ? "libstdc++ old ABI"
                        : t.standard_library == Toolchain::libcxx            ? "libc++"
                                                                             : "unknown C++ library";
  std::string compiler = t.compiler == Toolchain::gcc     ? "g++ " + std::to_string(t.compiler_major)
                         : t.compiler == Toolchain::clang ? "clang++ " + std::to_string(t.compiler_major)
                                                          : "unknown compiler";
  return library + ", " + compiler;
}

}  // namespace quictun::sdk

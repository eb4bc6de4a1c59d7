// quictun plugin SDK: version numbers.
#pragma once

#include <cstdint>

// The ABI number changes whenever a type a plugin sees changes layout or meaning. The host
// refuses a plugin built against another number. A build may override it only to test that
// refusal.
#ifndef QUICTUN_SDK_ABI
#define QUICTUN_SDK_ABI 2  // 2: congestion controllers
#endif

namespace quictun::sdk {

inline constexpr std::uint32_t abi_version = QUICTUN_SDK_ABI;
inline constexpr const char* sdk_version = "0.2.0";

}  // namespace quictun::sdk

// The per-stream handshake of quic-tun v0.0.5 (docs/wire-protocol.md): 512 token bytes from
// the client, one status byte back.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace quictun::tunnel::wire {

inline constexpr std::size_t kTokenSize = 512;

enum class Status : std::uint8_t {
  ok = 0x01,                   // backend connected
  bad_token = 0x02,            // the token could not be parsed or was refused
  backend_unreachable = 0x03,  // the server could not connect to the backend
};

// Why a token cannot be sent, or nullopt when it can.
std::optional<std::string> token_problem(std::string_view token);

// The 512 bytes that carry `token` (which must pass token_problem()).
std::array<std::uint8_t, kTokenSize> encode_token(std::string_view token);

// The token in 512 received bytes: every NUL byte removed, as the reference server does.
std::string decode_token(const std::uint8_t* data, std::size_t size = kTokenSize);

// Human text for a status byte, for logs.
std::string status_text(std::uint8_t status);

}  // namespace quictun::tunnel::wire

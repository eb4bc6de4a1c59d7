#include "tunnel/wire.hpp"

#include <algorithm>

namespace quictun::tunnel::wire {

std::optional<std::string> token_problem(std::string_view token) {
  if (token.empty()) return "the token is empty";
  if (token.size() > kTokenSize)
    return "the token is " + std::to_string(token.size()) + " bytes; at most " + std::to_string(kTokenSize) + " fit";
  if (token.find('\0') != std::string_view::npos) return "the token contains a NUL byte";
  return std::nullopt;
}

std::array<std::uint8_t, kTokenSize> encode_token(std::string_view token) {
  std::array<std::uint8_t, kTokenSize> out{};
  std::copy_n(token.begin(), std::min(token.size(), kTokenSize), out.begin());
  return out;
}

std::string decode_token(const std::uint8_t* data, std::size_t size) {
  std::string token;
  token.reserve(size);
  for (std::size_t i = 0; i < size; ++i)
    if (data[i] != 0) token.push_back(static_cast<char>(data[i]));
  return token;
}

std::string status_text(std::uint8_t status) {
  switch (static_cast<Status>(status)) {
    case Status::ok: return "ok";
    case Status::bad_token: return "token refused (0x02)";
    case Status::backend_unreachable: return "backend unreachable (0x03)";
  }
  return "unknown status 0x" + std::string(1, "0123456789abcdef"[status >> 4]) + "0123456789abcdef"[status & 15];
}

}  // namespace quictun::tunnel::wire

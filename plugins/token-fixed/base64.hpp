// Strict base64 (RFC 4648 section 4, the standard alphabet, with padding).
#pragma once

#include <string>
#include <string_view>
#include <variant>

namespace quictun::token_fixed {

// Why a text is not base64, for the server's log.
struct Base64Error {
  std::string reason;  // "invalid character '!' at offset 3"
};

// Decodes `text`. Strict on purpose: tokens are compared and logged, so each byte string has
// exactly one accepted spelling (no whitespace, padding required, unused bits zero).
std::variant<std::string, Base64Error> decode_base64(std::string_view text);

}  // namespace quictun::token_fixed

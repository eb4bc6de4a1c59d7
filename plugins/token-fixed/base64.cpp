#include "base64.hpp"

#include <array>
#include <cstdint>

namespace quictun::token_fixed {
namespace {

constexpr std::uint8_t invalid = 0xff;

constexpr std::array<std::uint8_t, 256> make_table() {
  std::array<std::uint8_t, 256> table{};
  for (auto& entry : table) entry = invalid;
  constexpr std::string_view alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (std::size_t i = 0; i < alphabet.size(); ++i) table[static_cast<unsigned char>(alphabet[i])] = static_cast<std::uint8_t>(i);
  return table;
}

constexpr auto sextets = make_table();

std::string describe(char c) {
  auto byte = static_cast<unsigned char>(c);
  if (byte >= 0x21 && byte <= 0x7e) return std::string("'") + c + "'";
  static constexpr char hex[] = "0123456789abcdef";
  return std::string("byte 0x") + hex[byte >> 4] + hex[byte & 0xf];
}

}  // namespace

std::variant<std::string, Base64Error> decode_base64(std::string_view text) {
  std::size_t padding = 0;
  while (padding < text.size() && text[text.size() - 1 - padding] == '=') ++padding;
  // Characters first: a token that was never base64 ("tcp:...") is best told by its first
  // stray character, not by its length.
  for (std::size_t i = 0; i < text.size() - padding; ++i) {
    if (sextets[static_cast<unsigned char>(text[i])] != invalid) continue;
    std::string what = text[i] == '=' ? "padding '=' before the end" : "invalid character " + describe(text[i]);
    return Base64Error{what + " at offset " + std::to_string(i)};
  }
  if (padding > 2) return Base64Error{"more than two padding '=' characters"};
  if (text.size() % 4 != 0)
    return Base64Error{"its length, " + std::to_string(text.size()) + ", is not a multiple of 4"};

  std::string out;
  out.reserve(text.size() / 4 * 3);
  std::uint32_t bits = 0;
  for (std::size_t i = 0; i < text.size() - padding; ++i) {
    std::uint8_t value = sextets[static_cast<unsigned char>(text[i])];
    bits = (bits << 6) | value;
    if (i % 4 == 3) {
      out.push_back(static_cast<char>(bits >> 16));
      out.push_back(static_cast<char>((bits >> 8) & 0xff));
      out.push_back(static_cast<char>(bits & 0xff));
      bits = 0;
    }
  }
  // The last group: 2 characters carry 1 byte (4 unused bits), 3 carry 2 bytes (2 unused bits).
  if (padding == 2) {
    if (bits & 0x0f) return Base64Error{"non-zero unused bits before the padding"};
    out.push_back(static_cast<char>(bits >> 4));
  } else if (padding == 1) {
    if (bits & 0x03) return Base64Error{"non-zero unused bits before the padding"};
    out.push_back(static_cast<char>(bits >> 10));
    out.push_back(static_cast<char>((bits >> 2) & 0xff));
  }
  return out;
}

}  // namespace quictun::token_fixed

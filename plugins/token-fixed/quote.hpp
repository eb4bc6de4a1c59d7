// Quoting of untrusted bytes for log lines and error messages.
#pragma once

#include <string>
#include <string_view>

namespace quictun::token_fixed {

// `text` in double quotes, with anything but printable ASCII escaped, so a hostile token cannot
// forge log lines or smuggle terminal escapes.
inline std::string quote(std::string_view text) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out = "\"";
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (byte >= 0x20 && byte <= 0x7e) {
      out += c;
    } else {
      out += "\\x";
      out += hex[byte >> 4];
      out += hex[byte & 0xf];
    }
  }
  out += '"';
  return out;
}

}  // namespace quictun::token_fixed

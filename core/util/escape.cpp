#include "util/escape.hpp"

namespace quictun {

namespace {
std::string escape(std::string_view text, std::size_t limit, bool quotes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string_view shown = text.substr(0, limit);
  std::string out;
  out.reserve(shown.size() + 16);
  for (char ch : shown) {
    auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '\\': out += quotes ? "\\\\" : "\\"; break;
      case '"': out += quotes ? "\\\"" : "\""; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c >= 0x20 && c < 0x7f) {
          out.push_back(ch);
        } else {  // control bytes, DEL, and everything above ASCII (C1 controls live there)
          out += "\\x";
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 15]);
        }
    }
  }
  if (text.size() > shown.size()) out += "...[+" + std::to_string(text.size() - shown.size()) + " bytes]";
  return out;
}
}  // namespace

std::string escape_for_log(std::string_view text, std::size_t limit) { return escape(text, limit, true); }
std::string escape_controls_for_log(std::string_view text, std::size_t limit) { return escape(text, limit, false); }

}  // namespace quictun

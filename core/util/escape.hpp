// Text that came from the network, made safe for a log line.
//
// A peer chooses these bytes (a token, a backend address, a plugin's reason quoting them). Written
// raw, a newline would forge a second log line and an ESC sequence would rewrite the operator's
// terminal; so every byte that is not printable ASCII is written as an escape, and very long
// strings are cut short, saying how much was left out.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace quictun {

inline constexpr std::size_t kLogFieldLimit = 256;  // bytes of input shown before the cut

// Printable ASCII is kept; `\` and `"` become `\\` and `\"` (so the result can sit in quotes);
// newline, carriage return and tab become `\n`, `\r`, `\t`; every other byte becomes `\xNN`.
// Input beyond `limit` bytes is replaced by "...[+N bytes]".
std::string escape_for_log(std::string_view text, std::size_t limit = kLogFieldLimit);

// For prose that may carry network bytes but is not itself quoted (a plugin's reason, an error
// message): control bytes and non-ASCII are escaped as above, while `\` and `"` stay as they
// are, so text a plugin already quoted (sdk::quote) is not escaped twice.
std::string escape_controls_for_log(std::string_view text, std::size_t limit = kLogFieldLimit);

}  // namespace quictun

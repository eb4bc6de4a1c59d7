// quictun plugin SDK: the one exception type plugins throw.
#pragma once

#include <stdexcept>
#include <string>

namespace quictun::sdk {

// Thrown by plugins (and by the SDK's config accessors) for anything a user must fix: a bad
// argument, an unreadable file, a malformed address. The message must be complete on its own;
// the host prefixes it with the plugin's name and the config location.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace quictun::sdk

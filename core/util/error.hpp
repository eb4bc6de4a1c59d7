// Errors the host reports to the user. Each carries a complete message; the program's edge
// prints it once, prefixed with the program name.
#pragma once

#include <stdexcept>
#include <string>

namespace quictun {

class UsageError : public std::runtime_error {  // bad flag, config or plugin: exit code 2
 public:
  using std::runtime_error::runtime_error;
};

class RuntimeError : public std::runtime_error {  // the environment failed us: exit code 1
 public:
  using std::runtime_error::runtime_error;
};

std::string errno_text(int err);

}  // namespace quictun

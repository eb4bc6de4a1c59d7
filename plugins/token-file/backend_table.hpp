// Token -> backend address, for the server side.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>

namespace quictun::token_file {

// Why `backend` ("tcp:10.0.0.5:22", "unix:/run/pg.sock") cannot be dialled, or "" when it can.
std::string backend_problem(std::string_view backend);

class BackendTable {
 public:
  // Parses "<token> <backend>" lines; throws sdk::Error("file:line: why") at the first bad line,
  // including a token listed twice.
  static BackendTable parse(std::string_view text, const std::string& file);

  const std::string* find(const std::string& token) const;
  std::size_t size() const { return backends_.size(); }

 private:
  std::unordered_map<std::string, std::string> backends_;
};

}  // namespace quictun::token_file

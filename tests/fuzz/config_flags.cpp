// The command line of both programs: NUL-separated arguments. A config file argument is left
// out (config_toml covers files), so the fuzzer cannot make the parser read /dev/zero.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "config/settings.hpp"

using namespace quictun;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<std::string> args = {"fuzz"};
  std::string current;
  auto finish = [&] {
    bool config = current == "-c" || current.rfind("--config", 0) == 0 || (current.rfind("-c", 0) == 0) ||
                  current.rfind("--help", 0) == 0 || current == "-h" || current.rfind("--version", 0) == 0;
    if (!config) args.push_back(current);
    current.clear();
  };
  for (std::size_t i = 0; i < size && args.size() < 64; ++i) {
    if (data[i] == 0) finish();
    else current.push_back(static_cast<char>(data[i]));
  }
  if (!current.empty()) finish();
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  int argc = static_cast<int>(args.size());
  try {
    config::ServerSettings s;
    config::parse_server(argc, argv.data(), s);
  } catch (const std::exception&) {
  }
  try {
    config::ClientSettings s;
    config::parse_client(argc, argv.data(), s);
  } catch (const std::exception&) {
  }
  return 0;
}

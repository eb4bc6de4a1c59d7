// quictun.toml as both programs read it: the bytes become a config file given with -c.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <string>

#include "config/settings.hpp"

using namespace quictun;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string path = "/tmp/quictun-fuzz-config-" + std::to_string(::getpid()) + ".toml";
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  std::string prog = "fuzz", c = "-c";
  std::string file = path;
  char* argv[] = {prog.data(), c.data(), file.data(), nullptr};
  try {
    config::ServerSettings s;
    config::parse_server(3, argv, s);
  } catch (const std::exception&) {
  }
  try {
    config::ClientSettings s;
    config::parse_client(3, argv, s);
  } catch (const std::exception&) {
  }
  return 0;
}

// The token-file plugin's two files: the parser's token -> backend map and the source's
// address -> token map, plus the address and backend checks they use.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "address_table.hpp"
#include "backend_table.hpp"

using namespace quictun::token_file;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    BackendTable t = BackendTable::parse(text, "fuzz.map");
    (void)t.find("ssh");
  } catch (const std::exception&) {
  }
  try {
    AddressTable t = AddressTable::parse(text, "fuzz.map");
    (void)t.find("10.1.2.3");
    (void)t.find("::1");
    (void)t.find("");
  } catch (const std::exception&) {
  }
  (void)IpAddress::parse(text.substr(0, 64));
  (void)backend_problem(text.substr(0, 600));
  return 0;
}

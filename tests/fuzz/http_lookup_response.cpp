// The token server's response body, as the http token source reads it.
#include <cstddef>
#include <cstdint>
#include <string>

#include "response.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string body(reinterpret_cast<const char*>(data), size);
  (void)quictun::token_http::token_from_body(body, "fuzz");
  return 0;
}

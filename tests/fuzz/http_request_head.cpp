// An HTTP/1.x request head as the http-header token source reads it from an application: fed
// in the pieces the first byte chooses, under the plugin's size limit.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "request_head.hpp"

using namespace quictun::token_http_header;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::size_t step = data[0] % 64 + 1;
  std::string_view all(reinterpret_cast<const char*>(data + 1), size - 1);
  RequestHead head;
  RequestHead::State state = RequestHead::State::incomplete;
  for (std::size_t seen = 0; state == RequestHead::State::incomplete && seen < all.size();) {
    seen = std::min(all.size(), seen + step);
    state = head.feed(all.substr(0, seen), 8192);
  }
  if (state == RequestHead::State::complete) {
    (void)head.values("host");
    (void)head.values("x-quictun-token");
    (void)without_header(all.substr(0, head.head_size()), "x-quictun-token");
  }
  return 0;
}

#include "unix_address.hpp"

#include <cstddef>
#include <cstring>

#include <quictun/sdk.hpp>

namespace quictun::transport_unix {
namespace {

[[noreturn]] void bad(std::string_view address, const std::string& why) {
  throw sdk::Error("bad address " + sdk::quote(address) + ": " + why);
}

}  // namespace

UnixAddress parse_unix_address(std::string_view address) {
  UnixAddress out;
  out.text = std::string(address);
  auto colon = address.find(':');
  if (colon == std::string_view::npos || address.substr(0, colon) != "unix")
    bad(address, "expected unix:/PATH or unix:@NAME");
  std::string_view rest = address.substr(colon + 1);
  if (rest.empty()) bad(address, "missing path");
  if (rest.find('\0') != std::string_view::npos) bad(address, "the path contains a NUL byte");

  out.abstract = rest.front() == '@';
  out.path = std::string(out.abstract ? rest.substr(1) : rest);
  if (out.abstract && out.path.empty()) bad(address, "missing name after '@'");

  // A path needs its terminating NUL inside sun_path; an abstract name has a leading NUL instead.
  constexpr std::size_t limit = sizeof(out.native.sun_path) - 1;
  if (out.path.size() > limit)
    bad(address, std::string(out.abstract ? "the name" : "the path") + " is " + std::to_string(out.path.size()) +
                     " bytes long; the limit is " + std::to_string(limit));

  out.native.sun_family = AF_UNIX;
  char* dest = out.native.sun_path + (out.abstract ? 1 : 0);
  std::memcpy(dest, out.path.data(), out.path.size());
  // The abstract name is exactly these bytes, no terminator: the length says where it ends.
  out.length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + out.path.size() + 1);
  return out;
}

}  // namespace quictun::transport_unix

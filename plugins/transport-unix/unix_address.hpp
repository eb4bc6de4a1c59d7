// Parsing of UNIX-domain socket addresses: "unix:/run/app.sock", and "unix:@name" for Linux's
// abstract namespace (no file; the name disappears with the last socket bound to it).
#pragma once

#include <sys/socket.h>
#include <sys/un.h>

#include <string>
#include <string_view>

namespace quictun::transport_unix {

struct UnixAddress {
  std::string text;         // the whole address as given ("unix:/run/app.sock"), for messages
  std::string path;         // the file path, or the abstract name without its '@'
  bool abstract = false;    // Linux abstract namespace: no file to create, probe or remove
  sockaddr_un native{};     // ready for bind()/connect()
  socklen_t length = 0;     // the used part of `native`

  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&native); }
};

// Throws sdk::Error `bad address "unix:": missing path` and the like.
UnixAddress parse_unix_address(std::string_view address);

}  // namespace quictun::transport_unix

// The UNIX-domain socket transport adapter.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include <quictun/sdk.hpp>

namespace quictun::transport_unix {

class UnixTransport final : public sdk::Transport {
 public:
  explicit UnixTransport(sdk::Host& host) : host_(host) {}

  // Removes a stale socket file left by a crashed process, but never takes over a live one.
  int listen(std::string_view address) override;
  std::optional<sdk::AcceptedConnection> accept(int listen_fd) override;
  // Never throws: every failure, a malformed address included, reaches `done`.
  void connect(std::string_view address, sdk::ConnectCallback done) override;
  // Removes the socket file, unless another process has replaced it since.
  void unlisten(std::string_view address, int listen_fd) override;

 private:
  // What listen() created, so unlisten() removes that file and nothing else.
  struct Listener {
    std::string address;  // "unix:/run/app.sock", for messages
    std::string path;     // the socket file; "" for an abstract name
    dev_t device = 0;     // identity of the file we bound, compared before unlinking
    ino_t inode = 0;
  };

  sdk::Host& host_;                                // outlives this transport
  std::unordered_map<int, Listener> listeners_;    // by listening descriptor
};

}  // namespace quictun::transport_unix
